#!/bin/sh
# Install every Debian 12 package Kestrel needs to build, run and test:
# this list is the one place that names them. Idempotent: only missing
# packages are installed (apt-get update runs only then). Run as root.
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --list   print the packages, one per line
set -eu

# build: compilers, BPF toolchain, libraries (pkg-config finds them)
BUILD="make gcc clang llvm bpftool pkg-config libbpf-dev libxdp-dev libelf-dev
zlib1g-dev libzstd-dev libyaml-dev libjansson-dev libpcre2-dev libpcap-dev
libnats-dev"
# tests: cmocka; libFuzzer and the sanitizer runtimes of clang 14 (make
# fuzz, make test's sanitized tree); the e2e's tools (jq, python3 for the
# JSON checks, curl and python3 as the downloaders of the shipped
# sequence rule, iproute2 for network namespaces)
TEST="libcmocka-dev libclang-rt-14-dev jq python3 curl iproute2"
# alert outputs and packaging tests: the servers the outputs talk to
# (rsyslog, with the Kafka and Elasticsearch modules of the README's
# configuration; nats-server), promtool (prometheus), bash-completion,
# dpkg-shlibdeps (dpkg-dev) for make deb, systemd for systemd-analyze
# (the unit's checks) and systemd-journald (the private journal of the
# journald output's test): a minimal Debian root has neither
OUTPUTS="nats-server rsyslog rsyslog-kafka rsyslog-elasticsearch prometheus bash-completion
dpkg-dev systemd"
# VM tests: qemu, the guest's busybox and initramfs, the kernel's modules
VM="qemu-system-x86 busybox-static cpio kmod xz-utils"
# benchmarks: Hyperscan, and sagan-rules for its Snort-syntax content
# strings (bench/ids-patterns.py: the realistic IDS pattern set)
BENCH="libhyperscan-dev sagan-rules"
PKGS="$BUILD $TEST $OUTPUTS $VM $BENCH"

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' $PKGS
	exit 0
fi

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
	echo "deps: run 'scripts/deps.sh' as root (or: apt-get install$missing)" >&2
	exit 3
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
