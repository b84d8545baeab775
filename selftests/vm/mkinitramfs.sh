#!/bin/bash
# mkinitramfs.sh CACHE_DIR OUT.cpio.gz BINARY [--add SRC:DST]... [--module NAME]... [-- ARGS...]
#
# Builds a gzip'd newc cpio initramfs for the selftest VM:
#   /bin/busybox (+ applet symlinks)     from Debian's busybox-static
#   /bin/<basename BINARY>               the (statically linked) test binary
#   /lib/modules/<kver>/...              veth + tc-BPF modules and their deps
#   /init                                mounts, loads modules, runs the binary,
#                                        prints KESTREL_VM_EXIT=<rc>, powers off
#
# CACHE_DIR is what fetch-kernel.sh prepared (kernel.env, lib/modules/<kver>).
#
# Options:
#   --add SRC:DST    copy file or directory SRC to absolute path DST in the
#                    image (DST ending in "/" means "into that directory").
#   --module NAME    also load kernel module NAME (deps resolved from
#                    modules.dep). Default set: veth sch_ingress cls_bpf act_bpf.
#   -- ARGS...       arguments baked into the image, passed to the binary.
#                    More arguments can be appended at boot with the kernel
#                    parameter ks.args= (see "ks.args encoding" in /init).
set -eu

die() { echo "mkinitramfs.sh: error: $*" >&2; exit 1; }
log() { echo "mkinitramfs.sh: $*" >&2; }
usage() {
    echo "usage: $0 CACHE_DIR OUT.cpio.gz BINARY [--add SRC:DST]... [--module NAME]... [-- ARGS...]" >&2
    exit 2
}

# veth: the tests create veth pairs (via netlink from C) inside netns.
# sch_ingress provides the clsact qdisc, cls_bpf/act_bpf the tc BPF
# classifier/action: all =m in Debian's 6.1 configs, so without them tc-BPF
# attachment on veth would fail inside the VM. Network namespaces themselves
# (CONFIG_NET_NS) and XDP are built in and need no module.
MODULES="veth sch_ingress cls_bpf act_bpf"

pos=() adds=() args=()
while [ $# -gt 0 ]; do
    case $1 in
        --add)    [ $# -ge 2 ] || usage; adds+=("$2"); shift 2 ;;
        --add=*)  adds+=("${1#--add=}"); shift ;;
        --module) [ $# -ge 2 ] || usage; MODULES="$MODULES $2"; shift 2 ;;
        --module=*) MODULES="$MODULES ${1#--module=}"; shift ;;
        --)       shift; args=("$@"); break ;;
        -h|--help) usage ;;
        -*)       echo "mkinitramfs.sh: unknown option $1" >&2; usage ;;
        *)        pos+=("$1"); shift ;;
    esac
done
[ ${#pos[@]} -eq 3 ] || usage
CACHE=${pos[0]} OUT=${pos[1]} BINARY=${pos[2]}
# We cd into the staging dir later: make every user path absolute now.
ORIG=$(pwd)
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ORIG/$1" ;; esac; }
CACHE=$(abspath "$CACHE") OUT=$(abspath "$OUT") BINARY=$(abspath "$BINARY")

[ -f "$CACHE/kernel.env" ] || die "$CACHE/kernel.env missing: run fetch-kernel.sh $CACHE first"
KVER=$(sed -n 's/^KS_KVER=//p' "$CACHE/kernel.env")
MODDIR="$CACHE/lib/modules/$KVER"
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing: re-run fetch-kernel.sh $CACHE"
[ -f "$BINARY" ] || die "binary '$BINARY' not found"
[ -x "$BINARY" ] || die "binary '$BINARY' is not executable"

# busybox must be the static build: the image has no libc. Debian's
# busybox-static package installs it as /bin/busybox; the dynamic "busybox"
# package conflicts with it and would give a binary that cannot run here.
BUSYBOX=/bin/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    echo "mkinitramfs.sh: error: Debian package busybox-static is not installed (apt-get install busybox-static)" >&2
    exit 3
fi
command -v cpio >/dev/null || { echo "mkinitramfs.sh: error: cpio missing (apt-get install cpio)" >&2; exit 3; }

is_dynamic_elf() {  # true when $1 is an ELF that needs a program interpreter
    command -v readelf >/dev/null || return 1
    readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}
is_dynamic_elf "$BUSYBOX" && die "$BUSYBOX is dynamically linked; reinstall busybox-static"
if is_dynamic_elf "$BINARY"; then
    log "warning: $BINARY is dynamically linked; the image has no libc/ld.so, so it will"
    log "warning: fail with 'not found' unless you --add the loader and libraries. Link with -static."
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ks-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cd "$STAGE"

mkdir -p bin sbin usr/bin usr/sbin dev proc sys tmp run root etc lib/modules/"$KVER"
cp "$BUSYBOX" bin/busybox
# Applet symlinks (/bin/sh, /sbin/ip, ...) at the paths busybox itself knows.
# `busybox --install -s` inside a chroot does it in one process (hundreds of
# `ln` forks take seconds here); the loop is the fallback when chroot fails.
if ! chroot . /bin/busybox --install -s 2>/dev/null; then
    for app in $(bin/busybox --list-full); do
        [ -e "$app" ] || [ -L "$app" ] || ln -s /bin/busybox "$app"
    done
fi
# /dev/console so the kernel can open the initial console even before
# devtmpfs is mounted (we run as root, mknod works).
mknod -m 600 dev/console c 5 1 2>/dev/null || log "warning: cannot mknod dev/console (not root?)"
echo "root:x:0:0:root:/root:/bin/sh" > etc/passwd
echo "root:x:0:" > etc/group
echo "ks-vm" > etc/hostname

BIN_NAME=$(basename "$BINARY")
if [ -L "bin/$BIN_NAME" ] || [ -L "sbin/$BIN_NAME" ] || [ -L "usr/bin/$BIN_NAME" ] || [ -L "usr/sbin/$BIN_NAME" ]; then
    log "warning: binary name '$BIN_NAME' shadows a busybox applet; /init calls it by full path"
    rm -f "bin/$BIN_NAME"
fi
cp "$BINARY" "bin/$BIN_NAME"
chmod 755 "bin/$BIN_NAME"

# --- extra files ------------------------------------------------------------
for a in ${adds[@]+"${adds[@]}"}; do
    case $a in *:*) ;; *) die "--add '$a': expected SRC:DST" ;; esac
    src=$(abspath "${a%:*}") dst=${a##*:}
    case $dst in /*) ;; *) die "--add '$a': DST must be an absolute path" ;; esac
    [ -e "$src" ] || die "--add '$a': '$src' does not exist"
    case $dst in */) dst="$dst$(basename "$src")" ;; esac
    mkdir -p "./$(dirname "$dst")"
    rm -rf "./$dst"
    cp -a "$src" "./$dst"
done

# --- kernel modules ---------------------------------------------------------
# Resolve from modules.dep ourselves (not `modprobe -d`): modprobe would also
# apply the *host's* /etc/modprobe.d (blacklists, install hooks).
# modules.dep lines: "kernel/x/a.ko[.xz]: kernel/y/b.ko kernel/z/c.ko".
declare -A MODPATH=() MODDEPS=() SEEN=()
while IFS= read -r line; do
    p=${line%%:*}
    n=${p##*/}; n=${n%%.ko*}; n=${n//-/_}   # no forks: ~1000 lines
    MODPATH[$n]=$p
    MODDEPS[$p]=${line#*:}
done < "$MODDIR/modules.dep"

LOAD_ORDER=()
visit() {  # depth-first: every dependency is loaded before its user
    local p=$1 d
    [ -n "${SEEN[$p]:-}" ] && return 0
    SEEN[$p]=1
    for d in ${MODDEPS[$p]:-}; do visit "$d"; done
    LOAD_ORDER+=("$p")
}
for m in $MODULES; do
    n=${m//-/_}
    if [ -n "${MODPATH[$n]:-}" ]; then
        visit "${MODPATH[$n]}"
    elif grep -Eq "/$m\.ko$|/${n}\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; then
        log "module $m is built into $KVER; nothing to load"
    else
        die "kernel module '$m' not found in $MODDIR (not in modules.dep nor modules.builtin)"
    fi
done

: > etc/ks-modules
for p in ${LOAD_ORDER[@]+"${LOAD_ORDER[@]}"}; do
    # Decompress here: busybox insmod's support for compressed modules
    # depends on its build options, and plain .ko always works.
    case $p in
        *.ko.xz)  out=${p%.xz};  mkdir -p "lib/modules/$KVER/$(dirname "$p")"; xz -dc "$MODDIR/$p" > "lib/modules/$KVER/$out" ;;
        *.ko.zst) out=${p%.zst}; mkdir -p "lib/modules/$KVER/$(dirname "$p")"; zstd -qdc "$MODDIR/$p" > "lib/modules/$KVER/$out" ;;
        *.ko.gz)  out=${p%.gz};  mkdir -p "lib/modules/$KVER/$(dirname "$p")"; gzip -dc "$MODDIR/$p" > "lib/modules/$KVER/$out" ;;
        *.ko)     out=$p;        mkdir -p "lib/modules/$KVER/$(dirname "$p")"; cp "$MODDIR/$p" "lib/modules/$KVER/$out" ;;
        *) die "unexpected module file name $p" ;;
    esac
    echo "/lib/modules/$KVER/$out" >> etc/ks-modules
done

# --- baked-in arguments -----------------------------------------------------
# Stored as a shell fragment with every argument single-quoted, so any byte
# sequence (spaces, quotes, commas) survives unchanged.
{
    printf 'set --'
    for x in ${args[@]+"${args[@]}"}; do
        printf " '%s'" "$(printf '%s' "$x" | sed "s/'/'\\\\''/g")"
    done
    printf '\n'
} > etc/ks-args.sh

# --- /init ------------------------------------------------------------------
{
    echo '#!/bin/sh'
    echo "KS_BIN=/bin/$BIN_NAME"
    cat <<'EOF'
# Generated by selftests/vm/mkinitramfs.sh. PID 1 of the Kestrel selftest VM.
# Never exits on errors: whatever happens it prints KESTREL_VM_EXIT=<rc> and
# powers off, so run-vm.sh always gets a verdict (or a timeout).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
umask 022

mnt() {  # mnt TYPE DIR [OPTS]: mount, warn (don't die) on failure
    mkdir -p "$2"
    mount -t "$1" ${3:+-o "$3"} "$1" "$2" || echo "ks-vm: warning: cannot mount $1 on $2"
}
mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mnt devpts /dev/pts
mnt tmpfs /dev/shm
mnt tmpfs /run
mnt securityfs /sys/kernel/security
mnt bpf /sys/fs/bpf mode=0700
mnt tracefs /sys/kernel/tracing
mnt debugfs /sys/kernel/debug
mnt cgroup2 /sys/fs/cgroup
ln -sf /proc/self/fd /dev/fd 2>/dev/null

hostname ks-vm
ip link set lo up || echo "ks-vm: warning: cannot bring up lo"

while read -r ko; do
    [ -n "$ko" ] || continue
    insmod "$ko" || echo "ks-vm: warning: insmod $ko failed"
done < /etc/ks-modules

echo "ks-vm: kernel $(uname -r) ($(cut -d' ' -f3- /proc/version | sed -n 's/.*Debian \([^ ]*\).*/Debian \1/p'))"
echo "ks-vm: lsm: $(cat /sys/kernel/security/lsm 2>/dev/null || echo '<securityfs missing>')"

# Arguments: first the ones baked in at build time, then ks.args= from the
# kernel command line.
# ks.args encoding: comma-separated arguments; bytes outside
# [A-Za-z0-9._/:=+@-] are %XX (hex) escaped, so "," is %2C, " " is %20,
# "%" is %25. Example: ks.args=-v,--filter=a%2Cb  ->  "-v" "--filter=a,b".
# (A dotted parameter is ignored by the kernel and not passed to init, so it
# is read from /proc/cmdline.)
. /etc/ks-args.sh
set -f
for tok in $(cat /proc/cmdline); do
    case $tok in
    ks.args=*)
        v=${tok#ks.args=}
        oldifs=$IFS; IFS=,
        for piece in $v; do
            IFS=$oldifs
            dec=$(printf '%s' "$piece" | sed 's/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')
            set -- "$@" "$(printf '%b' "$dec")"
            IFS=,
        done
        IFS=$oldifs
        ;;
    esac
done
set +f

cd /root || cd /
echo "ks-vm: running $KS_BIN${*:+ $*}"
"$KS_BIN" "$@" </dev/null
rc=$?

# Let the UART drain before the marker and before powering off: busybox stty
# applies settings with tcsetattr(TCSADRAIN), which waits until everything
# queued on the serial line is sent; without it the tail of the output can be
# lost when poweroff -f cuts the VM.
stty -F /dev/console onlcr 2>/dev/null
echo
echo "KESTREL_VM_EXIT=$rc"
stty -F /dev/console onlcr 2>/dev/null
sleep 0.2
poweroff -f
# Not reached unless poweroff failed; the kernel then panics (panic=-1 +
# qemu -no-reboot end the VM).
echo "ks-vm: poweroff failed"
exit "$rc"
EOF
} > init
chmod 755 init

# Deterministic order; everything owned by root in the image.
mkdir -p "$(dirname "$OUT")"
OUT_ABS=$OUT
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 -n > "$OUT_ABS.tmp"
mv "$OUT_ABS.tmp" "$OUT_ABS"
log "wrote $OUT_ABS ($(du -k "$OUT_ABS" | cut -f1) KiB, kernel $KVER, modules:$(for p in ${LOAD_ORDER[@]+"${LOAD_ORDER[@]}"}; do printf ' %s' "$(basename "${p%%.ko*}")"; done))"
