#!/bin/sh
# CI: the .deb installs on this machine (dpkg -i), the INSTALLED vslab runs the NAT rr cells of
# the conformance matrix from a folder outside the source tree with the installed vsd and
# vsadm, its JUnit report holds passing cells and follows the installed schema, the installed
# vsd loads and reloads a rules file as vsd@.service runs it, and the package removes cleanly.
# Needs root; removes the package even when a step fails.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install-test: needs root (dpkg -i, network namespaces)" >&2; exit 1; }

deb=$(scripts/package.sh)
echo "== install-test: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ *\(Package\|Version\|Depends\): /  \1: /p'

work=$(mktemp -d)
ns="vsdit-$$"
vsd_pid=""
cleanup() {
  status=$?
  cd /
  [ -z "$vsd_pid" ] || kill "$vsd_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  if dpkg-query -W -f='${Status}' vslab 2>/dev/null | grep -q "install ok installed"; then
    echo "== install-test: dpkg -r vslab"
    dpkg -r vslab >/dev/null || status=1
  fi
  # Its postrm keeps the package known as config-files until it is purged.
  dpkg-query -W vslab >/dev/null 2>&1 && { dpkg --purge vslab >/dev/null || status=1; }
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

echo "== install-test: dpkg -i"
# A missing dependency leaves the package unconfigured; apt then brings it in.
dpkg -i "$deb" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >/dev/null
for f in /usr/bin/vslab /usr/sbin/vsd /usr/sbin/vsadm /usr/share/vslab/topologies/nat.toml \
         /usr/share/vslab/perf/bench/topologies/bench.toml /usr/share/vslab/schemas/junit.xsd \
         /usr/lib/systemd/system/vsd@.service /usr/share/man/man8/vsd.8.gz \
         /usr/share/bash-completion/completions/vsadm; do
  [ -e "$f" ] || { echo "install-test: $f is not installed" >&2; exit 1; }
done
/usr/bin/vslab --version
/usr/sbin/vsd --version
/usr/sbin/vsadm --version

cd "$work"
echo "== install-test: $(pwd): vslab conform --dut builtin --filter 'nat/rr/*'"
/usr/bin/vslab conform --dut builtin --filter 'nat/rr/*' --junit report.xml
count() { sed -n "s/.*<testsuites[^>]* $1=\"\\([0-9]*\\)\".*/\\1/p" report.xml | head -n 1; }
tests=$(count tests) failures=$(count failures) skipped=$(count skipped)
errors=$(count errors)
passed=$((${tests:-0} - ${failures:-0} - ${errors:-0} - ${skipped:-0}))
if [ "$passed" -le 0 ] || [ "${failures:-1}" != 0 ] || [ "${errors:-1}" != 0 ]; then
  echo "install-test: the report holds ${tests:-no} cells, ${failures:-?} failed, ${errors:-?} errors, $passed passed" >&2
  exit 1
fi
xmllint --noout --schema /usr/share/vslab/schemas/junit.xsd report.xml
echo "== install-test: conform: $passed cells passed, $skipped skipped, 0 failed"

# The installed vsd as vsd@.service runs it: rules from a file at start, the file again on
# SIGHUP (the unit's ExecReload), a clean exit on SIGTERM. One veth end is its port.
echo "== install-test: vsd --rules, SIGHUP, SIGTERM"
ip netns add "$ns"
ip -n "$ns" link add vsdit0 type veth peer name vsdit1
ip -n "$ns" link set vsdit0 up
ip -n "$ns" link set vsdit1 up
printf '%s\n' "-A -t 10.99.0.1:80 -s rr" "-a -t 10.99.0.1:80 -r 10.99.1.2:8080 -m -w 1" > first.rules
printf '%s\n' "-A -u 10.99.0.1:53 -s wlc" "-a -u 10.99.0.1:53 -r 10.99.1.3:53 -m -w 2" > second.rules
cp first.rules service.rules
/usr/sbin/vsd --netns "$ns" --port vsdit0 --socket "$work/vsd.sock" --rules "$work/service.rules" \
  >/dev/null 2>vsd.log &
vsd_pid=$!
# As the unit's ExecStartPost: started once the control socket is there.
timeout 10 sh -c "until [ -S '$work/vsd.sock' ]; do sleep 0.1; done" ||
  { cat vsd.log >&2; echo "install-test: vsd did not open its socket" >&2; exit 1; }
/usr/sbin/vsadm --socket "$work/vsd.sock" -S -n | diff first.rules - ||
  { echo "install-test: vsd did not load the rules file at start" >&2; exit 1; }
cp second.rules service.rules
kill -HUP "$vsd_pid"
timeout 10 sh -c "until /usr/sbin/vsadm --socket '$work/vsd.sock' -S -n | cmp -s second.rules -; do sleep 0.1; done" ||
  { cat vsd.log >&2; echo "install-test: SIGHUP did not load the new rules" >&2; exit 1; }
kill -TERM "$vsd_pid"
vsd_status=0
wait "$vsd_pid" || vsd_status=$?
vsd_pid=""
[ "$vsd_status" -eq 0 ] || { cat vsd.log >&2; echo "install-test: vsd exited $vsd_status on SIGTERM" >&2; exit 1; }
echo "== install-test: vsd: rules loaded at start, replaced on SIGHUP, exit 0 on SIGTERM"
echo "== install-test: PASS"
