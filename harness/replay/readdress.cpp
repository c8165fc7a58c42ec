#include "replay/readdress.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <span>

namespace vslab::replay {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800, kEthArp = 0x0806, kEthVlan = 0x8100;
constexpr uint8_t kProtoIcmp = 1, kProtoIpip = 4, kProtoTcp = 6, kProtoUdp = 17;

// A checksum field and the checksums that cover it in turn (an ICMP error's checksum covers
// the quoted header's checksums).
struct Sum {
  std::size_t at = 0;
  bool udp = false;  // 0 means "no checksum" and stays 0
  std::vector<const Sum*> covered_by;
};

uint16_t get16(const std::vector<uint8_t>& b, std::size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

uint16_t ones_add(uint16_t a, uint16_t b) {
  uint32_t s = uint32_t(a) + b;
  return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

// RFC 1624, equation 3: HC' = ~(~HC + ~m + m').
uint16_t adjusted(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  return static_cast<uint16_t>(~ones_add(
      ones_add(static_cast<uint16_t>(~checksum), static_cast<uint16_t>(~old_word)), new_word));
}

void put16(std::vector<uint8_t>& b, std::size_t at, uint16_t value,
           const std::vector<const Sum*>& covered_by) {
  uint16_t old = get16(b, at);
  if (old == value) return;
  b[at] = static_cast<uint8_t>(value >> 8);
  b[at + 1] = static_cast<uint8_t>(value);
  for (const Sum* s : covered_by) {
    if (s->at + 2 > b.size()) continue;
    uint16_t c = get16(b, s->at);
    if (s->udp && c == 0) continue;
    uint16_t n = adjusted(c, old, value);
    if (s->udp && n == 0) n = 0xffff;
    put16(b, s->at, n, s->covered_by);
  }
}

void map_mac(std::vector<uint8_t>& b, std::size_t at, const AddressMap& map) {
  if (at + 6 > b.size()) return;
  MacBytes mac;
  std::copy(b.begin() + at, b.begin() + at + 6, mac.begin());
  if (auto it = map.macs.find(mac); it != map.macs.end())
    std::copy(it->second.begin(), it->second.end(), b.begin() + at);
}

void map_ip(std::vector<uint8_t>& b, std::size_t at, const AddressMap& map,
            const std::vector<const Sum*>& covered_by) {
  if (at + 4 > b.size()) return;
  Ipv4Bytes ip;
  std::copy(b.begin() + at, b.begin() + at + 4, ip.begin());
  auto it = map.ips.find(ip);
  if (it == map.ips.end()) return;
  const auto& to = it->second;
  put16(b, at, static_cast<uint16_t>(to[0] << 8 | to[1]), covered_by);
  put16(b, at + 2, static_cast<uint16_t>(to[2] << 8 | to[3]), covered_by);
}

// The IPv4 packet at `at` (up to `end`); `outer` are checksums of an enclosing ICMP message
// that cover every byte of it. `quoted`: inside an ICMP error, where it may be cut short.
void ipv4(std::vector<uint8_t>& b, std::size_t at, std::size_t end, const AddressMap& map,
          const std::vector<const Sum*>& outer, int depth) {
  if (depth > 3 || end > b.size() || at + 20 > end || (b[at] >> 4) != 4) return;
  std::size_t ihl = std::size_t(b[at] & 0x0f) * 4;
  if (ihl < 20 || at + ihl > end) return;
  std::size_t total = get16(b, at + 2);
  if (total >= ihl && at + total < end) end = at + total;  // Ethernet padding is not IP
  uint8_t proto = b[at + 9];
  bool first_fragment = (get16(b, at + 6) & 0x1fff) == 0;
  std::size_t l4 = at + ihl;

  Sum ip_sum{at + 10, false, outer};
  // The L4 checksum covers the pseudo-header's addresses (not ICMP's).
  std::optional<Sum> l4_sum;
  if (first_fragment && proto == kProtoTcp && l4 + 18 <= end) l4_sum = Sum{l4 + 16, false, outer};
  if (first_fragment && proto == kProtoUdp && l4 + 8 <= end) l4_sum = Sum{l4 + 6, true, outer};

  std::vector<const Sum*> address_sums{&ip_sum};
  if (l4_sum) address_sums.push_back(&*l4_sum);
  for (const Sum* s : outer) address_sums.push_back(s);
  map_ip(b, at + 12, map, address_sums);
  map_ip(b, at + 16, map, address_sums);

  if (!first_fragment) return;
  if (proto == kProtoIpip) {
    ipv4(b, l4, end, map, outer, depth + 1);
  } else if (proto == kProtoIcmp && l4 + 8 <= end) {
    uint8_t type = b[l4];
    bool is_error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    if (!is_error) return;
    Sum icmp_sum{l4 + 2, false, outer};
    std::vector<const Sum*> quoted_outer{&icmp_sum};
    for (const Sum* s : outer) quoted_outer.push_back(s);
    ipv4(b, l4 + 8, end, map, quoted_outer, depth + 1);
  }
}

}  // namespace

std::optional<Ipv4Bytes> parse_ipv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  Ipv4Bytes out;
  std::memcpy(out.data(), &a, 4);
  return out;
}

std::optional<MacBytes> parse_mac(const std::string& text) {
  MacBytes m;
  unsigned v[6];
  char extra;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &extra) != 6 ||
      text.size() != 17)
    return std::nullopt;
  for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

bool AddressMap::add_ip(const std::string& from, const std::string& to) {
  auto f = parse_ipv4(from), t = parse_ipv4(to);
  if (!f || !t) return false;
  ips[*f] = *t;
  return true;
}

bool AddressMap::add_mac(const std::string& from, const std::string& to) {
  auto f = parse_mac(from), t = parse_mac(to);
  if (!f || !t) return false;
  macs[*f] = *t;
  return true;
}

void readdress_frame(std::vector<uint8_t>& frame, const AddressMap& map) {
  if (map.empty() || frame.size() < 14) return;
  map_mac(frame, 0, map);
  map_mac(frame, 6, map);
  std::size_t at = 12;
  uint16_t type = get16(frame, at);
  if (type == kEthVlan && frame.size() >= 18) {
    at += 4;
    type = get16(frame, at);
  }
  at += 2;
  if (type == kEthArp && at + 28 <= frame.size()) {
    map_mac(frame, at + 8, map);
    map_ip(frame, at + 14, map, {});
    map_mac(frame, at + 18, map);
    map_ip(frame, at + 24, map, {});
  } else if (type == kEthIpv4) {
    ipv4(frame, at, frame.size(), map, {}, 0);
  }
}

}  // namespace vslab::replay
