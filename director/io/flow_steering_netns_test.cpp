// The steering program run by the kernel: a PACKET_FANOUT_CBPF group of sockets on a veth, each
// standing for a worker, and frames of every kind a flow is made of sent to it. Both directions
// of a connection and the ICMP errors about either must reach one socket, the one
// worker_of_client names, and the clients must spread over all of them. Needs namespaces: the
// selftest topology's client sends, the router's eth0 receives.
#include "io/flow_steering.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <vector>

#include "os/unique_fd.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vsd {
namespace {

namespace topo = vslab::topo;

constexpr uint32_t kVip = 0x0a000064;     // 10.0.0.100
constexpr uint32_t kServer = 0xc0a8010b;  // 192.168.1.11
constexpr uint32_t kRouter = 0x0a090909;  // 10.9.9.9, on the client's side
constexpr uint32_t kLocal = 0xc0a80102;   // 192.168.1.2, FULLNAT's local address
constexpr uint32_t kServerSide[] = {kVip, kLocal, kServer, 0xc0a8010c};
constexpr uint32_t kLocals[] = {kLocal};
constexpr uint8_t kTcp = 6, kIcmp = 1;

uint32_t client(uint32_t i) {
  return 0xac100001 + i;  // 172.16.0.1 and up
}

void put32(std::vector<uint8_t>& f, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = uint8_t(v >> (24 - 8 * i));
}

// An IPv4 header (20 bytes) at `at`, its identification the frame's number.
void ipv4_header(std::vector<uint8_t>& f, std::size_t at, uint8_t proto, uint32_t src, uint32_t dst,
                 uint16_t id) {
  f[at] = 0x45;
  f[at + 4] = uint8_t(id >> 8);
  f[at + 5] = uint8_t(id);
  f[at + 8] = 64;
  f[at + 9] = proto;
  put32(f, at + 12, src);
  put32(f, at + 16, dst);
}

// To a unicast MAC no one has: the router's kernel drops it, its packet sockets see it.
std::vector<uint8_t> ethernet(std::size_t payload, uint16_t type = 0x0800) {
  std::vector<uint8_t> f(14 + payload, 0);
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x77};
  std::copy(dst, dst + 6, f.begin());
  f[6] = 0x02;
  f[12] = uint8_t(type >> 8);
  f[13] = uint8_t(type);
  return f;
}

void put16(std::vector<uint8_t>& f, std::size_t at, uint16_t v) {
  f[at] = uint8_t(v >> 8);
  f[at + 1] = uint8_t(v);
}

std::vector<uint8_t> segment(uint32_t src, uint32_t dst, uint16_t id, uint16_t sport = 40000,
                             uint16_t dport = 80) {
  auto f = ethernet(20 + 20);
  ipv4_header(f, 14, kTcp, src, dst, id);
  put16(f, 34, sport);
  put16(f, 36, dport);
  return f;
}

// An error from `from` about the segment quoted (src -> dst).
std::vector<uint8_t> icmp_error(uint32_t from, uint32_t to, uint32_t quoted_src,
                                uint32_t quoted_dst, uint16_t id, uint16_t quoted_sport = 40000) {
  auto f = ethernet(20 + 8 + 20 + 8);
  ipv4_header(f, 14, kIcmp, from, to, id);
  f[34] = 3;  // destination unreachable
  f[35] = 3;  // port unreachable
  ipv4_header(f, 42, kTcp, quoted_src, quoted_dst, 0);
  put16(f, 62, quoted_sport);
  put16(f, 64, 8080);
  return f;
}

class Fanout {
 public:
  Fanout(const std::string& netns, uint32_t workers) {
    topo::NetnsGuard in(netns);
    const auto program = steering_program(kServerSide, kLocals, workers);
    uint16_t group = 0;
    for (uint32_t w = 0; w < workers; ++w) {
      vslab::os::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
      if (!fd) throw std::runtime_error("socket");
      sockaddr_ll addr{};
      addr.sll_family = AF_PACKET;
      addr.sll_protocol = htons(ETH_P_ALL);
      addr.sll_ifindex = static_cast<int>(if_nametoindex("eth0"));
      if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("bind");
      if (w == 0) {
        group = make_steered_fanout(fd.get(), program);
      } else {
        join_steered_fanout(fd.get(), group);
      }
      fds_.push_back(std::move(fd));
    }
  }
  // The worker that got frame `id` (the IPv4 identification, or the first two payload bytes
  // of a non-IPv4 frame); nothing within 2 s. Frames with another number are skipped.
  std::optional<uint32_t> receiver_of(uint16_t id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::vector<pollfd> pfds;
    for (const auto& fd : fds_) pfds.push_back({fd.get(), POLLIN, 0});
    while (std::chrono::steady_clock::now() < deadline) {
      if (poll(pfds.data(), pfds.size(), 100) <= 0) continue;
      for (uint32_t w = 0; w < pfds.size(); ++w) {
        if (!(pfds[w].revents & POLLIN)) continue;
        uint8_t buf[256];
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        ssize_t n =
            recvfrom(pfds[w].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 20 || from.sll_pkttype == PACKET_OUTGOING) continue;
        const bool ip = buf[12] == 0x08 && buf[13] == 0x00;
        const std::size_t at = ip ? 18 : 14;
        if ((uint16_t(buf[at]) << 8 | buf[at + 1]) == id) return w;
      }
    }
    return std::nullopt;
  }

 private:
  std::vector<vslab::os::UniqueFd> fds_;
};

class Sender {
 public:
  explicit Sender(const std::string& netns) {
    topo::NetnsGuard in(netns);
    fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex("eth0"));
    if (!fd_ || bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("sender");
  }
  void send_frame(const std::vector<uint8_t>& f) {
    ASSERT_EQ(send(fd_.get(), f.data(), f.size(), 0), ssize_t(f.size()));
  }

 private:
  vslab::os::UniqueFd fd_;
};

class FlowSteeringOnVeth : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FlowSteeringOnVeth, AConnectionAndItsErrorsMeetOneWorker) {
  if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
  auto parsed = topo::parse_topology_file(
      (std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies" / "selftest.toml").string());
  ASSERT_TRUE(parsed.ok());
  topo::LiveTopology live(std::move(*parsed.topology));
  const uint32_t workers = GetParam();
  Fanout fanout(live.netns("router"), workers);
  Sender sender(live.netns("client"));

  uint16_t id = 1;
  std::set<uint32_t> used;
  for (uint32_t i = 0; i < 64; ++i) {
    const uint32_t c = client(i);
    const uint32_t owner = worker_of_client(c, workers);
    used.insert(owner);
    // The FULLNAT local port the owner would give the client's connection: one of its class.
    const uint16_t lport = uint16_t(1024 + 7 * i);
    const uint32_t port_owner = lport % workers;
    struct Case {
      const char* what;
      std::vector<uint8_t> frame;
    };
    const Case cases[] = {
        {"client to VIP", segment(c, kVip, id)},
        {"server's reply", segment(kServer, c, uint16_t(id + 1))},
        {"error about a packet to the server", icmp_error(kServer, c, c, kServer, id + 2)},
        {"error about a reply to the client", icmp_error(kRouter, kVip, kVip, c, id + 3)},
    };
    for (const auto& [what, frame] : cases) {
      sender.send_frame(frame);
      const uint16_t number = uint16_t(frame[18] << 8 | frame[19]);
      EXPECT_EQ(fanout.receiver_of(number), owner) << what << ", client " << i;
    }
    const Case fullnat[] = {
        {"server's reply to a local port", segment(kServer, kLocal, id + 4, 8080, lport)},
        {"error about a packet from a local port",
         icmp_error(kServer, kLocal, kLocal, kServer, id + 5, lport)},
    };
    for (const auto& [what, frame] : fullnat) {
      sender.send_frame(frame);
      const uint16_t number = uint16_t(frame[18] << 8 | frame[19]);
      EXPECT_EQ(fanout.receiver_of(number), port_owner) << what << " " << lport;
    }
    id = uint16_t(id + 6);
  }
  EXPECT_EQ(used.size(), workers) << "64 clients left a worker without a flow";

  // What is not IPv4 (ARP, here a local experimental type) goes to worker 0.
  auto other = ethernet(46, 0x88b5);
  other[14] = 0xbe;
  other[15] = 0xef;
  sender.send_frame(other);
  EXPECT_EQ(fanout.receiver_of(0xbeef), 0u);
}

INSTANTIATE_TEST_SUITE_P(Workers, FlowSteeringOnVeth, ::testing::Values(2u, 3u));

TEST(SteeringProgram, RefusesWhatCannotFit) {
  std::vector<uint32_t> many(kMaxSteeringAddresses + 1, 1);
  EXPECT_THROW(steering_program(many, {}, 2), std::invalid_argument);
  EXPECT_THROW(steering_program(kServerSide, kLocals, 0), std::invalid_argument);
  many.pop_back();
  EXPECT_LE(steering_program(many, {}, 2).size(), std::size_t(BPF_MAXINSNS));
  many.resize(kMaxSteeringAddresses / 2);
  EXPECT_LE(steering_program({}, many, 2).size(), std::size_t(BPF_MAXINSNS));
}

}  // namespace
}  // namespace vsd
