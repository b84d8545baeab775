#!/bin/sh
# How much of a public rule corpus Kestrel compiles, and why the rest is
# rejected: each rule file is compiled alone (`kload compile -q FILE`), so
# one bad rule does not hide the others.
#   corpus-rate.sh [--top N] [CORPUS...]
#       per corpus: "NAME: C/T compiled (P%)", then the error messages
#       (locations dropped, "(expected ...)" lists cut) by count, the N
#       most frequent (default 25; 0 = all)
#   corpus-rate.sh --check [--floors FILE]
#       compare every corpus with its floor in FILE (default
#       tests/corpus-floors: lines "NAME MIN_COMPILED"); exit 1 when one
#       compiles fewer files than its floor, so the rate cannot fall
#       unnoticed. Closes with "N passed, N failed, N skipped" (a missing
#       corpus is skipped). Raise a floor when a change compiles more.
# A CORPUS is a directory, or a name under ../shared/corpus (the
# repository's sibling, as in CI) or /work/shared/corpus. A missing corpus
# is reported and skipped. KLOAD overrides build/kload.
set -u
cd "$(dirname "$0")/.."
KLOAD=${KLOAD:-build/kload}
top=25 check=0 floors=tests/corpus-floors
while [ $# -gt 0 ]; do
	case $1 in
	--top) top=$2; shift 2 ;;
	--check) check=1; shift ;;
	--floors) floors=$2; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[ -x "$KLOAD" ] || { echo "corpus-rate: $KLOAD not built (make)" >&2; exit 2; }

# The directory of corpus $1, or nothing.
corpus_dir() {
	for d in "$1" "../shared/corpus/$1" "/work/shared/corpus/$1"; do
		[ -d "$d" ] && { echo "$d"; return; }
	done
}

# rate CORPUS: prints the summary; sets $compiled and $total.
rate() {
	dir=$(corpus_dir "$1")
	compiled=0 total=0
	if [ -z "$dir" ]; then
		echo "$1: corpus not found (../shared/corpus/$1, /work/shared/corpus/$1): skipped"
		return 1
	fi
	errs=$(mktemp)
	for f in $(find "$dir" -type f \( -name '*.toml' -o -name '*.yml' -o -name '*.yaml' \) | sort); do
		total=$((total + 1))
		if "$KLOAD" compile -q "$f" >/dev/null 2>"$errs.one"; then
			compiled=$((compiled + 1))
		else
			sed -n 's/^.*:[0-9]*:[0-9]*: error: //p' "$errs.one" |
				sed 's/ (expected .*//' >>"$errs"
		fi
	done
	echo "$(basename "$dir"): $compiled/$total compiled" \
		"($(awk -v c=$compiled -v t=$total 'BEGIN { printf "%.1f", t ? 100 * c / t : 0 }')%)"
	if [ "$check" -eq 0 ] && [ -s "$errs" ]; then
		echo "  rejections, by count of error messages:"
		sort "$errs" | uniq -c | sort -rn |
			if [ "$top" -gt 0 ]; then head -n "$top"; else cat; fi |
			sed 's/^ */    /'
	fi
	rm -f "$errs" "$errs.one"
}

if [ "$check" -eq 1 ]; then
	pass=0 fail=0 skip=0
	while read -r name floor _; do
		case $name in ''|'#'*) continue ;; esac
		if ! rate "$name"; then
			skip=$((skip + 1))
		elif [ "$compiled" -lt "$floor" ]; then
			echo "  FAIL: $name compiles $compiled files, fewer than its floor $floor ($floors)"
			fail=$((fail + 1))
		else
			pass=$((pass + 1))
		fi
	done <"$floors"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
fi
[ $# -gt 0 ] || set -- elastic-linux-eql sigma-linux
for c in "$@"; do
	rate "$c"
done
exit 0
