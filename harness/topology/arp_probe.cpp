#include "topology/arp_probe.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/core.h>

#include "os/byte_order.h"
#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vslab::topo {
namespace {

using os::get16;
using os::put16;

constexpr std::size_t kArpFrameLength = 14 + 28;
constexpr uint16_t kOpRequest = 1, kOpReply = 2;
constexpr auto kResendEvery = std::chrono::milliseconds(250);

std::array<uint8_t, kArpFrameLength> probe_frame(const uint8_t* own_mac, in_addr target) {
  std::array<uint8_t, kArpFrameLength> f{};
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, own_mac, 6);
  put16(f.data() + 12, ETH_P_ARP);
  uint8_t* arp = f.data() + 14;
  put16(arp, ARPHRD_ETHER);
  put16(arp + 2, ETH_P_IP);
  arp[4] = 6;
  arp[5] = 4;
  put16(arp + 6, kOpRequest);
  std::memcpy(arp + 8, own_mac, 6);
  // Sender address (arp + 14) and target MAC (arp + 18) stay zero: a probe.
  std::memcpy(arp + 24, &target.s_addr, 4);
  return f;
}

}  // namespace

std::optional<std::string> probe_port(
    const std::string& netns, const std::string& ifname,
    const std::function<std::vector<uint8_t>(const uint8_t* own_mac)>& make_probe,
    const std::function<std::optional<std::string>(const uint8_t* frame, std::size_t size)>& answer,
    std::chrono::milliseconds timeout) {
  if (ifname.size() >= IFNAMSIZ) return std::nullopt;
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
  auto frame = make_probe(own_mac);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto next_send = std::chrono::steady_clock::now();
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    if (now >= next_send) {
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
    if (auto found = answer(in, std::size_t(n))) return found;
  }
}

std::optional<std::string> arp_probe(const std::string& netns, const std::string& ifname,
                                     const std::string& target_ip,
                                     std::chrono::milliseconds timeout) {
  in_addr target{};
  if (inet_pton(AF_INET, target_ip.c_str(), &target) != 1) return std::nullopt;
  auto make = [&](const uint8_t* own_mac) {
    auto f = probe_frame(own_mac, target);
    return std::vector<uint8_t>(f.begin(), f.end());
  };
  auto answer = [&](const uint8_t* in, std::size_t n) -> std::optional<std::string> {
    if (n < kArpFrameLength || get16(in + 12) != ETH_P_ARP) return std::nullopt;
    const uint8_t* arp = in + 14;
    if (get16(arp + 6) != kOpReply || std::memcmp(arp + 14, &target.s_addr, 4) != 0)
      return std::nullopt;
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", arp[8], arp[9], arp[10],
                       arp[11], arp[12], arp[13]);
  };
  return probe_port(netns, ifname, make, answer, timeout);
}

}  // namespace vslab::topo
