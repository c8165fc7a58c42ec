// Big-endian field access on frame bytes: the only way the per-packet code reads or writes a
// multi-byte header field. Callers guarantee the offsets are in bounds (classify() checked them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/addr.h"

namespace vsd::fwd {

inline uint16_t load_be16(std::span<const uint8_t> bytes, std::size_t at) {
  return uint16_t(uint16_t(bytes[at]) << 8 | bytes[at + 1]);
}

inline uint32_t load_be32(std::span<const uint8_t> bytes, std::size_t at) {
  return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 | uint32_t(bytes[at + 2]) << 8 |
         bytes[at + 3];
}

inline void store_be16(std::span<uint8_t> bytes, std::size_t at, uint16_t value) {
  bytes[at] = uint8_t(value >> 8);
  bytes[at + 1] = uint8_t(value);
}

inline void store_be32(std::span<uint8_t> bytes, std::size_t at, uint32_t value) {
  bytes[at] = uint8_t(value >> 24);
  bytes[at + 1] = uint8_t(value >> 16);
  bytes[at + 2] = uint8_t(value >> 8);
  bytes[at + 3] = uint8_t(value);
}

inline Ipv4 load_ipv4(std::span<const uint8_t> bytes, std::size_t at) {
  return Ipv4::from_host(load_be32(bytes, at));
}

inline void store_ipv4(std::span<uint8_t> bytes, std::size_t at, Ipv4 address) {
  store_be32(bytes, at, address.value);
}

inline Mac load_mac(std::span<const uint8_t> bytes, std::size_t at) {
  Mac mac;
  for (std::size_t i = 0; i < mac.bytes.size(); ++i) mac.bytes[i] = bytes[at + i];
  return mac;
}

inline void store_mac(std::span<uint8_t> bytes, std::size_t at, const Mac& mac) {
  for (std::size_t i = 0; i < mac.bytes.size(); ++i) bytes[at + i] = mac.bytes[i];
}

}  // namespace vsd::fwd
