// The qemu-kernel DUT's guest: a stock Debian kernel and a small initramfs built from Debian's
// packages (harness/dut/qemu/build-image.sh), once, and kept in vslab's cache until one of its
// inputs changes: the kernel package, the build script, the guest's /init, or the host's
// busybox, iproute2 and ipvsadm that are copied in.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vslab::dut::qemu {

struct GuestImage {
  std::filesystem::path vmlinux;    // uncompressed, booted through its PVH entry
  std::filesystem::path initramfs;  // uncompressed newc cpio
  std::string kernel_release;       // e.g. 6.1.0-56-amd64
};

// $VSLAB_CACHE_DIR, or /var/cache/vslab.
std::filesystem::path cache_dir();
// Where scripts/setup.sh leaves the Debian kernel package: <cache>/debs.
std::filesystem::path kernel_package_dir(const std::filesystem::path& cache);
// The newest linux-image-*-amd64 package there; throws std::runtime_error saying how to get
// one when there is none.
std::filesystem::path find_kernel_package(const std::filesystem::path& cache);

// What the image is made of; a different text means a different image.
std::string image_inputs(const std::filesystem::path& kernel_package);

// The image for `kernel_package`, built under <cache>/guest/<key>/ when not there yet
// (several processes at once build it once: the first holds a lock, the others wait for it).
// Throws std::runtime_error with the build's output when it fails.
GuestImage prepare_guest_image(const std::filesystem::path& cache,
                               const std::filesystem::path& kernel_package);

// The embedded build-image.sh and guest /init (the build copies them in from the sources).
extern const char* const kBuildImageScript;
extern const char* const kGuestInit;

}  // namespace vslab::dut::qemu
