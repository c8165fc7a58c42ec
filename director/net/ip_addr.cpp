#include "net/ip_addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace vsd {

std::optional<IpAddr> IpAddr::parse_v6(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  text.copy(buf, text.size());
  in6_addr a{};
  if (inet_pton(AF_INET6, buf, &a) != 1) return std::nullopt;
  std::array<uint8_t, 16> b{};
  std::memcpy(b.data(), &a, b.size());
  return v6(b);
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (auto a = Ipv4::parse(text)) return IpAddr(*a);
  return parse_v6(text);
}

std::string IpAddr::str() const {
  if (is_v4()) return v4().str();
  char buf[INET6_ADDRSTRLEN];
  in6_addr a{};
  std::memcpy(&a, bytes.data(), bytes.size());
  if (inet_ntop(AF_INET6, &a, buf, sizeof buf) == nullptr) return "?";
  return buf;
}

IpAddr IpAddr::prefix(unsigned prefix_len) const {
  IpAddr out = *this;
  const unsigned bits = is_v4() ? 32 : 128;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= bits || first_bit + 8 <= prefix_len) continue;
    const unsigned keep = prefix_len > first_bit ? prefix_len - first_bit : 0;
    out.bytes[i] = uint8_t(out.bytes[i] & (keep == 0 ? 0 : 0xff << (8 - keep)));
  }
  return out;
}

std::string bracketed(const IpAddr& addr) {
  if (addr.is_v4()) return addr.str();
  std::string out(1, '[');
  out.append(addr.str()).push_back(']');
  return out;
}

std::string IpEndpoint::str() const {
  std::string out = bracketed(addr);
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

std::size_t hash_of(const IpAddr& addr) {
  uint64_t hi = 0, lo = 0;
  std::memcpy(&hi, addr.bytes.data(), 8);
  std::memcpy(&lo, addr.bytes.data() + 8, 8);
  const uint64_t h =
      (hi * 0x9e3779b97f4a7c15ull) ^ (lo + uint64_t(addr.family)) * 0xbf58476d1ce4e5b9ull;
  return std::size_t(h ^ (h >> 31));
}

}  // namespace vsd
