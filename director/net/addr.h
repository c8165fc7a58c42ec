// Value types for what crosses function boundaries in the director: IPv4 addresses, MACs,
// protocols and transport endpoints. A raw uint32_t address never does.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vsd {

// An IPv4 address in host byte order (10.0.0.1 is 0x0a000001).
struct Ipv4 {
  uint32_t value = 0;

  static constexpr Ipv4 from_host(uint32_t v) { return Ipv4{v}; }
  static constexpr Ipv4 from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4{uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d};
  }
  // Dotted quad only ("10.0.0.1"); nothing for anything else.
  static std::optional<Ipv4> parse(std::string_view text);
  std::string str() const;
  constexpr bool is_zero() const { return value == 0; }
  constexpr Ipv4 masked(Ipv4 mask) const { return Ipv4{value & mask.value}; }
  constexpr auto operator<=>(const Ipv4&) const = default;
};

struct alignas(8) Mac {
  std::array<uint8_t, 6> bytes{};
  static std::optional<Mac> parse(std::string_view text);  // "02:00:00:00:00:01"
  static constexpr Mac broadcast() { return Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  std::string str() const;
  constexpr bool is_zero() const {
    return (bytes[0] | bytes[1] | bytes[2] | bytes[3] | bytes[4] | bytes[5]) == 0;
  }
  constexpr auto operator<=>(const Mac&) const = default;
};

enum class Proto : uint8_t { Icmp = 1, Tcp = 6, Udp = 17, Sctp = 132 };
std::string_view proto_name(Proto p);  // "TCP", "UDP", "SCTP", "ICMP" (ipvsadm's spelling)

// An address and a port (port 0 where none applies).
struct Endpoint {
  Ipv4 addr;
  uint16_t port = 0;
  std::string str() const;  // "10.0.0.1:80"
  constexpr auto operator<=>(const Endpoint&) const = default;
};

}  // namespace vsd

template <>
struct std::hash<vsd::Ipv4> {
  std::size_t operator()(vsd::Ipv4 a) const noexcept { return std::hash<uint32_t>{}(a.value); }
};
