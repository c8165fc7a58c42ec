#!/bin/busybox sh
# /init of the qemu-kernel DUT's guest: loads the IPVS, virtio and IPIP modules, then serves
# the host's requests on the virtio-serial port, one at a time, until it is powered off.
#
# Request, one line:  VSLAB <id> <script in base64>
# Reply, one line:    VSLAB <id> <exit code> <stdout and stderr in base64>
# The guest has no network for control: its NICs are the director's data ports only.
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

# Loadable modules do not see their parameters on the kernel command line (modprobe would
# pass them): hand virtio_mmio the devices qemu's microvm put there.
mmio_devices=""
for word in $(cat /proc/cmdline); do
  case "$word" in virtio_mmio.device=*) mmio_devices="$mmio_devices device=${word#virtio_mmio.device=}" ;; esac
done
while read -r module; do
  if [ "$module" = virtio_mmio ]; then
    # shellcheck disable=SC2086
    insmod "/lib/modules/$module.ko" $mmio_devices
  else
    insmod "/lib/modules/$module.ko"
  fi || echo "vslab guest: insmod $module failed" >/dev/console
done </etc/vslab/modules

# No IPv6 chatter (router solicitations, MLD) on the director's ports.
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
ip link set lo up

port=""
for attempt in $(seq 1 200); do
  for p in /dev/vport*p1; do [ -c "$p" ] && port=$p; done
  [ -n "$port" ] && break
  usleep 10000
done
if [ -z "$port" ]; then
  echo "vslab guest: no virtio-serial port" >/dev/console
  poweroff -f
fi

exec 3<>"$port"
echo "VSLAB READY $(cat /etc/vslab/release)" >&3
while read -r magic id script <&3; do
  [ "$magic" = VSLAB ] || continue
  echo "$script" | base64 -d >/tmp/request
  sh /tmp/request >/tmp/reply 2>&1 </dev/null
  code=$?
  echo "VSLAB $id $code $(base64 -w 0 </tmp/reply)" >&3
done
poweroff -f
