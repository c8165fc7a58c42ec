#include "topology/ndp_probe.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "os/byte_order.h"
#include "topology/arp_probe.h"

namespace vslab::topo {
namespace {

using os::get16;

constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint8_t kNextHeaderIcmpv6 = 58;
constexpr uint8_t kNeighbourSolicitation = 135, kNeighbourAdvertisement = 136;
constexpr uint8_t kTargetLinkAddressOption = 2;
constexpr std::size_t kEth = 14, kIpv6 = 40, kNs = 24;

// RFC 1071 over the IPv6 pseudo-header (RFC 8200 8.1) and the message.
uint16_t icmpv6_checksum(const uint8_t* ip, const uint8_t* message, std::size_t length) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i < 32; i += 2) sum += get16(ip + 8 + i);
  sum += uint32_t(length >> 16) + uint32_t(length & 0xffff) + kNextHeaderIcmpv6;
  for (std::size_t i = 0; i + 1 < length; i += 2) sum += get16(message + i);
  if (length % 2) sum += uint32_t(message[length - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

}  // namespace

std::vector<uint8_t> ndp_probe_frame(const uint8_t* own_mac, const uint8_t* target) {
  std::vector<uint8_t> f(kEth + kIpv6 + kNs, 0);
  // To the target's solicited-node group ff02::1:ffXX:XXXX, on MAC 33:33:ff:XX:XX:XX.
  const uint8_t group[16] = {0xff, 0x02, 0, 0, 0,    0,          0,          0,
                             0,    0,    0, 1, 0xff, target[13], target[14], target[15]};
  const uint8_t group_mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
  std::memcpy(f.data(), group_mac, 6);
  std::memcpy(f.data() + 6, own_mac, 6);
  f[12] = uint8_t(kEthTypeIpv6 >> 8);
  f[13] = uint8_t(kEthTypeIpv6 & 0xff);
  uint8_t* ip = f.data() + kEth;
  ip[0] = 0x60;
  ip[5] = kNs;  // payload length
  ip[6] = kNextHeaderIcmpv6;
  ip[7] = 255;  // RFC 4861 7.1.1: a solicitation with any other hop limit is dropped
  // Source (ip + 8) stays ::, and so no source link-layer option (RFC 4861 4.3).
  std::memcpy(ip + 24, group, 16);
  uint8_t* ns = ip + kIpv6;
  ns[0] = kNeighbourSolicitation;
  std::memcpy(ns + 8, target, 16);
  uint16_t checksum = icmpv6_checksum(ip, ns, kNs);
  ns[2] = uint8_t(checksum >> 8);
  ns[3] = uint8_t(checksum);
  return f;
}

std::optional<std::string> advertised_mac(const uint8_t* in, std::size_t size,
                                          const uint8_t* target) {
  if (size < kEth + kIpv6 + kNs || get16(in + 12) != kEthTypeIpv6) return std::nullopt;
  const uint8_t* ip = in + kEth;
  const uint8_t* na = ip + kIpv6;
  if (ip[6] != kNextHeaderIcmpv6 || na[0] != kNeighbourAdvertisement ||
      std::memcmp(na + 8, target, 16) != 0)
    return std::nullopt;
  std::size_t message_end = std::min(size, kEth + kIpv6 + get16(ip + 4));
  // The target link-layer option names the MAC; without one, the frame's source says it.
  const uint8_t* mac = in + 6;
  for (std::size_t at = kEth + kIpv6 + kNs; at + 8 <= message_end;) {
    std::size_t option = in[at + 1] * 8u;
    if (option == 0 || at + option > message_end) break;
    if (in[at] == kTargetLinkAddressOption) mac = in + at + 2;
    at += option;
  }
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

std::optional<std::string> ndp_probe(const std::string& netns, const std::string& ifname,
                                     const std::string& target_ip,
                                     std::chrono::milliseconds timeout) {
  in6_addr target{};
  if (inet_pton(AF_INET6, target_ip.c_str(), &target) != 1) return std::nullopt;
  return probe_port(
      netns, ifname,
      [&](const uint8_t* own_mac) { return ndp_probe_frame(own_mac, target.s6_addr); },
      [&](const uint8_t* in, std::size_t n) { return advertised_mac(in, n, target.s6_addr); },
      timeout);
}

}  // namespace vslab::topo
