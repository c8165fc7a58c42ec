#include "topology/ndp_probe.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vslab::topo {
namespace {

constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint8_t kNextHeaderIcmpv6 = 58;
constexpr uint8_t kNeighbourSolicitation = 135, kNeighbourAdvertisement = 136;
constexpr uint8_t kTargetLinkAddressOption = 2;
constexpr std::size_t kEth = 14, kIpv6 = 40, kNs = 24;
constexpr auto kResendEvery = std::chrono::milliseconds(250);

uint16_t get16(const uint8_t* at) {
  return uint16_t(at[0] << 8 | at[1]);
}

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
  if (inet_pton(AF_INET6, target_ip.c_str(), &target) != 1 || ifname.size() >= IFNAMSIZ)
    return std::nullopt;
  NetnsGuard inside(netns);
  // ETH_P_ALL: on a bridge port only such taps see a frame before the bridge takes it.
  const os::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  if (fd.get() < 0) return std::nullopt;
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFINDEX, &req) != 0) return std::nullopt;
  sockaddr_ll where{};
  where.sll_family = AF_PACKET;
  where.sll_protocol = htons(ETH_P_ALL);
  where.sll_ifindex = req.ifr_ifindex;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) return std::nullopt;
  if (ioctl(fd.get(), SIOCGIFHWADDR, &req) != 0) return std::nullopt;
  uint8_t own_mac[6];
  std::memcpy(own_mac, req.ifr_hwaddr.sa_data, 6);
  auto frame = ndp_probe_frame(own_mac, target.s6_addr);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto next_send = std::chrono::steady_clock::now();
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    if (now >= next_send) {
      // A lost first solicitation (the far side's port still coming up) is simply repeated.
      [[maybe_unused]] auto sent = send(fd.get(), frame.data(), frame.size(), 0);
      next_send = now + kResendEvery;
    }
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(deadline, next_send) - now);
    pollfd pfd{fd.get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(wait.count()) + 1) <= 0) continue;
    uint8_t in[1514];
    ssize_t n = recv(fd.get(), in, sizeof in, MSG_DONTWAIT);
    if (n <= 0) continue;
    if (auto mac = advertised_mac(in, std::size_t(n), target.s6_addr)) return mac;
  }
}

}  // namespace vslab::topo
