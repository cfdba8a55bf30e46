#!/usr/bin/env bash
# make-initramfs.sh — build the squib test-guest initramfs from Debian files only.
#
# Contract:
#   make-initramfs.sh OUT.cpio.gz   build OUT (gzip'd newc cpio) unless it is up to date;
#                                   prints OUT on stdout. Exit != 0 on failure.
#   make-initramfs.sh --kernel      print the kernel image path (/boot/vmlinuz-<ver>) whose
#                                   modules go into the initramfs.
#   Env SQUIB_GUEST_KVER=<ver>      pick a kernel version instead of the newest in /boot.
#
# Content: /bin/busybox (busybox-static), /init (init.sh next to this script), and the
# virtio-net modules of that kernel, decompressed (.ko.xz/.zst/.gz -> .ko) under
# /lib/modules/, with /lib/modules/load-order listing them in insmod order (dependencies
# from modules.dep first). Modules built into the kernel are skipped.
# Cache: OUT is rebuilt only if missing or older than this script, init.sh or busybox.
# The file is written under a temporary name and renamed, so concurrent builds are safe.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox_bin=/bin/busybox
# Wanted driver modules; their dependencies are resolved from modules.dep.
wanted=(virtio_pci virtio_net)

die() { echo "make-initramfs: $*" >&2; exit 1; }

kernel_version() {
    if [[ -n "${SQUIB_GUEST_KVER:-}" ]]; then echo "$SQUIB_GUEST_KVER"; return; fi
    local k
    k=$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n 1)
    [[ -n "$k" ]] || die "no /boot/vmlinuz-* (install linux-image-amd64)"
    echo "${k#vmlinuz-}"
}

kver=$(kernel_version)
kernel=/boot/vmlinuz-$kver
[[ -r "$kernel" ]] || die "kernel $kernel not readable"

if [[ "${1:-}" == "--kernel" ]]; then echo "$kernel"; exit 0; fi
[[ $# -eq 1 && "$1" != -* ]] || die "usage: make-initramfs.sh OUT.cpio.gz | --kernel"
out=$1

# Up to date? (-nt is false when OUT is missing, so a missing OUT always rebuilds.)
fresh=1
for dep in "${BASH_SOURCE[0]}" "$here/init.sh" "$busybox_bin"; do
    [[ "$out" -nt "$dep" ]] || fresh=0
done
if (( fresh )); then echo "$out"; exit 0; fi

[[ -x "$busybox_bin" ]] || die "$busybox_bin missing (install busybox-static)"
moddir=/lib/modules/$kver
[[ -r "$moddir/modules.dep" ]] || die "$moddir/modules.dep missing"

stage=$(mktemp -d "${TMPDIR:-/tmp}/squib-initramfs.XXXXXX")
tmp_out="$out.tmp.$$"
trap 'rm -rf "$stage" "$tmp_out"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,lib/modules}
cp "$busybox_bin" "$stage/bin/busybox"
cp "$here/init.sh" "$stage/init"
chmod 0755 "$stage/init" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
# The kernel opens /dev/console before running /init; init.sh also mounts devtmpfs.
mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true

# dep_path NAME -> modules.dep-relative path of module NAME (any compression), or nothing.
dep_path() {
    awk -F: -v n="$1" '{ p = $1; sub(/.*\//, "", p); sub(/\.ko(\.(xz|zst|gz))?$/, "", p);
        gsub(/-/, "_", p); if (p == n) { print $1; exit } }' "$moddir/modules.dep"
}
# deps_of PATH -> its dependencies, in load order (modules.dep lists them last-first).
deps_of() {
    awk -F: -v m="$1" '$1 == m { n = split($2, d, " "); for (i = n; i >= 1; i--) print d[i] }' \
        "$moddir/modules.dep"
}
order=()
add_module() {  # add_module PATH: append PATH once
    local p
    for p in "${order[@]}"; do [[ "$p" == "$1" ]] && return 0; done
    order+=("$1")
}
for name in "${wanted[@]}"; do
    path=$(dep_path "$name")
    if [[ -z "$path" ]]; then
        grep -qE "/${name}\.ko" "$moddir/modules.builtin" 2>/dev/null \
            || echo "make-initramfs: warning: module $name neither loadable nor built in" >&2
        continue
    fi
    while read -r dep; do [[ -n "$dep" ]] && add_module "$dep"; done < <(deps_of "$path")
    add_module "$path"
done

: > "$stage/lib/modules/load-order"
for path in "${order[@]}"; do
    base=$(basename "$path"); base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
    case "$path" in
        *.ko.xz)  xz -dc "$moddir/$path" > "$stage/lib/modules/$base" ;;
        *.ko.zst) zstd -qdc "$moddir/$path" > "$stage/lib/modules/$base" ;;
        *.ko.gz)  gzip -dc "$moddir/$path" > "$stage/lib/modules/$base" ;;
        *.ko)     cp "$moddir/$path" "$stage/lib/modules/$base" ;;
        *)        die "unexpected module file $path" ;;
    esac
    echo "$base" >> "$stage/lib/modules/load-order"
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
    | gzip -9n > "$tmp_out"
mv -f "$tmp_out" "$out"
echo "$out"
