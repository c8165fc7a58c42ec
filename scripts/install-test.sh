#!/bin/sh
# CI: the .deb installs on this machine (dpkg -i), the INSTALLED vslab runs the NAT rr cells of
# the conformance matrix from a folder outside the source tree with the installed vsd and
# vsadm, its JUnit report holds passing cells and follows the installed schema, and the
# package removes cleanly. Needs root; removes the package even when a step fails.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install-test: needs root (dpkg -i, network namespaces)" >&2; exit 1; }

deb=$(scripts/package.sh)
echo "== install-test: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ *\(Package\|Version\|Depends\): /  \1: /p'

work=$(mktemp -d)
cleanup() {
  status=$?
  cd /
  if dpkg-query -W -f='${Status}' vslab 2>/dev/null | grep -q "install ok installed"; then
    echo "== install-test: dpkg -r vslab"
    dpkg -r vslab >/dev/null || status=1
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

echo "== install-test: dpkg -i"
# A missing dependency leaves the package unconfigured; apt then brings it in.
dpkg -i "$deb" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >/dev/null
for f in /usr/bin/vslab /usr/sbin/vsd /usr/sbin/vsadm /usr/share/vslab/topologies/nat.toml \
         /usr/share/vslab/perf/bench/topologies/bench.toml /usr/share/vslab/schemas/junit.xsd \
         /usr/lib/systemd/system/vsd@.service /usr/share/man/man8/vsd.8 \
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
passed=$((${tests:-0} - ${failures:-0} - ${skipped:-0}))
if [ "$passed" -le 0 ] || [ "${failures:-1}" != 0 ]; then
  echo "install-test: the report holds ${tests:-no} cells, ${failures:-?} failed, $passed passed" >&2
  exit 1
fi
xmllint --noout --schema /usr/share/vslab/schemas/junit.xsd report.xml
echo "== install-test: PASS ($passed cells passed, $skipped skipped, 0 failed)"
