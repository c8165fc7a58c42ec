// vsd's hold on its ports (docs/design.md "A dead vsd must not leave its ports black-holed"),
// with vsd run as a program in topologies/nat.toml: a vsd killed with -9 leaves no port
// black-holed, with no vsd started after it; a second vsd on a port a live one serves is
// refused and the first goes on forwarding, once, with its table intact; two vsds on
// different ports of one namespace both run; `vsd --cleanup` removes a leftover table.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "nat_bed.h"
#include "os/child_process.h"
#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace std::chrono_literals;
using vslab::os::UniqueFd;
using vslab::topo::NetnsGuard;

constexpr const char* kVip = "10.20.0.100";
// One UDP service on the VIP, to rs1.
constexpr const char* kRules =
    "-A -u 10.20.0.100:5353 -s rr\n"
    "-a -u 10.20.0.100:5353 -r 192.168.10.11:5353 -m\n";

// Polls `done` until it holds or `limit` passes.
template <typename Condition>
bool within(std::chrono::milliseconds limit, Condition done) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

UniqueFd udp_socket(const std::string& netns, uint16_t bound_port) {
  NetnsGuard inside(netns);
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(bound_port);
  if (bound_port && bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return UniqueFd();
  return fd;
}

// How many of the datagrams `from` sends to ip:port a socket in `to` receives: after the
// first, any copy has `quiet` to show up.
int datagrams_received(const std::string& from, const std::string& to, const char* ip,
                       uint16_t port, std::chrono::milliseconds quiet = 500ms) {
  UniqueFd receiver = udp_socket(to, port);
  UniqueFd sender = udp_socket(from, 0);
  if (!receiver || !sender) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (sendto(sender.get(), "vslab", 5, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) != 5)
    return -1;
  int received = 0;
  pollfd p{receiver.get(), POLLIN, 0};
  char buf[64];
  while (poll(&p, 1, received == 0 ? 5000 : int(quiet.count())) == 1 &&
         recv(receiver.get(), buf, sizeof buf, 0) == 5)
    ++received;
  return received;
}

// vsd started by hand (vsd --netns), its standard output and error read back.
class HandStartedVsd {
 public:
  explicit HandStartedVsd(std::vector<std::string> args) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    output_.reset(out[0]);
    UniqueFd write_end(out[1]);
    vslab::os::SpawnOptions options;
    options.stdout_fd = options.stderr_fd = write_end.get();
    args.insert(args.begin(), VSLAB_VSD_BINARY);
    process_ = vslab::os::ChildProcess::spawn(args, options);
  }
  // Reads until vsd says it is ready (true) or ends (false), for at most 10 s.
  bool ready() {
    while (text_.find("vsd: ready") == std::string::npos) {
      pollfd p{output_.get(), POLLIN, 0};
      char buf[1024];
      ssize_t n = poll(&p, 1, 10000) == 1 ? read(output_.get(), buf, sizeof buf) : 0;
      if (n <= 0) return false;
      text_.append(buf, std::size_t(n));
    }
    return true;
  }
  // Its exit code once it ended within 10 s; -1 if it still runs.
  int exit_code() {
    auto status = process_.wait_until(std::chrono::steady_clock::now() + 10s);
    if (!status) return -1;
    for (char buf[1024]; ssize_t n = read(output_.get(), buf, sizeof buf);) {
      if (n < 0) break;
      text_.append(buf, std::size_t(n));
    }
    return vslab::os::exit_code_of(*status);
  }
  int stop() { return vslab::os::exit_code_of(process_.stop(SIGTERM)); }
  const std::string& output() const { return text_; }

 private:
  vslab::os::ChildProcess process_;
  UniqueFd output_;
  std::string text_;
};

class PortClaim : public testing::Test {
 protected:
  void SetUp() override {
    if (!vslab::topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  }
  static std::string socket_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            ("vsd-claim-" + std::to_string(getpid()) + "-" + name + ".sock"))
        .string();
  }
  static vslab::topo::CommandResult nft(NatBed& bed, std::vector<std::string> args) {
    args.insert(args.begin(), "nft");
    return bed.live().exec("director", args);
  }
  static bool has_table(NatBed& bed, const char* name) {
    return nft(bed, {"list", "table", "netdev", name}).ok();
  }
  // Whether a chain of any table hooks the port, whatever vsd named its table.
  static bool hooked(NatBed& bed, const std::string& port) {
    return nft(bed, {"list", "ruleset"}).output.find("device \"" + port + "\"") !=
           std::string::npos;
  }
  // keepalived's way: the VIP on an interface of the director, so that the director's kernel
  // takes the service's datagrams whenever no ingress drop keeps them from it.
  static void put_vip_on_lo(NatBed& bed) {
    auto added =
        bed.live().exec("director", {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "lo"});
    ASSERT_TRUE(added.ok()) << added.output;
  }
};

TEST_F(PortClaim, AVsdKilledWithMinusNineLeavesNoPortBlackHoled) {
  NatBed bed;
  ASSERT_NO_FATAL_FAILURE(put_vip_on_lo(bed));
  auto restored = bed.dut().restore(kRules);
  ASSERT_TRUE(restored.ok()) << restored.output;
  ASSERT_TRUE(hooked(bed, "eth0"));
  const std::string director = bed.live().netns("director");

  for (int pid : vslab::topo::pids_in_netns(director)) kill(pid, SIGKILL);
  ASSERT_TRUE(within(5s, [&] { return vslab::topo::pids_in_netns(director).empty(); }));
  // No vsd runs from here on: the kernel removed the tables with the process.
  EXPECT_TRUE(within(2s, [&] { return !hooked(bed, "eth0") && !hooked(bed, "eth1"); }))
      << nft(bed, {"list", "ruleset"}).output;
  EXPECT_EQ(datagrams_received(bed.live().netns("client"), director, kVip, 5353), 1)
      << "the service's port stays black-holed:\n"
      << nft(bed, {"list", "ruleset"}).output;
  EXPECT_TRUE(bed.live().ping("router", "10.20.0.2"));
}

TEST_F(PortClaim, ASecondVsdOnAPortTheFirstServesIsRefusedAndTheFirstForwardsOnce) {
  NatBed bed;
  auto restored = bed.dut().restore(kRules);
  ASSERT_TRUE(restored.ok()) << restored.output;
  const std::string director = bed.live().netns("director");
  const auto first = vslab::topo::pids_in_netns(director);
  ASSERT_EQ(first.size(), 1u);
  const std::string first_pid = std::to_string(first[0]);

  HandStartedVsd second(
      {"--netns", director, "--socket", socket_path("second"), "--port", "eth1", "--port", "eth0"});
  const int code = second.exit_code();
  if (code == -1) second.stop();
  EXPECT_EQ(code, 1) << second.output();
  EXPECT_NE(second.output().find("port eth0 is served by another vsd (pid " + first_pid + ","),
            std::string::npos)
      << second.output();
  EXPECT_EQ(second.output().find("vsd: ready"), std::string::npos) << second.output();

  // The second is gone: the first's tables are whole and it forwards every datagram once.
  for (const char* table : {"vsd_eth0", "vsd_eth1"}) {
    auto listed = nft(bed, {"list", "table", "netdev", table});
    EXPECT_NE(listed.output.find("vsd pid " + first_pid), std::string::npos) << listed.output;
    EXPECT_NE(listed.output.find("10.20.0.100 . udp . 5353"), std::string::npos) << listed.output;
  }
  EXPECT_EQ(datagrams_received(bed.live().netns("client"), bed.live().netns("rs1"), kVip, 5353), 1)
      << bed.dut().log();
  EXPECT_TRUE(bed.dut().admin({"-L", "-n"}).ok()) << "the first vsd no longer answers";
}

TEST_F(PortClaim, TwoVsdsOnDifferentPortsOfOneNamespaceBothRun) {
  NatBed bed;
  bed.dut().stop();
  const std::string director = bed.live().netns("director");
  HandStartedVsd client_side({"--netns", director, "--socket", socket_path("a"), "--port", "eth0"});
  ASSERT_TRUE(client_side.ready()) << client_side.output();
  HandStartedVsd server_side({"--netns", director, "--socket", socket_path("b"), "--port", "eth1"});
  ASSERT_TRUE(server_side.ready()) << server_side.output();
  EXPECT_TRUE(hooked(bed, "eth0")) << "the second took the first's drop away";
  EXPECT_TRUE(hooked(bed, "eth1"));
  EXPECT_EQ(client_side.stop(), 0);
  EXPECT_FALSE(hooked(bed, "eth0"));
  EXPECT_TRUE(hooked(bed, "eth1")) << "the first took the second's drop away";
  EXPECT_EQ(server_side.stop(), 0);
  EXPECT_FALSE(hooked(bed, "eth1"));
}

// A table as an older vsd left it: every frame on the port dropped, the neighbour cut off.
TEST_F(PortClaim, CleanupRemovesALeftoverTableMadeByHand) {
  NatBed bed;
  bed.dut().stop();
  const std::string director = bed.live().netns("director");
  ASSERT_TRUE(nft(bed, {"add table netdev vsd; add chain netdev vsd ingress0 { type filter hook "
                        "ingress device \"eth0\" priority 0; policy drop; }"})
                  .ok());
  ASSERT_TRUE(nft(bed, {"add table netdev vsd_eth1; add chain netdev vsd_eth1 ingress { type "
                        "filter hook ingress device \"eth1\" priority 0; policy drop; }"})
                  .ok());
  ASSERT_FALSE(bed.live().ping("router", "10.20.0.2", 1)) << "the leftover drops nothing";

  HandStartedVsd eth1_only({"--netns", director, "--cleanup", "eth1"});
  EXPECT_EQ(eth1_only.exit_code(), 0) << eth1_only.output();
  EXPECT_NE(eth1_only.output().find("removed table netdev vsd_eth1"), std::string::npos)
      << eth1_only.output();
  EXPECT_TRUE(has_table(bed, "vsd")) << "a port not named was cleaned";

  HandStartedVsd every_port({"--netns", director, "--cleanup"});
  EXPECT_EQ(every_port.exit_code(), 0) << every_port.output();
  EXPECT_NE(every_port.output().find("removed table netdev vsd, which no live vsd owned (ports: "
                                     "eth0)"),
            std::string::npos)
      << every_port.output();
  EXPECT_FALSE(has_table(bed, "vsd"));
  EXPECT_TRUE(bed.live().ping("router", "10.20.0.2"));

  HandStartedVsd nothing_left({"--netns", director, "--cleanup"});
  EXPECT_EQ(nothing_left.exit_code(), 0);
  EXPECT_EQ(nothing_left.output(), "vsd: no leftover ingress table\n");
}

}  // namespace
}  // namespace vsd
