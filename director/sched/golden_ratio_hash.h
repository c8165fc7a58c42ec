// The kernel's hash_32 (include/linux/hash.h): multiply by the 32-bit golden-ratio constant
// 0x61C88647 (2^32 / phi, rounded, then negated) in 32 bits and keep the product's top bits.
// Linux 6.1 buckets dh's and sh's keys with it (8 bits, 256 buckets) and lblc's and lblcr's
// (10 bits); the 64-bit build of the Debian module multiplies and shifts exactly so (imul
// $0x61c88647, shr $0x18 in ip_vs_sh.ko and ip_vs_dh.ko). Older kernels kept the product's low
// 8 bits of address * 2654435761 instead, which puts a given address in another bucket.
#pragma once

#include <cstdint>

namespace vsd {

constexpr uint32_t golden_ratio_hash(uint32_t value, unsigned bits) {
  return static_cast<uint32_t>(value * 0x61C88647u) >> (32 - bits);
}

}  // namespace vsd
