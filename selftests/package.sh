#!/bin/bash
# The service and the package: systemd-analyze verify on kestrel.service,
# the bash completion in a real bash with bash-completion, and the .deb
# installed, upgraded and purged in a bare Debian 12 root (scripts/deb-test.sh).
# Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/ks-package.XXXXXX)
trap 'rm -rf "$W"' EXIT
pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); echo "  ok   $1"; }
bad()  { fail=$((fail + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && sed 's/^/       | /' "$2" | tail -n 30; }
skp()  { skip=$((skip + 1)); echo "  skip $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

echo "== service and package"
make --no-print-directory verify-unit >"$W/out" 2>&1
check "systemd-analyze verify accepts kestrel.service" "[ $? -eq 0 ]" "$W/out"
systemd-analyze security --offline=yes build/unit/kestrel.service >"$W/sec" 2>&1
check "systemd-analyze security: $(sed -n 's/.*Overall exposure level for kestrel.service: //p' "$W/sec")" \
	"grep -q 'Overall exposure level.*OK' $W/sec" "$W/sec"

comp() { # words... -> the completions, one line
	bash -c 'source /usr/share/bash-completion/bash_completion
		source packaging/kload.bash-completion 2>/dev/null
		PATH=$PWD/build:$PATH
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_kload 2>/dev/null; echo "${COMPREPLY[*]}"' sh "$@"
}
if [ -r /usr/share/bash-completion/bash_completion ]; then
	check "bash completion: commands, options from --help, output schemes, modes, rule ids" \
		"[ \"\$(comp kload rel)\" = reload ] && [ \"\$(comp kload attach --conf)\" = --config ] &&
		 [ \"\$(comp kload attach --output nat)\" = nats:// ] && [ \"\$(comp kload attach --mode ob)\" = observe ] &&
		 [ \"\$(comp kload compile rules/ --exclude-id exec_from_t)\" = exec_from_tmp ]"
else
	bad "bash-completion is not installed (scripts/deps.sh installs it)"
fi

# the README's rsyslog configuration for Kafka and Elasticsearch
sed -n '/^# \/etc\/rsyslog.d\/kestrel.conf/,/^```/p' README.md | sed '$d' >"$W/rsyslog.conf"
if [ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ] || ls /usr/lib/*/rsyslog/omkafka.so >/dev/null 2>&1; then
	(cd "$W" && rsyslogd -N1 -f "$W/rsyslog.conf") >"$W/out" 2>&1
	check "README: the rsyslog configuration for Kafka and Elasticsearch passes rsyslogd -N1" \
		"[ $? -eq 0 ] && grep -q omkafka $W/rsyslog.conf && ! grep -qi error $W/out" "$W/out"
else
	bad "rsyslog-kafka is not installed (scripts/deps.sh installs it)"
fi

if [ -x "${FRESH_DEBIAN:-/work/shared/tools/fresh-debian.sh}" ] || [ -x ../shared/tools/fresh-debian.sh ]; then
	make --no-print-directory deb-test >"$W/deb" 2>&1
	check "make deb: installs, upgrades (keeping a changed conffile) and purges in a bare Debian 12 root" \
		"[ $? -eq 0 ] && grep -q '^deb-test: installed, upgraded and purged' $W/deb" "$W/deb"
	sed -n 's/^Depends: /  (Depends: /p' build/deb/root/DEBIAN/control | sed 's/$/)/'
else
	skp "deb in a bare Debian 12 root: no shared/tools/fresh-debian.sh here"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
