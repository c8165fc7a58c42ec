#!/bin/sh
# Installs what vslab needs from Debian 12's packages. Idempotent, and silent when
# everything is already there. `setup.sh main`: only what the main job needs (build the tools,
# run the matrix against vsd); `setup.sh` (or `setup.sh all`): everything the tests use too,
# the qemu kernel reference, the benchmarks' wrk and nginx, the packaging tools, and clang with
# libFuzzer (libclang-rt-14-dev) and llvm-symbolizer (llvm-14) for the fuzz targets.
set -eu

# The tools and the matrix against vsd. GoogleTest is here because the conformance beds the
# matrix shares with the GoogleTest suites use its assertions.
main_packages="g++ cmake ninja-build pkg-config
libtins-dev libpcap-dev libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev
libgtest-dev libnftables-dev iproute2 ethtool nftables iputils-ping procps"
test_packages="clang-format dpkg-dev libgmock-dev libbenchmark-dev
tcpdump busybox curl libxml2-utils ipvsadm ldirectord libnet-inet6glue-perl keepalived
qemu-system-x86 xz-utils binutils gnuplot-nox wrk nginx-light
clang-14 libclang-rt-14-dev llvm-14"

case "${1:-all}" in
main) packages="$main_packages" ;;
all) packages="$main_packages $test_packages" ;;
*) echo "usage: scripts/setup.sh [main|all]" >&2; exit 2 ;;
esac

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The qemu-kernel DUT boots Debian's own kernel: its package is fetched here, once, so that
# nothing is downloaded when tests run (harness/dut/qemu builds the guest from it).
cache="${VSLAB_CACHE_DIR:-/var/cache/vslab}/debs"
kernel_present() { ls "$cache"/linux-image-*-amd64_*_amd64.deb >/dev/null 2>&1; }
fetch_kernel() {
  kernel=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
  [ -n "$kernel" ] || { echo "vslab setup: apt knows no linux-image-amd64 (apt-get update?)" >&2; return 1; }
  mkdir -p "$cache"
  (cd "$cache" && apt-get download -qq "$kernel" 2>/dev/null) ||
    { echo "vslab setup: apt-get download $kernel failed" >&2; return 1; }
}

# The kernel package only for the tests (the main job runs no qemu guest).
[ "${1:-all}" = all ] || kernel_present() { true; }

if [ -z "$missing" ]; then
  kernel_present && exit 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "vslab setup: no Debian kernel package in $cache for the qemu-kernel DUT; run as root" >&2
    exit 1
  fi
  fetch_kernel || { apt-get update -qq && fetch_kernel; }
  exit
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "vslab setup: missing packages:$missing; run as root (or: apt-get install$missing)" >&2
  exit 1
fi
echo "vslab setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# nginx-light's package starts a web server on the machine's port 80; vslab bench only runs
# nginx of its own inside a real server's namespace.
case "$missing" in
*nginx-light*) systemctl disable --now nginx >/dev/null 2>&1 || true ;;
esac
kernel_present || fetch_kernel
