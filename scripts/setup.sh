#!/bin/sh
# Installs what vslab needs from Debian 12's packages. Idempotent, and silent when
# everything is already there.
set -eu

packages="g++ cmake ninja-build pkg-config clang-format
libtins-dev libpcap-dev libtomlplusplus-dev libcli11-dev libfmt-dev nlohmann-json3-dev
libgtest-dev libgmock-dev libbenchmark-dev
iproute2 ethtool nftables tcpdump iputils-ping procps busybox curl libxml2-utils ipvsadm
gnuplot-nox wrk nginx-light"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

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
