#!/bin/bash
# fetch-kernel.sh CACHE_DIR
#
# Prepares a Debian 6.1 kernel for the selftest VM in CACHE_DIR:
#   CACHE_DIR/vmlinuz              -> symlink to boot/vmlinuz-<kver>
#   CACHE_DIR/lib/modules/<kver>/  modules tree (+ modules.dep from depmod)
#   CACHE_DIR/kernel.env           KS_KVER / KS_KPKG / KS_KPKG_VERSION / KS_FLAVOUR
# and prints the kernel release (<kver>) on the last line of stdout.
#
# Why Debian's package and not a self-built kernel: it is the kernel our users
# run (bookworm), it ships BTF (CONFIG_DEBUG_INFO_BTF=y) and CONFIG_BPF_LSM=y,
# and the only thing this machine may download from is Debian's archive.
# The only download path is `apt-get download` (brief requirement).
#
# Flavour: we prefer the "cloud" flavour (linux-image-cloud-amd64), because it
# is half the size of the generic one and still has what the VM needs. It was
# checked (6.1.0-56-cloud-amd64, 6.1.192-2): serial console (8250) built in,
# BPF_LSM=y, DEBUG_INFO_BTF=y, veth/sch_ingress/cls_bpf/act_bpf as modules,
# NET_NS=y. Those and every option the selftests need are listed in
# selftests/vm/config, checked on every extraction and cache hit below; if a future
# cloud build drops one of these we fall back to linux-image-amd64 (generic)
# automatically and say why. KS_VM_FLAVOUR=generic forces the generic flavour.
#
# Idempotent: when CACHE_DIR/kernel.env already describes the package version
# apt resolves to now, nothing is downloaded or extracted.
set -eu

die() { echo "fetch-kernel.sh: error: $*" >&2; exit 1; }
log() { echo "fetch-kernel.sh: $*" >&2; }

[ $# -eq 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
command -v apt-cache >/dev/null || die "apt-cache not found (this script needs a Debian host)"
command -v dpkg-deb  >/dev/null || die "dpkg-deb not found (Debian package: dpkg)"
command -v depmod    >/dev/null || die "depmod not found (Debian package: kmod)"

mkdir -p "$1"
CACHE=$(cd "$1" && pwd)
# Serialise concurrent runs (e.g. parallel test jobs) on the same cache.
if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    flock 9
fi

# --- resolution -------------------------------------------------------------
# resolve_meta META -> prints "IMAGE_PKG IMAGE_VERSION" for the candidate
# version of metapackage META, using only the local apt lists.
resolve_meta() {
    local meta=$1 cand dep pkg ver
    cand=$(apt-cache policy "$meta" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || return 1
    # Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)
    dep=$(apt-cache show "$meta=$cand" 2>/dev/null |
          awk -F': ' '$1 == "Depends" { print $2; exit }')
    pkg=$(printf '%s\n' "$dep" | tr ',' '\n' | sed 's/^ *//' |
          grep -E '^linux-image-[0-9]' | head -n1 | awk '{ print $1 }')
    [ -n "$pkg" ] || return 1
    # Prefer the exact pinned version; else the image's own candidate.
    ver=$(printf '%s\n' "$dep" | tr ',' '\n' | grep -F "$pkg " |
          sed -n 's/.*(= *\([^)]*\)).*/\1/p' | head -n1)
    if [ -z "$ver" ]; then
        ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
    fi
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || return 1
    echo "$pkg $ver"
}

# Prints the first option of selftests/vm/config the kernel config $3 lacks
# (for the tree $1, release $2) and returns 0; returns 1 when none is missing.
# =y must be built in; =m may be built in or a module (the package ships
# its modules; mkinitramfs.sh says which of its list it could not load).
config_missing() {
    local root=$1 kver=$2 cfg=$3 opt val mod
    while IFS='=' read -r opt val; do
        case $opt in ''|'#'*) continue ;; esac
        grep -q "^$opt=y" "$cfg" && continue
        [ "$val" = m ] && grep -q "^$opt=m" "$cfg" && continue
        echo "$opt is not $val (selftests/vm/config)"
        return 0
    done < "$(dirname "$0")/config"
    return 1
}

# Returns 0 when the extracted tree in $1 (for release $2) is usable in the VM;
# otherwise prints the reason and returns 1.
check_usable() {
    local root=$1 kver=$2 cfg
    cfg="$root/boot/config-$kver"
    [ -f "$root/boot/vmlinuz-$kver" ] || { echo "no boot/vmlinuz-$kver in package"; return 1; }
    [ -f "$cfg" ] || { echo "no boot/config-$kver in package"; return 1; }
    config_missing "$root" "$kver" "$cfg" && return 1
    return 0
}

# --- what is cached? --------------------------------------------------------
STAMP="$CACHE/kernel.env"
cached_pkg='' cached_ver='' cached_kver='' cached_rejected=''
if [ -f "$STAMP" ]; then
    cached_rejected=$(sed -n 's/^KS_REJECTED=//p' "$STAMP")
    cached_pkg=$(sed -n 's/^KS_KPKG=//p' "$STAMP")
    cached_ver=$(sed -n 's/^KS_KPKG_VERSION=//p' "$STAMP")
    cached_kver=$(sed -n 's/^KS_KVER=//p' "$STAMP")
fi
cache_complete() {
    [ -n "$cached_kver" ] && [ -e "$CACHE/vmlinuz" ] &&
        [ -f "$CACHE/lib/modules/$cached_kver/modules.dep" ]
}

rejected=''
flavours="cloud generic"
[ "${KS_VM_FLAVOUR:-}" = generic ] && flavours=generic
[ "${KS_VM_FLAVOUR:-}" = cloud ] && flavours=cloud

for flavour in $flavours; do
    case $flavour in
        cloud)   meta=linux-image-cloud-amd64 ;;
        generic) meta=linux-image-amd64 ;;
    esac

    # apt lists may be absent on a fresh machine: update once, only if needed.
    if ! res=$(resolve_meta "$meta"); then
        log "cannot resolve $meta from local apt lists; running apt-get update -qq"
        if apt-get update -qq >&2 && res=$(resolve_meta "$meta"); then
            :
        elif cache_complete; then
            # Offline but a kernel is cached: better to use it than fail,
            # if it still has every option of selftests/vm/config.
            why=$(check_usable "$CACHE" "$cached_kver") ||
                die "cached $cached_pkg $cached_ver is unusable for the VM: $why"
            log "warning: still cannot resolve $meta; using cached $cached_pkg $cached_ver"
            echo "$cached_kver"
            exit 0
        else
            die "cannot resolve $meta with apt-cache (is Debian's archive in sources.list?)"
        fi
    fi
    pkg=${res%% *} ver=${res#* }

    # Same cloud build we already found unusable last time: don't re-download.
    if [ -n "$cached_rejected" ] && [ "$pkg=$ver" = "$cached_rejected" ]; then
        log "skipping $pkg $ver (found unusable before)"
        rejected="$pkg=$ver"
        continue
    fi
    if [ "$pkg" = "$cached_pkg" ] && [ "$ver" = "$cached_ver" ] && cache_complete; then
        # checked again: selftests/vm/config may have grown since
        if why=$(check_usable "$CACHE" "$cached_kver"); then
            log "kernel $pkg $ver already prepared in $CACHE"
            echo "$cached_kver"
            exit 0
        fi
        log "warning: cached $pkg ($flavour) is unusable for the VM: $why"
        rejected="$pkg=$ver"
        continue
    fi

    log "resolved $meta -> $pkg $ver; downloading with apt-get download"
    debdir="$CACHE/debs"
    mkdir -p "$debdir"
    # Sandbox user root: _apt cannot write into a root-owned cache dir and
    # apt would otherwise warn about it on every run.
    (cd "$debdir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
        die "apt-get download $pkg=$ver failed"
    # apt-get download names it PKG_VERSION_ARCH.deb with ":" as "%3a".
    deb=$(ls "$debdir/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1)
    [ -n "$deb" ] || die "apt-get download produced no .deb for $pkg"

    # Extract into a scratch dir first, check it, then move into place, so a
    # failed/interrupted run never leaves a half-extracted cache behind.
    tmp="$CACHE/.extract.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
    kver=$(cd "$tmp/boot" && ls vmlinuz-* 2>/dev/null | head -n1 | sed 's/^vmlinuz-//')
    [ -n "$kver" ] || die "$deb contains no boot/vmlinuz-*"
    # Debian 12 ships modules under /lib; later releases may use /usr/lib.
    if [ ! -d "$tmp/lib/modules/$kver" ] && [ -d "$tmp/usr/lib/modules/$kver" ]; then
        mkdir -p "$tmp/lib/modules"
        mv "$tmp/usr/lib/modules/$kver" "$tmp/lib/modules/$kver"
    fi

    if ! why=$(check_usable "$tmp" "$kver"); then
        log "warning: $pkg ($flavour) is unusable for the VM: $why"
        rejected="$pkg=$ver"
        rm -rf "$tmp"; trap - EXIT
        continue
    fi

    # The .deb has no modules.dep (postinst runs depmod); build it here so
    # mkinitramfs.sh can resolve module dependencies.
    depmod -b "$tmp" "$kver" || die "depmod failed for $kver"

    # Replace any previously cached kernel (only what we created ourselves).
    rm -rf "${CACHE:?}/boot" "${CACHE:?}/lib" "${CACHE:?}/usr" "${CACHE:?}/vmlinuz" "$STAMP"
    mv "$tmp/boot" "$CACHE/boot"
    mv "$tmp/lib" "$CACHE/lib"
    [ -d "$tmp/usr" ] && mv "$tmp/usr" "$CACHE/usr"
    rm -rf "$tmp"; trap - EXIT
    ln -s "boot/vmlinuz-$kver" "$CACHE/vmlinuz"
    # Keep only the .deb we use.
    find "$debdir" -maxdepth 1 -name '*.deb' ! -path "$deb" -delete

    case $kver in
        6.1.*) ;;
        *) log "warning: $kver is not a 6.1 kernel (host is not Debian 12?)" ;;
    esac
    cat > "$STAMP" <<EOF
KS_KVER=$kver
KS_KPKG=$pkg
KS_KPKG_VERSION=$ver
KS_FLAVOUR=$flavour
KS_REJECTED=$rejected
EOF
    log "prepared $pkg $ver (kernel $kver) in $CACHE"
    echo "$kver"
    exit 0
done

die "no usable kernel flavour found (tried: $flavours)"
