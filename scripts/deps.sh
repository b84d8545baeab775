#!/bin/sh
# Install every Debian 12 package Kestrel needs to build, run and test.
# Idempotent: only missing packages are installed. Run as root.
set -eu

PKGS="make gcc clang llvm libbpf-dev bpftool libxdp-dev libelf-dev zlib1g-dev
libzstd-dev libyaml-dev libcmocka-dev libmicrohttpd-dev libjansson-dev
libpcap-dev libhyperscan-dev pkg-config iproute2 busybox-static cpio
qemu-system-x86 kmod xz-utils"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'make deps' as root (or: apt-get install$missing)" >&2
	exit 3
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
