// PacketSocket on a real veth: drain() hands over at most one batch per call, so a port
// flooded for longer than a batch takes no more than its turn (vsd/main.cpp serves the other ports,
// its timers and vsadm between two calls). Needs namespaces: the selftest topology's client
// sends, the router's eth0 receives.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "io/packet_socket.h"
#include "os/unique_fd.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vsd {
namespace {

namespace topo = vslab::topo;

constexpr std::size_t kFrameBytes = 1514;
constexpr uint16_t kLocalExperimentalType =
    0x88b5;  // IEEE 802 local experimental: no stack takes it

// A raw socket on the client's eth0 that sends numbered frames of kFrameBytes.
class Sender {
 public:
  explicit Sender(const std::string& netns) {
    topo::NetnsGuard in(netns);
    fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex("eth0"));
    if (fd_ && bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd_.reset();
  }
  bool ok() const { return fd_.valid(); }
  bool send_numbered(uint32_t n) {
    std::vector<uint8_t> frame(kFrameBytes, 0);
    for (int i = 0; i < 6; ++i) frame[i] = 0xff;  // broadcast: the router's port takes it
    frame[6] = 0x02;
    frame[12] = kLocalExperimentalType >> 8;
    frame[13] = kLocalExperimentalType & 0xff;
    for (int i = 0; i < 4; ++i) frame[14 + i] = uint8_t(n >> (24 - 8 * i));
    return send(fd_.get(), frame.data(), frame.size(), 0) == ssize_t(frame.size());
  }

 private:
  vslab::os::UniqueFd fd_;
};

uint32_t number_of(std::span<const uint8_t> frame) {
  return uint32_t(frame[14]) << 24 | uint32_t(frame[15]) << 16 | uint32_t(frame[16]) << 8 |
         frame[17];
}

TEST(PacketSocketOnVeth, DrainHandsOverOneBatchPerCall) {
  if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
  auto parsed = topo::parse_topology_file(
      (std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies" / "selftest.toml").string());
  ASSERT_TRUE(parsed.ok());
  topo::LiveTopology live(std::move(*parsed.topology));

  std::unique_ptr<PacketSocket> port;
  {
    topo::NetnsGuard in(live.netns("router"));
    port = std::make_unique<PacketSocket>("eth0", 1500);
  }
  Sender sender(live.netns("client"));
  ASSERT_TRUE(sender.ok());

  // Four batches' worth and more: enough that, sent before the first drain, several batches
  // are ready at once (and fewer than the ring's slots, so none is dropped).
  const uint32_t sent = 4 * PacketSocket::kDrainBatch + 10;
  static_assert(4 * PacketSocket::kDrainBatch + 10 <
                PacketSocket::kRxRingBytes / RxFrameRing::slot_bytes_for(1500));
  for (uint32_t n = 0; n < sent; ++n) ASSERT_TRUE(sender.send_numbered(n)) << "frame " << n;

  std::vector<uint32_t> received;
  std::vector<std::size_t> per_call;
  pollfd pfd{port->rx_fd(), POLLIN, 0};
  while (received.size() < sent) {
    std::size_t n = port->drain([&](std::span<uint8_t> frame, bool) {
      if (frame.size() == kFrameBytes && frame[12] == (kLocalExperimentalType >> 8))
        received.push_back(number_of(frame));
    });
    if (n > 0) {
      per_call.push_back(n);
      continue;
    }
    // Nothing ready: wait for the next frame.
    ASSERT_GT(poll(&pfd, 1, 5000), 0)
        << "only " << received.size() << " of " << sent << " frames arrived";
  }
  ASSERT_EQ(received.size(), sent);
  for (uint32_t n = 0; n < sent; ++n) ASSERT_EQ(received[n], n) << "out of order";
  ASSERT_GE(per_call.size(), 5u);
  for (std::size_t n : per_call) EXPECT_LE(n, PacketSocket::kDrainBatch) << "a call took more";
  EXPECT_EQ(port->counters().rx_too_big, 0u);
}

}  // namespace
}  // namespace vsd
