#!/bin/sh
# Builds the qemu-kernel DUT's guest from Debian's packages: an uncompressed vmlinux (qemu's
# microvm boots it through its PVH entry, seconds faster than a bzImage under TCG) and an
# uncompressed initramfs with busybox, iproute2, ipvsadm, the shared libraries they need and
# the kernel modules IPVS, virtio and IPIP need, in the order they must be loaded.
#
#   build-image.sh KERNEL_DEB GUEST_INIT OUT_DIR
#
# Writes OUT_DIR/vmlinux, OUT_DIR/initramfs.cpio and OUT_DIR/release. Needs dpkg-deb, xz,
# objcopy and busybox; reads the host's /usr/sbin/ip, /usr/sbin/ipvsadm and /bin/busybox.
set -eu

deb=$1 guest_init=$2 out=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/vslab-image.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

dpkg-deb -x "$deb" "$work/deb"
release=$(ls "$work/deb/lib/modules")
[ "$(echo "$release" | wc -w)" -eq 1 ] || { echo "build-image: $deb holds no single kernel release" >&2; exit 1; }
moddir=$work/deb/lib/modules/$release

# The bzImage's payload is an xz stream behind the real-mode setup code.
vmlinuz=$work/deb/boot/vmlinuz-$release
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
[ -n "$offset" ] || { echo "build-image: no xz payload in $vmlinuz" >&2; exit 1; }
tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc --single-stream >"$work/vmlinux"

root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/lib" "$root/lib64" "$root/proc" "$root/sys" \
  "$root/dev" "$root/tmp" "$root/run" "$root/etc/vslab" "$root/lib/modules"

copy_with_libraries() {  # program destination
  cp -L "$1" "$root/$2"
  ldd "$1" | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_with_libraries /bin/busybox bin/busybox
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# The real iproute2 and ipvsadm, in /sbin, which the guest's PATH puts before busybox's ip.
copy_with_libraries /usr/sbin/ip sbin/ip
copy_with_libraries /usr/sbin/ipvsadm sbin/ipvsadm

# Module closure in load order: every module after the modules it depends on.
module_path() {
  find "$moddir/kernel" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -n 1
}
modinfo_field() {  # module.ko field
  objcopy -O binary -j .modinfo "$1" /dev/stdout | tr '\0' '\n' | sed -n "s/^$2=//p"
}
# What must be loaded first: hard dependencies, and the "softdep pre:" that modprobe would
# honour (libcrc32c needs the crc32c crypto driver; the generic one runs on any CPU qemu
# emulates). A soft dependency names an alias: its _generic module stands for it.
depends_of() {
  modinfo_field "$1" depends | tr ',' ' '
  for soft in $(modinfo_field "$1" softdep | sed -n 's/^pre: *//p'); do
    if [ -n "$(module_path "$soft")" ]; then echo "$soft"; else echo "${soft}_generic"; fi
  done
}
order=$work/order
: >"$order"
add_module() {
  grep -qx "$1" "$order" && return 0
  path=$(module_path "$1")
  [ -n "$path" ] || { echo "build-image: module $1 not in $release" >&2; exit 1; }
  for dep in $(depends_of "$path"); do add_module "$dep"; done
  grep -qx "$1" "$order" || echo "$1" >>"$order"
}
for m in virtio virtio_ring virtio_mmio virtio_net virtio_console \
  ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed ip_vs_nq ip_vs_lblc ip_vs_lblcr \
  ip_vs_dh ip_vs_sh ip_vs_mh ip_vs_fo ip_vs_ovf ip_vs_pe_sip ipip; do
  add_module "$m"
done
while read -r m; do
  cp "$(module_path "$m")" "$root/lib/modules/$m.ko"
done <"$order"
cp "$order" "$root/etc/vslab/modules"
echo "$release" >"$root/etc/vslab/release"
cp "$guest_init" "$root/init"
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) >"$work/initramfs.cpio"
mkdir -p "$out"
mv "$work/vmlinux" "$out/vmlinux"
mv "$work/initramfs.cpio" "$out/initramfs.cpio"
echo "$release" >"$out/release"
