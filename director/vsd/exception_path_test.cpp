// The exception path with vsd forwarding (docs/design.md "The director host keeps its own
// network"): in each mode's topology, the director namespace's own kernel pings, connects
// and exchanges datagrams with every node, serves TCP on its own addresses, and answers for a
// VIP it holds on the ports that are no service, while a frame to the VIP's service still
// reaches the real server. Sockets are the test's own, opened inside each namespace.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "dut/dut.h"
#include "os/unique_fd.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vsd {
namespace {

using vslab::os::UniqueFd;
using vslab::topo::NetnsGuard;

constexpr int kWaitMs = 5000;

struct Case {
  const char* mode;
  const char* rs1;          // the real server the service sends to
  const char* router;       // the director's gateway
  const char* dip_from_rs;  // the director's address on the real servers' side
  const char* dip_from_client;
  const char* rules;  // one UDP service on VIP:5353 with rs1 only
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.mode;
}

sockaddr_in endpoint(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, kWaitMs) == 1 && (p.revents & events);
}

UniqueFd socket_in(const std::string& netns, int type) {
  NetnsGuard inside(netns);
  return UniqueFd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
}

UniqueFd bound_in(const std::string& netns, int type, const std::string& ip, uint16_t port) {
  UniqueFd fd = socket_in(netns, type);
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = endpoint(ip, port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
  if (type == SOCK_STREAM && listen(fd.get(), 4) != 0) return UniqueFd();
  return fd;
}

std::string error_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// A connection from `from` to ip:port, accepted by a listener in `to`, carrying a line each
// way. Empty when it worked, else what failed.
std::string tcp_exchange(const std::string& from, const std::string& to, const std::string& ip,
                         uint16_t port) {
  UniqueFd listener = bound_in(to, SOCK_STREAM, "0.0.0.0", port);
  if (!listener) return error_text("listen");
  UniqueFd client = socket_in(from, SOCK_STREAM | SOCK_NONBLOCK);
  auto a = endpoint(ip, port);
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS)
    return error_text("connect");
  if (!wait_for(client.get(), POLLOUT)) return "connect timed out";
  int error = 0;
  socklen_t len = sizeof error;
  getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return std::string("connect: ") + std::strerror(error);
  if (!wait_for(listener.get(), POLLIN)) return "accept timed out";
  UniqueFd served(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!served) return error_text("accept");
  char buf[16] = {};
  if (write(client.get(), "hello", 5) != 5) return error_text("write");
  if (!wait_for(served.get(), POLLIN) || read(served.get(), buf, sizeof buf) != 5)
    return "no request";
  if (write(served.get(), "olleh", 5) != 5) return error_text("write back");
  if (!wait_for(client.get(), POLLIN) || read(client.get(), buf, sizeof buf) != 5)
    return "no answer";
  return std::string(buf, 5) == "olleh" ? "" : "wrong answer";
}

// A datagram from `from` to ip:port, answered by a socket in `to`.
std::string udp_exchange(const std::string& from, const std::string& to, const std::string& ip,
                         uint16_t port) {
  UniqueFd server = bound_in(to, SOCK_DGRAM, "0.0.0.0", port);
  if (!server) return error_text("bind");
  UniqueFd client = socket_in(from, SOCK_DGRAM);
  auto a = endpoint(ip, port);
  if (sendto(client.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) != 4)
    return error_text("sendto");
  char buf[16] = {};
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  if (!wait_for(server.get(), POLLIN) ||
      recvfrom(server.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len) != 4)
    return "the datagram did not arrive";
  if (sendto(server.get(), "pong", 4, 0, reinterpret_cast<sockaddr*>(&peer), len) != 4)
    return error_text("sendto back");
  if (!wait_for(client.get(), POLLIN) || recv(client.get(), buf, sizeof buf, 0) != 4)
    return "the answer did not arrive";
  return std::string(buf, 4) == "pong" ? "" : "wrong answer";
}

// A socket in `netns` that has joined `group` on the interface holding `local`, bound to the
// group's port.
UniqueFd group_member(const std::string& netns, const std::string& group, const std::string& local,
                      uint16_t port) {
  UniqueFd fd = bound_in(netns, SOCK_DGRAM, "0.0.0.0", port);
  ip_mreqn join{};
  inet_pton(AF_INET, group.c_str(), &join.imr_multiaddr);
  inet_pton(AF_INET, local.c_str(), &join.imr_address);
  if (fd && setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0)
    return UniqueFd();
  return fd;
}

// A datagram to `group` sent from the interface holding `local` in `from`, received by a
// member in `to` that joined on the interface holding `member`.
std::string multicast_exchange(const std::string& from, const std::string& local,
                               const std::string& to, const std::string& member) {
  const std::string group = "239.255.0.18";
  UniqueFd receiver = group_member(to, group, member, 7006);
  if (!receiver) return error_text("join");
  UniqueFd sender = socket_in(from, SOCK_DGRAM);
  in_addr out{};
  inet_pton(AF_INET, local.c_str(), &out);
  if (setsockopt(sender.get(), IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out) != 0)
    return error_text("IP_MULTICAST_IF");
  auto a = endpoint(group, 7006);
  if (sendto(sender.get(), "vrrp", 4, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) != 4)
    return error_text("sendto");
  char buf[16];
  if (!wait_for(receiver.get(), POLLIN) || recv(receiver.get(), buf, sizeof buf, 0) != 4)
    return "the group's datagram did not arrive";
  return "";
}

class ExceptionPath : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!vslab::topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    auto parsed = vslab::topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" +
                                                   GetParam().mode + ".toml");
    ASSERT_TRUE(parsed.ok());
    live_ = std::make_unique<vslab::topo::LiveTopology>(*parsed.topology);
    vip_ = *live_->topology().lvs.vip;
  }
  // vsd started and given the case's rules.
  void start() {
    dut_ = std::make_unique<vslab::dut::BuiltinDut>(VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY,
                                                    std::vector<std::string>{});
    dut_->start(*live_);
    auto restored = dut_->restore(GetParam().rules);
    ASSERT_TRUE(restored.ok()) << restored.output;
  }
  // keepalived's way: the VIP on an interface of the director.
  void put_vip_on_lo() {
    auto added = live_->exec("director", {"ip", "addr", "add", vip_ + "/32", "dev", "lo"});
    ASSERT_TRUE(added.ok()) << added.output;
  }
  // One echo reply to each request: ping counts a second one as a duplicate.
  std::string ping_answers_once(const char* node, const std::string& ip) {
    auto r = live_->exec(node, {"ping", "-n", "-c", "3", "-i", "0.2", "-w", "5", ip});
    if (!r.ok()) return "no answer: " + r.output;
    return r.output.find("duplicates") == std::string::npos ? "" : r.output;
  }
  void TearDown() override {
    if (HasFailure() && dut_) std::cerr << "vsd log:\n" << dut_->log();
  }
  std::string ns(const char* node) const { return live_->netns(node); }

  // Empty when a UDP datagram the client sends to the VIP's service shows up in a frame on
  // rs1 (rewritten or tunnelled as the mode does: the payload is the same) and the
  // director's kernel did not answer it too (a port unreachable makes the client's connected
  // socket report ECONNREFUSED; the kernel's answer, in its softirq, comes before vsd's
  // forwarded copy reaches rs1).
  std::string service_reaches_rs1() {
    UniqueFd tap;
    {
      NetnsGuard inside(ns("rs1"));
      tap.reset(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP)));
    }
    // rs1 takes the datagram in, so its own kernel has no port unreachable to send.
    UniqueFd sink = bound_in(ns("rs1"), SOCK_DGRAM, "0.0.0.0", 5353);
    if (!sink) return error_text("bind on rs1");
    UniqueFd client = socket_in(ns("client"), SOCK_DGRAM);
    const std::string marker = "vslab exception path";
    auto a = endpoint(vip_, 5353);
    if (connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return error_text("connect");
    if (send(client.get(), marker.data(), marker.size(), 0) != ssize_t(marker.size()))
      return error_text("send");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
    char buf[2048];
    bool arrived = false;
    while (!arrived && std::chrono::steady_clock::now() < deadline && wait_for(tap.get(), POLLIN)) {
      ssize_t n = recv(tap.get(), buf, sizeof buf, 0);
      arrived = n > 0 && std::string(buf, std::size_t(n)).find(marker) != std::string::npos;
    }
    if (!arrived) return "the datagram did not reach rs1";
    if (recv(client.get(), buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED)
      return "the director's kernel answered the service's datagram too";
    return "";
  }

  std::unique_ptr<vslab::topo::LiveTopology> live_;
  std::unique_ptr<vslab::dut::BuiltinDut> dut_;
  std::string vip_;
};

TEST_P(ExceptionPath, TheDirectorsKernelReachesEveryNode) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto& c = GetParam();
  const std::string director = ns("director");
  for (const char* node : {"rs1", "router", "client"}) {
    const std::string ip = std::string(node) == "rs1"      ? c.rs1
                           : std::string(node) == "router" ? c.router
                                                           : "10.10.0.2";
    SCOPED_TRACE(std::string(node) + " " + ip);
    EXPECT_TRUE(live_->ping("director", ip));
    EXPECT_EQ(tcp_exchange(director, ns(node), ip, 7001), "");
    EXPECT_EQ(udp_exchange(director, ns(node), ip, 7002), "");
  }
  EXPECT_EQ(service_reaches_rs1(), "");
}

TEST_P(ExceptionPath, ATcpServerOnTheDirectorsAddressesIsReachable) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto& c = GetParam();
  EXPECT_EQ(tcp_exchange(ns("rs1"), ns("director"), c.dip_from_rs, 7003), "");
  EXPECT_EQ(tcp_exchange(ns("client"), ns("director"), c.dip_from_client, 7004), "");
  EXPECT_TRUE(live_->ping("rs1", c.dip_from_rs));
  EXPECT_EQ(service_reaches_rs1(), "");
}

// VRRP and the sync daemon talk by multicast through the data ports, both ways.
TEST_P(ExceptionPath, TheDirectorsKernelExchangesMulticastWithItsNeighbour) {
  const auto& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(multicast_exchange(ns("router"), c.router, ns("director"), c.dip_from_client), "");
  EXPECT_EQ(multicast_exchange(ns("director"), c.dip_from_client, ns("router"), c.router), "");
}

// A VIP the host holds when vsd starts: its service stays vsd's, its other ports and its
// echo are the kernel's, answered once.
TEST_P(ExceptionPath, AVipTheHostHoldsKeepsItsServiceAndGivesTheKernelTheRest) {
  ASSERT_NO_FATAL_FAILURE(put_vip_on_lo());
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(tcp_exchange(ns("client"), ns("director"), vip_, 7005), "");
  EXPECT_EQ(ping_answers_once("client", vip_), "");
  EXPECT_EQ(ping_answers_once("rs1", GetParam().dip_from_rs), "");
  EXPECT_EQ(service_reaches_rs1(), "");
}

// The same VIP put on an interface while vsd runs: vsd and its ingress chain learn it.
TEST_P(ExceptionPath, AVipAddedWhileVsdRunsGoesToTheKernelToo) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(put_vip_on_lo());
  // vsd reads the host's addresses again within a second; until then the chain keeps the
  // kernel from port 7005 and vsd answers it with a reset, so the connection is tried again
  // until the kernel takes it.
  std::string result = "not tried";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!result.empty() && std::chrono::steady_clock::now() < deadline)
    result = tcp_exchange(ns("client"), ns("director"), vip_, 7005);
  EXPECT_EQ(result, "");
  EXPECT_EQ(ping_answers_once("client", vip_), "");
  EXPECT_EQ(service_reaches_rs1(), "");
}

// docs/design.md "A dead vsd must not black-hole its ports": each port's table goes with vsd
// however it ends, and a table an older vsd left is removed at the next start, whose exception
// path works (kill -9 and a second vsd: port_claim_test.cpp).
TEST_P(ExceptionPath, TheTablesGoWithVsdAndALeftoverGoesAtTheNextStart) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto table = [&](const char* name) {
    return live_->exec("director", {"nft", "list", "table", "netdev", name});
  };
  ASSERT_TRUE(table("vsd_eth0").ok());
  dut_->stop();
  EXPECT_FALSE(table("vsd_eth0").ok()) << table("vsd_eth0").output;

  // The table of vsd before it owned its tables, as a vsd killed then would have left it.
  auto made = live_->exec("director", {"nft",
                                       "add table netdev vsd; add chain netdev vsd "
                                       "ingress0 { type filter hook ingress device "
                                       "\"eth0\" priority 0; policy drop; }"});
  ASSERT_TRUE(made.ok()) << made.output;
  dut_.reset();
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_FALSE(table("vsd").ok()) << table("vsd").output;
  EXPECT_NE(dut_->log().find("removed table netdev vsd,"), std::string::npos) << dut_->log();
  EXPECT_TRUE(live_->ping("director", GetParam().rs1));
  EXPECT_TRUE(live_->ping("director", GetParam().router));
  EXPECT_EQ(service_reaches_rs1(), "");
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ExceptionPath,
    testing::Values(Case{"nat", "192.168.10.11", "10.20.0.1", "192.168.10.1", "10.20.0.2",
                         "-A -u 10.20.0.100:5353 -s rr\n"
                         "-a -u 10.20.0.100:5353 -r 192.168.10.11:5353 -m\n"},
                    Case{"dr", "10.30.0.11", "10.30.0.1", "10.30.0.2", "10.30.0.2",
                         "-A -u 10.30.0.100:5353 -s rr\n"
                         "-a -u 10.30.0.100:5353 -r 10.30.0.11:5353 -g\n"},
                    Case{"tun", "10.50.0.11", "10.40.0.1", "10.40.0.2", "10.40.0.2",
                         "-A -u 10.40.0.100:5353 -s rr\n"
                         "-a -u 10.40.0.100:5353 -r 10.50.0.11:5353 -i\n"},
                    Case{"fullnat", "192.168.60.11", "10.60.0.1", "192.168.60.1", "10.60.0.2",
                         "-A -u 10.60.0.100:5353 -s rr\n"
                         "-a -u 10.60.0.100:5353 -r 192.168.60.11:5353 -b\n"
                         "--add-laddr -z 192.168.60.200 -u 10.60.0.100:5353\n"}),
    [](const testing::TestParamInfo<Case>& info) { return std::string(info.param.mode); });

}  // namespace
}  // namespace vsd
