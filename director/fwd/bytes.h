// Big-endian field access on frame bytes: the only way the per-packet code reads or writes a
// multi-byte header field. Callers guarantee the offsets are in bounds (classify() checked them).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/addr.h"

namespace vsd::fwd {

static_assert(std::endian::native == std::endian::little, "the byte swaps below assume it");

// One load or store per field, not one per byte: the compiler cannot merge byte accesses into
// a word once they are spread over a rewrite, and a word stored as bytes that is read back
// whole stalls on store forwarding.
inline uint16_t load_be16(std::span<const uint8_t> bytes, std::size_t at) {
  uint16_t value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return __builtin_bswap16(value);
}

inline uint32_t load_be32(std::span<const uint8_t> bytes, std::size_t at) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return __builtin_bswap32(value);
}

inline void store_be16(std::span<uint8_t> bytes, std::size_t at, uint16_t value) {
  value = __builtin_bswap16(value);
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

inline void store_be32(std::span<uint8_t> bytes, std::size_t at, uint32_t value) {
  value = __builtin_bswap32(value);
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

inline Ipv4 load_ipv4(std::span<const uint8_t> bytes, std::size_t at) {
  return Ipv4::from_host(load_be32(bytes, at));
}

inline void store_ipv4(std::span<uint8_t> bytes, std::size_t at, Ipv4 address) {
  store_be32(bytes, at, address.value);
}

inline Mac load_mac(std::span<const uint8_t> bytes, std::size_t at) {
  Mac mac;
  std::memcpy(mac.bytes.data(), bytes.data() + at, mac.bytes.size());
  return mac;
}

inline void store_mac(std::span<uint8_t> bytes, std::size_t at, const Mac& mac) {
  std::memcpy(bytes.data() + at, mac.bytes.data(), mac.bytes.size());
}

}  // namespace vsd::fwd
