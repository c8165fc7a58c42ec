// The external adapter against a box the harness did not make: the test builds a namespace of
// its own, wires it to two interfaces of the root namespace (xd-ext-PID, xd-int-PID) and starts vsd
// in it by hand, as a person would on a real box. Then topologies/nat.toml comes up around
// those interfaces, rules go in through the config's command templates, and a client's SYN
// must reach a real server rewritten. Afterwards the interfaces are back as they were, also
// when the run's owner was killed and gc cleaned up.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <tins/tins.h>

#include "dut/dut.h"
#include "expect/expectation.h"
#include "port/port.h"
#include "topology/handover.h"
#include "topology/live.h"
#include "topology/parse.h"
#include "topology/runs.h"

namespace vslab::dut {
namespace {

using namespace std::chrono_literals;

// The interfaces the box's config names, here in the root namespace. The pid keeps tests that
// CTest runs in parallel (each in its own process) off each other's interfaces.
const std::string kOutside = fmt::format("xd-ext-{}", getpid());  // stands for director:eth0
const std::string kInside = fmt::format("xd-int-{}", getpid());   // stands for director:eth1

topo::CommandResult run(const std::vector<std::string>& argv) {
  return topo::run_command(argv);
}

void must(const std::vector<std::string>& argv) {
  auto result = run(argv);
  if (!result.ok()) throw std::runtime_error(topo::shell_quote(argv) + " failed: " + result.output);
}

// vsd in a namespace that only this test knows, with eth0/eth1 there paired with
// xd-ext-PID/xd-int-PID here, addressed and routed as the topology's director node says.
class HandStartedBox {
 public:
  explicit HandStartedBox(const topo::Node& director)
      : netns_(fmt::format("xdut-{}", getpid())), dir_("/run/" + netns_) {
    for (const auto& name : {kOutside, kInside})
      if (topo::read_link_state(name))
        throw std::runtime_error(
            fmt::format("{} exists already (left by a killed run of this test?): remove it with "
                        "`ip link del {}`",
                        name, name));
    try {
      build(director);
      start_vsd();
    } catch (...) {
      clean_up();
      throw;
    }
  }
  ~HandStartedBox() { clean_up(); }
  HandStartedBox(const HandStartedBox&) = delete;
  HandStartedBox& operator=(const HandStartedBox&) = delete;

  std::string socket() const { return dir_ + "/vsd.sock"; }
  std::string dir() const { return dir_; }
  std::string mac(const std::string& ifname) const {
    auto shown =
        run({"ip", "netns", "exec", netns_, "cat", "/sys/class/net/" + ifname + "/address"});
    return shown.output.substr(0, shown.output.find('\n'));
  }
  std::string log() const {
    std::ifstream in(dir_ + "/vsd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  void build(const topo::Node& director) {
    std::filesystem::create_directories(dir_);
    must({"ip", "netns", "add", netns_});
    made_netns_ = true;
    must({"ip", "netns", "exec", netns_, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
          "net.ipv6.conf.default.disable_ipv6=1"});
    must({"ip", "-n", netns_, "link", "set", "lo", "up"});
    for (const auto& [here, there] :
         {std::pair{kOutside, std::string("eth0")}, std::pair{kInside, std::string("eth1")}}) {
      must({"ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", netns_});
      // As a NIC left up by its owner: giving it back must bring it up again.
      must({"ip", "link", "set", here, "up"});
    }
    for (const auto& iface : director.interfaces) {
      must({"ip", "netns", "exec", netns_, "ethtool", "-K", iface.name, "tx", "off", "rx", "off",
            "tso", "off", "gso", "off", "gro", "off"});
      for (const auto& address : iface.addresses)
        must({"ip", "-n", netns_, "addr", "add", address.str(), "dev", iface.name});
      must({"ip", "-n", netns_, "link", "set", iface.name, "up"});
    }
    for (const auto& [key, value] : director.sysctls)
      must({"ip", "netns", "exec", netns_, "sysctl", "-qw", key + "=" + value});
    for (const auto& route : director.routes) {
      std::vector<std::string> argv{"ip", "-n", netns_, "route", "add", route.to};
      if (route.via) argv.insert(argv.end(), {"via", *route.via});
      if (route.dev) argv.insert(argv.end(), {"dev", *route.dev});
      must(argv);
    }
  }

  void start_vsd() {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    int log_fd = open((dir_ + "/vsd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<std::string> argv{"ip",       "netns",  "exec",   netns_, VSLAB_VSD_BINARY,
                                  "--socket", socket(), "--port", "eth0", "--port",
                                  "eth1"};
    vsd_pid_ = fork();
    if (vsd_pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(log_fd);
    std::string said;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (said.find("vsd: ready") == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd pfd{out[0], POLLIN, 0};
      char buffer[256];
      ssize_t n = 0;
      if (left.count() > 0 && poll(&pfd, 1, int(left.count())) > 0)
        n = read(out[0], buffer, sizeof buffer);
      if (n <= 0) {
        close(out[0]);
        throw std::runtime_error("vsd did not say it was ready:\n" + log());
      }
      said.append(buffer, size_t(n));
    }
    close(out[0]);
  }

  void clean_up() {
    if (vsd_pid_ > 0) {
      kill(vsd_pid_, SIGTERM);
      int status = 0;
      waitpid(vsd_pid_, &status, 0);
      vsd_pid_ = -1;
    }
    // The veths go with the namespace their other ends are in.
    if (made_netns_) topo::delete_netns(netns_);
    made_netns_ = false;
    for (const auto& name : {kOutside, kInside})
      if (topo::read_link_state(name)) run({"ip", "link", "del", name});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string netns_, dir_;
  bool made_netns_ = false;
  pid_t vsd_pid_ = -1;
};

topo::Topology nat_topology() {
  auto parsed = topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/nat.toml");
  if (!parsed.ok()) throw std::runtime_error(parsed.errors.front());
  return *parsed.topology;
}

// The config a person would write for the box above.
std::string write_config(const HandStartedBox& box) {
  auto path = box.dir() + "/dut.toml";
  std::ofstream(path) << fmt::format(R"([dut]
name = "vsd by hand"
restore = "{0} --socket {1} -R"
admin = "{0} --socket {1} {{args}}"
[ports]          # topology director interface -> existing interface in the root namespace
eth0 = "{2}"
eth1 = "{3}"
[claims]
modes = ["nat", "dr", "tun", "fullnat"]
schedulers = ["rr", "wrr", "lc", "wlc"]
)",
                                     VSLAB_VSADM_BINARY, box.socket(), kOutside, kInside);
  return path;
}

std::unique_ptr<Dut> external_dut(const std::string& config) {
  DutSpec spec;
  spec.kind = "external";
  spec.config_file = config;
  return make_dut(spec);
}

class ExternalDutWithHandStartedVsd : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to make namespaces";
    topology_ = nat_topology();
    box_ = std::make_unique<HandStartedBox>(*topology_.find_role("director"));
    dut_ = external_dut(write_config(*box_));
    outside_before_ = topo::read_link_state(kOutside).value();
    inside_before_ = topo::read_link_state(kInside).value();
  }
  void TearDown() override {
    if (HasFailure() && box_) std::cerr << "vsd log:\n" << box_->log();
  }

  void expect_ports_given_back() {
    auto outside = topo::read_link_state(kOutside);
    auto inside = topo::read_link_state(kInside);
    ASSERT_TRUE(outside.has_value()) << kOutside << " was not given back";
    ASSERT_TRUE(inside.has_value()) << kInside << " was not given back";
    EXPECT_EQ(outside->mac, outside_before_.mac);
    EXPECT_EQ(outside->mtu, outside_before_.mtu);
    EXPECT_TRUE(outside->up);
    EXPECT_EQ(outside->offloads, outside_before_.offloads);
    EXPECT_EQ(*inside, inside_before_);
  }

  topo::Topology topology_;
  std::unique_ptr<HandStartedBox> box_;  // made first, so it goes last
  std::unique_ptr<Dut> dut_;
  topo::LinkState outside_before_, inside_before_;
};

TEST_F(ExternalDutWithHandStartedVsd, ForwardsAClientSynToARealServerRewritten) {
  {
    topo::LiveTopology live(topology_, dut_->bring_up_options());
    EXPECT_FALSE(topo::read_link_state(kOutside)) << "lent to the topology, not here any more";
    EXPECT_THROW(live.netns("director"), std::logic_error);
    dut_->start(live);
    auto restored = dut_->restore(
        "-A -t 10.20.0.100:80 -s rr\n"
        "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n");
    ASSERT_TRUE(restored.ok()) << restored.output;
    // The box's own MACs, learned from the segments it is wired to.
    EXPECT_EQ(live.mac("director", "eth0"), box_->mac("eth0"));
    EXPECT_EQ(live.mac("director", "eth1"), box_->mac("eth1"));

    port::Port client(live.netns("client"), "eth0", "client-eth0");
    port::Port rs1(live.netns("rs1"), "eth0", "rs1-eth0");
    Tins::TCP tcp(80, 40000);
    tcp.flags(Tins::TCP::SYN);
    Tins::IP ip("10.20.0.100", "10.10.0.2");
    ip.ttl(64);
    ip.id(0x4242);
    auto syn = Tins::EthernetII(live.mac("router", "eth0"), client.mac()) / ip / tcp;
    client.send(syn);

    // NAT (spec section 2): DNAT to RIP:rport, two hops (router, director), the director's
    // inner port towards rs1.
    expect::FrameExpectation want(syn);
    want.eth_src(box_->mac("eth1")).eth_dst(rs1.mac()).ip_dst("192.168.10.11").ttl(62).dport(8080);
    std::string closest;
    bool arrived = rs1.wait_until(
        [&](std::vector<port::CapturedFrame>& frames) {
          for (const auto& f : frames) {
            auto comparison = want.compare(f.bytes);
            if (comparison.ok()) return true;
            closest = comparison.diff();
          }
          return false;
        },
        3s);
    EXPECT_TRUE(arrived) << "no rewritten SYN at rs1; last frame there:\n" << closest;

    auto listing = dut_->admin({"-L", "-n"});
    ASSERT_TRUE(listing.ok()) << listing.output;
    EXPECT_NE(listing.output.find("192.168.10.11:8080"), std::string::npos) << listing.output;
    dut_->stop();
    auto cleared = dut_->admin({"-L", "-n"});
    EXPECT_EQ(cleared.output.find("10.20.0.100:80"), std::string::npos) << cleared.output;
  }
  expect_ports_given_back();
}

TEST_F(ExternalDutWithHandStartedVsd, GcGivesThePortsBackAfterTheOwnerWasKilled) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t owner = fork();
  if (owner == 0) {
    // A run that dies with its topology up: no destructor, no teardown.
    char said = 'f';
    try {
      topo::LiveTopology live(topology_, dut_->bring_up_options());
      said = 'u';
      [[maybe_unused]] auto n = write(ready[1], &said, 1);
      raise(SIGKILL);
    } catch (...) {
    }
    [[maybe_unused]] auto n = write(ready[1], &said, 1);
    _exit(1);
  }
  close(ready[1]);
  char said = 0;
  ASSERT_EQ(read(ready[0], &said, 1), 1);
  close(ready[0]);
  int status = 0;
  waitpid(owner, &status, 0);
  ASSERT_EQ(said, 'u') << "the topology did not come up in the child";
  EXPECT_FALSE(topo::read_link_state(kOutside)) << "still lent to the dead run's namespace";

  std::vector<std::string> errors;
  topo::collect_garbage(false, errors);
  for (const auto& e : errors) ADD_FAILURE() << "gc: " << e;
  expect_ports_given_back();
  for (const auto& run : topo::list_runs())
    EXPECT_NE(run.record.owner_pid, owner) << "run " << run.record.prefix << " left behind";
}

TEST_F(ExternalDutWithHandStartedVsd, RefusesAPortThatIsNotHereBeforeChangingAnything) {
  auto options = dut_->bring_up_options();
  options.external_director_ports["eth1"] = "xd-nope";
  options.prefix = topo::new_run_prefix();
  try {
    topo::LiveTopology live(topology_, options);
    FAIL() << "came up without its port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "external port 'xd-nope' (for director:eth1) is not an interface of this "
                  "namespace"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(topo::netns_exists(topo::Naming{options.prefix}.node_netns("router")));
  expect_ports_given_back();
}

}  // namespace
}  // namespace vslab::dut
