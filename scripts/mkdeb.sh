#!/bin/sh
# Build the Debian package of this tree: mkdeb.sh BUILD VERSION-REVISION
# -> BUILD/kestrel_VERSION-REVISION_ARCH.deb. `make install` into a staging
# root (PREFIX=/usr), Depends from dpkg-shlibdeps on the installed kload
# (the very libraries it links, with the versions their shlibs files
# demand), the conffiles, and the maintainer scripts in packaging/deb/.
set -eu
B=$1 V=$2
ARCH=$(dpkg --print-architecture)
ROOT=$B/deb/root
DEB=$B/kestrel_${V}_${ARCH}.deb

rm -rf "$B/deb"
mkdir -p "$ROOT/DEBIAN"
make --no-print-directory install DESTDIR="$PWD/$ROOT" PREFIX=/usr \
	SYSTEMDUNITDIR=/lib/systemd/system >/dev/null
strip --strip-unneeded "$ROOT/usr/sbin/kload"
gzip -9n "$ROOT/usr/share/man/man8/kload.8"

# dpkg-shlibdeps reads debian/control: give it a minimal one of its own
mkdir -p "$B/deb/src/debian"
printf 'Source: kestrel\n\nPackage: kestrel\nArchitecture: any\n' >"$B/deb/src/debian/control"
deps=$(cd "$B/deb/src" && dpkg-shlibdeps -O -e"$PWD/../root/usr/sbin/kload" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$deps" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s|@VERSION@|$V|" -e "s|@ARCH@|$ARCH|" -e "s|@DEPENDS@|$deps|" \
	-e "s|@SIZE@|$size|" packaging/deb/control.in >"$ROOT/DEBIAN/control"
printf '/etc/kestrel/kestrel.yml\n/etc/logrotate.d/kestrel\n' >"$ROOT/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$ROOT/DEBIAN/"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "$DEB"
echo "Depends: $deps"
