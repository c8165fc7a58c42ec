// Addresses of either family, for what the control plane holds (rules, listings, the control
// protocol, vsadm's command line). The data plane keeps its IPv4 types (net/addr.h) on the
// per-packet path and converts where it takes the rules in.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/addr.h"

namespace vsd {

// The order is ipvsadm's listing order (AF_INET sorts before AF_INET6).
enum class Family : uint8_t { V4 = 4, V6 = 6 };

// An IPv4 or IPv6 address. Implicitly made from an Ipv4, which it holds without loss; the way
// back (v4()) is explicit, as it is only meaningful for an IPv4 one.
struct IpAddr {
  Family family = Family::V4;
  // Network byte order; an IPv4 address in the first 4 bytes, the rest zero, so that equal
  // addresses compare equal byte for byte and order numerically within a family.
  std::array<uint8_t, 16> bytes{};

  constexpr IpAddr() = default;
  constexpr IpAddr(Ipv4 a)  // NOLINT(google-explicit-constructor): lossless
      : bytes{uint8_t(a.value >> 24), uint8_t(a.value >> 16), uint8_t(a.value >> 8),
              uint8_t(a.value)} {}
  static constexpr IpAddr v6(const std::array<uint8_t, 16>& b) {
    IpAddr a;
    a.family = Family::V6;
    a.bytes = b;
    return a;
  }
  // The unspecified address of a family (0.0.0.0 or ::).
  static constexpr IpAddr zero(Family f) {
    IpAddr a;
    a.family = f;
    return a;
  }
  // inet_pton's forms: a dotted quad, or any IPv6 spelling ("2001:db8::1", "::ffff:1.2.3.4").
  static std::optional<IpAddr> parse(std::string_view text);
  static std::optional<IpAddr> parse_v6(std::string_view text);
  // inet_ntop's canonical form: "10.0.0.1", "2001:db8::1".
  std::string str() const;

  constexpr bool is_v4() const { return family == Family::V4; }
  constexpr bool is_v6() const { return family == Family::V6; }
  // Only for an IPv4 address.
  constexpr Ipv4 v4() const {
    return Ipv4{uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 |
                bytes[3]};
  }
  constexpr bool is_zero() const {
    for (uint8_t b : bytes)
      if (b != 0) return false;
    return true;
  }
  // The first prefix_len bits kept (IPv6 persistence granularity, -M as a prefix length).
  IpAddr prefix(unsigned prefix_len) const;
  constexpr auto operator<=>(const IpAddr&) const = default;
};

// An address of either family and a port. Implicitly made from an IPv4 Endpoint.
struct IpEndpoint {
  IpAddr addr;
  uint16_t port = 0;

  constexpr IpEndpoint() = default;
  constexpr IpEndpoint(IpAddr a, uint16_t p) : addr(a), port(p) {}
  constexpr IpEndpoint(Endpoint e)  // NOLINT(google-explicit-constructor): lossless
      : addr(e.addr), port(e.port) {}
  // Only for an IPv4 one.
  constexpr Endpoint v4() const { return Endpoint{addr.v4(), port}; }
  constexpr Family family() const { return addr.family; }
  // "10.0.0.1:80", "[2001:db8::1]:80": ipvsadm's addr:port, brackets around IPv6.
  std::string str() const;
  constexpr auto operator<=>(const IpEndpoint&) const = default;
};

// "[2001:db8::1]" or "10.0.0.1": an address as it stands before ":port".
std::string bracketed(const IpAddr& addr);

// A hash of an address for unordered containers (mixes all 16 bytes and the family).
std::size_t hash_of(const IpAddr& addr);

}  // namespace vsd
