#!/bin/bash
# run-vm.sh [--cache DIR] [--timeout SEC] [--add SRC:DST]... [--module NAME]...
#           [--verbose] BINARY [ARGS...]
#
# Boots Debian's 6.1 kernel under qemu with BPF LSM enabled and runs the
# statically linked BINARY (as root, PID 1's child) inside; the guest console
# is streamed to stdout. Exit status:
#   the BINARY's exit status   taken from the guest's KESTREL_VM_EXIT=<rc> line
#   1                          no marker (guest crash/panic, timeout, qemu error)
#   2                          usage error
#   3                          a required Debian package is not installed
#
#   --cache DIR     kernel cache (default: <repo>/build/vm); created on demand
#   --timeout SEC   wall-clock limit for the whole boot+run (default 600)
#   --add SRC:DST   extra file/dir in the guest (see mkinitramfs.sh)
#   --module NAME   extra kernel module to load (veth, sch_ingress, cls_bpf,
#                   act_bpf are always loaded)
#   --verbose       keep the kernel's boot messages (drops quiet loglevel=3)
# Environment:
#   KS_VM_MEM       guest RAM in MiB (default 1024)
#   KS_VM_APPEND    extra kernel command line parameters
#   KS_VM_FLAVOUR   cloud|generic, passed on to fetch-kernel.sh
#   KS_VM_ACCEL     kvm|tcg|auto (default auto: KVM only if a probe boot works)
# The raw console of the last run is kept in <cache>/last-console.log.
#
# Why a VM at all: the host kernel's LSM list is fixed at boot and does not
# contain "bpf", so BPF LSM programs cannot attach there; the VM boots with
# lsm=...,bpf. Why TCG is fine: a boot takes a few seconds even without KVM.
set -eu

prog=run-vm.sh
die()  { echo "$prog: error: $*" >&2; exit 1; }
log()  { echo "$prog: $*" >&2; }
need() {  # need COMMAND PACKAGE: refuse to run (exit 3) naming the package
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$prog: error: '$1' not found; install the Debian package $2 (apt-get install $2)" >&2
    exit 3
}
usage() {
    echo "usage: $prog [--cache DIR] [--timeout SEC] [--add SRC:DST]... [--module NAME]... [--verbose] BINARY [ARGS...]" >&2
    exit 2
}

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE="$REPO/build/vm"
TIMEOUT=600
VERBOSE=0
MEM=${KS_VM_MEM:-1024}
extra=()

while [ $# -gt 0 ]; do
    case $1 in
        --cache)     [ $# -ge 2 ] || usage; CACHE=$2; shift 2 ;;
        --cache=*)   CACHE=${1#*=}; shift ;;
        --timeout)   [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --add)       [ $# -ge 2 ] || usage; extra+=(--add "$2"); shift 2 ;;
        --add=*)     extra+=(--add "${1#*=}"); shift ;;
        --module)    [ $# -ge 2 ] || usage; extra+=(--module "$2"); shift 2 ;;
        --module=*)  extra+=(--module "${1#*=}"); shift ;;
        --verbose)   VERBOSE=1; shift ;;
        -h|--help)   usage ;;
        --)          shift; break ;;
        -*)          echo "$prog: unknown option $1" >&2; usage ;;
        *)           break ;;
    esac
done
[ $# -ge 1 ] || usage
BINARY=$1; shift
case $TIMEOUT in ''|*[!0-9]*) die "--timeout needs a whole number of seconds, got '$TIMEOUT'" ;; esac
case $MEM in ''|*[!0-9]*) die "KS_VM_MEM must be MiB as a number, got '$MEM'" ;; esac
[ -f "$BINARY" ] || die "binary '$BINARY' not found"

# --- prerequisites: refuse early, naming the package -----------------------
need qemu-system-x86_64 qemu-system-x86
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
   [ ! -x /bin/busybox ]; then
    echo "$prog: error: busybox-static is not installed; install the Debian package busybox-static (apt-get install busybox-static)" >&2
    exit 3
fi
need cpio cpio
need depmod kmod
need xz xz-utils
need dpkg-deb dpkg
need apt-get apt
need timeout coreutils
need gzip gzip

# --- kernel + initramfs ------------------------------------------------------
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
KVER=$("$HERE/fetch-kernel.sh" "$CACHE" | tail -n1)
[ -n "$KVER" ] || die "fetch-kernel.sh did not report a kernel version"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ks-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# ARGS are baked into the image (exact bytes, no command-line length limit);
# ks.args= stays available through KS_VM_APPEND for hand-made runs.
"$HERE/mkinitramfs.sh" "$CACHE" "$WORK/initramfs.cpio.gz" "$BINARY" \
    ${extra[@]+"${extra[@]}"} -- "$@"

# --- qemu -------------------------------------------------------------------
# KVM only once it has proven it can run a guest: /dev/kvm may exist and
# still fail (nested virtualization: "failed to set MSR 0x10a" when qemu
# creates the vCPUs). The probe boots the guest kernel with the vCPU count
# of the real run and no initramfs, and waits for its first console line;
# it panics at once, -no-reboot ends qemu. Otherwise multi-threaded TCG
# (a boot takes a few seconds: the kernel is small and there is no
# userspace to start). Should KVM pass the probe and still fail the real
# run before the guest says anything, that run is repeated under TCG.
# KS_VM_ACCEL=kvm|tcg forces the choice (and disables the fallback).
SMP=2
kvm_works() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || { WHY="/dev/kvm is missing or not accessible"; return 1; }
    # braces: bash's "Aborted" note about a qemu that asserted goes to the log too
    { timeout -k 2 20 qemu-system-x86_64 -machine q35 -accel kvm -cpu host -m 256 -smp "$SMP" \
        -nographic -nic none -no-reboot -kernel "$CACHE/vmlinuz" \
        -append "console=ttyS0 panic=-1 loglevel=4" </dev/null; } >"$WORK/kvm-probe.log" 2>&1
    if grep -q 'Kernel panic\|Linux version\|VFS:' "$WORK/kvm-probe.log"; then
        return 0
    fi
    WHY="KVM cannot start a guest here: $(grep -m1 -i 'error' "$WORK/kvm-probe.log" || echo 'no console output')"
    return 1
}
WHY=
FALLBACK=0
case ${KS_VM_ACCEL:-auto} in
    kvm) ACCEL=kvm; CPU=host; WHY="KS_VM_ACCEL=kvm" ;;
    tcg) ACCEL=tcg,thread=multi; CPU=max; WHY="KS_VM_ACCEL=tcg" ;;
    auto)
        if kvm_works; then ACCEL=kvm; CPU=host; FALLBACK=1; WHY="a probe guest booted under KVM"
        else ACCEL=tcg,thread=multi; CPU=max; fi ;;
    *) die "KS_VM_ACCEL must be kvm, tcg or auto, got '${KS_VM_ACCEL}'" ;;
esac
log "accelerator: ${ACCEL%%,*} ($WHY)"
log "booting $KVER (accel ${ACCEL%%,*}, ${MEM} MiB, timeout ${TIMEOUT}s)"

# lsm=: the Debian default list lacks "bpf"; this is what enables BPF LSM.
# panic=-1 + -no-reboot: a guest panic ends qemu at once instead of hanging.
# quiet loglevel=3: only kernel errors reach the console.
APPEND="console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1"
if [ "$VERBOSE" = 1 ]; then APPEND="$APPEND loglevel=7"; else APPEND="$APPEND quiet loglevel=3"; fi
[ -n "${KS_VM_APPEND:-}" ] && APPEND="$APPEND $KS_VM_APPEND"

# Console filter (streaming, unbuffered): drop CRs, terminal escape codes
# from SeaBIOS, its banner and "Booting from ROM..", and the final
# "reboot: Power down" kernel line. Everything else is passed through.
filter() {
    if [ "$VERBOSE" = 1 ]; then sed -u 's/\r$//'; return; fi
    sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' \
        -e '/^SeaBIOS (version /d' -e '/^Booting from ROM\.*$/d' \
        -e 's/^Booting from ROM\.*//' \
        -e '/^\[ *[0-9.]*\] reboot: Power down$/d'
}

# -nic none: no NIC (tests build veth pairs in netns) and no iPXE option ROM.
# stdin from /dev/null: the serial console must not grab the caller's tty.
# --foreground: keep qemu in our process group so Ctrl-C reaches it.
run_qemu() {
    set +e
    timeout --foreground -k 10 "$TIMEOUT" \
        qemu-system-x86_64 -machine q35 -accel "$ACCEL" -cpu "$CPU" -m "$MEM" -smp "$SMP" \
            -nographic -nic none -no-reboot \
            -kernel "$CACHE/vmlinuz" -initrd "$WORK/initramfs.cpio.gz" \
            -append "$APPEND" </dev/null 2>&1 |
        tee "$WORK/console.log" | filter
    st=("${PIPESTATUS[@]}")
    set -e
    qrc=${st[0]}
}

start=$(date +%s.%N)
run_qemu
if [ "$FALLBACK" = 1 ] && ! grep -q 'KESTREL_VM_EXIT=' "$WORK/console.log" &&
   grep -q '^qemu-system-x86_64: ' "$WORK/console.log"; then
    WHY="KVM passed the probe but failed the run: $(grep -m1 '^qemu-system-x86_64: ' "$WORK/console.log")"
    ACCEL=tcg,thread=multi; CPU=max
    log "accelerator: tcg ($WHY)"
    run_qemu
fi
end=$(date +%s.%N)
cp "$WORK/console.log" "$CACHE/last-console.log" 2>/dev/null || true
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

rc=$(tr -d '\r' < "$WORK/console.log" | sed -n 's/^KESTREL_VM_EXIT=\([0-9][0-9]*\)$/\1/p' | tail -n1)
if [ -z "$rc" ]; then
    if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        echo "$prog: error: timed out after ${TIMEOUT}s without a KESTREL_VM_EXIT marker (raw console: $CACHE/last-console.log)" >&2
    elif grep -q 'Kernel panic' "$WORK/console.log"; then
        echo "$prog: error: guest kernel panicked before KESTREL_VM_EXIT (see the panic above; raw console: $CACHE/last-console.log)" >&2
    else
        echo "$prog: error: guest ended without a KESTREL_VM_EXIT marker (qemu exit $qrc; crash? raw console: $CACHE/last-console.log)" >&2
    fi
    exit 1
fi
log "guest exit status $rc (boot+run ${secs}s, accelerator ${ACCEL%%,*})"
exit "$rc"
