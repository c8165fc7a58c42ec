#!/bin/sh
# Builds the vslab .deb (CPack, release preset): vslab, vsd, vsadm and their data, man pages,
# bash completion and the vsd@.service unit (packaging/). Prints the .deb's path, in build/.
set -eu
cd "$(dirname "$0")/.."
command -v dpkg-shlibdeps >/dev/null ||
  { echo "vslab package: dpkg-shlibdeps is missing (scripts/setup.sh installs dpkg-dev)" >&2; exit 1; }
cmake --preset release >/dev/null
# Only what the package holds: the tests need not be built to package the tools.
cmake --build --preset release --target vslab vsd vsadm vslab_man_pages >&2
(cd build/release && cpack -G DEB >&2)
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' build/release/CPackConfig.cmake)
deb=$(ls build/release/vslab_"$version"_*.deb)
mv "$deb" build/
echo "build/$(basename "$deb")"
