#!/bin/sh
# deb-test.sh BUILD VERSION: build the package twice (revisions 1 and 2),
# then in a bare Debian 12 root (../shared/tools/fresh-debian.sh, or
# $FRESH_DEBIAN) install revision 1 with apt (its Depends come from the
# archive: nothing else is there), run `kload --version` and
# `kload compile /usr/share/kestrel/rules`, upgrade to revision 2 keeping a
# changed conffile, then purge and check nothing is left.
set -eu
B=$1 V=$2
FRESH=${FRESH_DEBIAN:-$(cd "$(dirname "$0")/../.." && pwd)/shared/tools/fresh-debian.sh}
[ -x "$FRESH" ] || FRESH=/work/shared/tools/fresh-debian.sh
ARCH=$(dpkg --print-architecture)

./scripts/mkdeb.sh "$B" "$V-1" >/dev/null
cp "$B/kestrel_${V}-1_${ARCH}.deb" "$B/deb-1.deb"
./scripts/mkdeb.sh "$B" "$V-2" >/dev/null
cp "$B/kestrel_${V}-2_${ARCH}.deb" "$B/deb-2.deb"

# fresh-debian.sh clones a git repository: one holding the two packages
R=$(mktemp -d /tmp/ks-deb-test.XXXXXX)
trap 'rm -rf "$R"' EXIT
cp "$B/deb-1.deb" "$B/deb-2.deb" "$R/"
cat >"$R/test.sh" <<TEST
set -eux
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ./deb-1.deb >/dev/null
dpkg -s kestrel | grep -qx 'Version: $V-1'
kload --version
kload compile /usr/share/kestrel/rules
test -f /lib/systemd/system/kestrel.service -a -f /etc/kestrel/kestrel.yml
echo '# changed by the administrator' >>/etc/kestrel/kestrel.yml
apt-get install -y -qq --no-install-recommends ./deb-2.deb >/dev/null
dpkg -s kestrel | grep -qx 'Version: $V-2'
grep -q 'changed by the administrator' /etc/kestrel/kestrel.yml
kload --version
apt-get purge -y -qq kestrel >/dev/null
! dpkg -s kestrel 2>/dev/null | grep -q '^Status: install'
test ! -e /usr/sbin/kload -a ! -e /etc/kestrel -a ! -e /var/log/kestrel
test ! -e /lib/systemd/system/kestrel.service
echo "deb-test: installed, upgraded and purged kestrel $V in a bare Debian 12 root"
TEST
(cd "$R" && git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm deb-test)
"$FRESH" "$R" -- sh test.sh
