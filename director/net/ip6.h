// An IPv6 address as it sits on the wire, for the data plane's IPv6 path (net/ip_addr.h holds
// addresses of either family for the control plane).
#pragma once

#include <array>
#include <cstdint>

namespace vsd {

using Ip6 = std::array<uint8_t, 16>;

// The first `prefix` bits of a and b are equal.
constexpr bool same_prefix(const Ip6& a, const Ip6& b, int prefix) {
  for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8) {
    const uint8_t mask = prefix >= 8 ? 0xff : uint8_t(0xff00 >> prefix);
    if ((a[std::size_t(i)] & mask) != (b[std::size_t(i)] & mask)) return false;
  }
  return true;
}

// The address cut to its first `prefix` bits, the rest zero (the kernel's ipv6_addr_prefix).
constexpr Ip6 prefix_of(const Ip6& a, int prefix) {
  Ip6 out{};
  for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8)
    out[std::size_t(i)] = a[std::size_t(i)] & (prefix >= 8 ? 0xff : uint8_t(0xff00 >> prefix));
  return out;
}

}  // namespace vsd
