// The external adapter against a box the harness did not make: the test builds a namespace of
// its own, wires it to interfaces of the root namespace (one per director interface, see
// hand_started_box.h) and starts vsd in it by hand, as a person would on a real box. Then
// topologies/nat.toml comes up around those interfaces, rules go in through the config's command
// templates, and a client's SYN must reach a real server rewritten. Afterwards the interfaces are
// back as they were, also when the run's owner was killed and gc cleaned up.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <tins/tins.h>

#include "dut/dut.h"
#include "dut/external_dut.h"
#include "dut/hand_started_box.h"
#include "dut/schedulers.h"
#include "expect/expectation.h"
#include "frames/frame_builder.h"
#include "os/child_process.h"
#include "os/unique_fd.h"
#include "port/port.h"
#include "topology/handover.h"
#include "topology/live.h"
#include "topology/parse.h"
#include "topology/runs.h"

namespace vslab::dut {
namespace {

using namespace std::chrono_literals;

topo::Topology mode_topology(const std::string& mode) {
  auto parsed =
      topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + mode + ".toml");
  if (!parsed.ok()) throw std::runtime_error(parsed.errors.front());
  return *parsed.topology;
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
    topology_ = mode_topology("nat");
    box_ = std::make_unique<HandStartedBox>(*topology_.find_role("director"));
    dut_ = external_dut(write_external_config(*box_));
    outside_ = box_->root_interface("eth0");
    inside_ = box_->root_interface("eth1");
    outside_before_ = topo::read_link_state(outside_).value();
    inside_before_ = topo::read_link_state(inside_).value();
  }
  void TearDown() override {
    if (HasFailure() && box_) std::cerr << "vsd log:\n" << box_->log();
  }

  void expect_ports_given_back() {
    auto outside = topo::read_link_state(outside_);
    auto inside = topo::read_link_state(inside_);
    ASSERT_TRUE(outside.has_value()) << outside_ << " was not given back";
    ASSERT_TRUE(inside.has_value()) << inside_ << " was not given back";
    EXPECT_EQ(outside->mac, outside_before_.mac);
    EXPECT_EQ(outside->mtu, outside_before_.mtu);
    EXPECT_TRUE(outside->up);
    EXPECT_EQ(outside->offloads, outside_before_.offloads);
    EXPECT_EQ(*inside, inside_before_);
  }

  topo::Topology topology_;
  std::unique_ptr<HandStartedBox> box_;  // made first, so it goes last
  std::unique_ptr<Dut> dut_;
  std::string outside_, inside_;  // the root-namespace ends for director:eth0 and eth1
  topo::LinkState outside_before_, inside_before_;
};

TEST_F(ExternalDutWithHandStartedVsd, ForwardsAClientSynToARealServerRewritten) {
  {
    topo::LiveTopology live(topology_, dut_->bring_up_options());
    EXPECT_FALSE(topo::read_link_state(outside_)) << "lent to the topology, not here any more";
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
    auto syn = frames::frame()
                   .eth(client.mac(), live.mac("router", "eth0"))
                   .ipv4("10.10.0.2", "10.20.0.100")
                   .ttl(64)
                   .id(0x4242)
                   .tcp(40000, 80)
                   .flags(frames::SYN)
                   .pdu();
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
  auto ready = os::make_pipe(O_CLOEXEC);
  const int tell = ready.second.get();
  auto owner = os::ChildProcess::fork_running([&] {
    // A run that dies with its topology up: no destructor, no teardown.
    char said = 'f';
    try {
      topo::LiveTopology live(topology_, dut_->bring_up_options());
      said = 'u';
      [[maybe_unused]] auto n = write(tell, &said, 1);
      raise(SIGKILL);
    } catch (...) {
    }
    [[maybe_unused]] auto n = write(tell, &said, 1);
    return 1;
  });
  const pid_t owner_pid = owner.pid();
  ready.second.reset();
  char said = 0;
  ASSERT_EQ(read(ready.first.get(), &said, 1), 1);
  owner.wait();
  ASSERT_EQ(said, 'u') << "the topology did not come up in the child";
  EXPECT_FALSE(topo::read_link_state(outside_)) << "still lent to the dead run's namespace";

  std::vector<std::string> errors;
  topo::collect_garbage(false, errors);
  for (const auto& e : errors) ADD_FAILURE() << "gc: " << e;
  expect_ports_given_back();
  for (const auto& run : topo::list_runs())
    EXPECT_NE(run.record.owner_pid, owner_pid) << "run " << run.record.prefix << " left behind";
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

// The box stands for any topology's director: one interface here per director interface (TUN
// and DR have one, NAT and FULLNAT two), and a config that maps each to it and claims all.
TEST(HandStartedBox, WiresEveryDirectorInterfaceOfEachModeAndWritesItsConfig) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to make namespaces";
  for (const std::string mode : {"nat", "dr", "tun", "fullnat"}) {
    SCOPED_TRACE(mode);
    auto topology = mode_topology(mode);
    const auto& director = *topology.find_role("director");
    std::map<std::string, std::string> ports;
    {
      HandStartedBox box(director);
      EXPECT_TRUE(box.vsd_running());
      ASSERT_EQ(box.ports().size(), director.interfaces.size());
      for (const auto& iface : director.interfaces) {
        const auto& here = box.root_interface(iface.name);
        EXPECT_LE(here.size(), 15u) << here;
        auto state = topo::read_link_state(here);
        ASSERT_TRUE(state.has_value()) << here << " is not in this namespace";
        EXPECT_TRUE(state->up) << here;
        auto addresses =
            topo::run_command({"ip", "-n", box.netns(), "-br", "addr", "show", "dev", iface.name});
        for (const auto& a : iface.addresses)
          EXPECT_NE(addresses.output.find(a.str()), std::string::npos) << addresses.output;
      }
      auto routes = topo::run_command({"ip", "-n", box.netns(), "route", "show", "default"});
      EXPECT_NE(routes.output.find("via " + *director.routes.front().via), std::string::npos)
          << routes.output;
      auto config = read_external_config(write_external_config(box));
      for (const auto& [ifname, here] : box.ports())
        EXPECT_EQ(config.ports.at(ifname).interface, here);
      EXPECT_EQ(config.modes, (std::set<std::string>{"nat", "dr", "tun", "fullnat"}));
      EXPECT_EQ(config.schedulers.size(), kKernel61Schedulers.size() + 1);
      ExternalDut dut(config);
      auto listing = dut.admin({"-L", "-n"});
      EXPECT_TRUE(listing.ok()) << listing.output;
      ports = box.ports();
    }
    for (const auto& [ifname, here] : ports)
      EXPECT_FALSE(topo::read_link_state(here)) << here << " left behind";
  }
}

}  // namespace
}  // namespace vslab::dut
