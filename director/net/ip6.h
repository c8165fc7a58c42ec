// An IPv6 address as it sits on the wire, for the data plane's IPv6 path (net/ip_addr.h holds
// addresses of either family for the control plane).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

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

// The address as two 64-bit words in its own byte order: what a per-packet compare or mask
// works on, where a loop over bytes would not be unrolled.
inline std::array<uint64_t, 2> ip6_words(const Ip6& a) {
  std::array<uint64_t, 2> w;
  std::memcpy(w.data(), a.data(), sizeof w);
  return w;
}

// a == b as two word compares. std::array's == is a call to memcmp in g++ 12's builds of the
// data plane, which a compare per packet (a connection's key, a neighbour) should not pay.
inline bool same_ip6(const Ip6& a, const Ip6& b) {
  const auto x = ip6_words(a), y = ip6_words(b);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

// a < b as their bytes order them (std::array's <), compared as two big-endian words: no call
// to memcmp, for a search per packet (Services::is_ipv6_vip).
constexpr bool ip6_less(const Ip6& a, const Ip6& b) {
  auto word = [](const Ip6& x, std::size_t at) {
    uint64_t w = 0;
    for (std::size_t i = 0; i < 8; ++i) w = w << 8 | x[at + i];
    return w;
  };
  const uint64_t a0 = word(a, 0), b0 = word(b, 0);
  return a0 != b0 ? a0 < b0 : word(a, 8) < word(b, 8);
}

// A prefix kept as two 64-bit words of mask and of masked address, in the address's own byte
// order: whether an address is in it is two ANDs and two compares, as for an IPv4 route's
// mask, where same_prefix walks bytes. For lookups per packet (the data plane's routes).
class Prefix6 {
 public:
  Prefix6() = default;
  Prefix6(const Ip6& addr, int prefix) {
    Ip6 mask{};
    for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8)
      mask[std::size_t(i)] = prefix >= 8 ? 0xff : uint8_t(0xff00 >> prefix);
    mask_ = ip6_words(mask);
    net_ = ip6_words(addr);
    net_[0] &= mask_[0];
    net_[1] &= mask_[1];
  }
  bool contains(const Ip6& a) const {
    const auto w = ip6_words(a);
    return ((w[0] & mask_[0]) ^ net_[0]) == 0 && ((w[1] & mask_[1]) ^ net_[1]) == 0;
  }

 private:
  std::array<uint64_t, 2> net_{}, mask_{};
};

}  // namespace vsd
