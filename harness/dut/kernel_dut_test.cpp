// The kernel IPVS adapter without a kernel that has IPVS: its host replaced by a fake that
// records commands, so the reasons it gives for skipping and the commands it would run on a
// kernel with IPVS are both checked here.
#include "dut/kernel_dut.h"

#include <gtest/gtest.h>

#include <set>

#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::dut {
namespace {

topo::Topology shipped(const std::string& name) {
  auto parsed =
      topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + name + ".toml");
  EXPECT_TRUE(parsed.ok()) << (parsed.errors.empty() ? "" : parsed.errors.front());
  return *parsed.topology;
}

// A machine as the test describes it.
struct FakeMachine {
  bool ip_vs_in_netns = false;
  bool ipvsadm_installed = true;
  std::set<std::string> files;
  std::vector<std::string> ran;  // shell-quoted argv, " <<< input" when there was input

  KernelHost host() {
    KernelHost h;
    h.run = [this](const std::vector<std::string>& argv, const std::string& input) {
      ran.push_back(topo::shell_quote(argv) + (input.empty() ? "" : " <<< " + input));
      bool probe = argv.size() > 5 && argv[4] == "test" && argv[6] == "/proc/net/ip_vs";
      if (probe) return Result{ip_vs_in_netns ? 0 : 1, ""};
      return Result{0, ""};
    };
    h.exists = [this](const std::string& path) { return files.contains(path); };
    h.installed = [this](const std::string&) { return ipvsadm_installed; };
    h.kernel_release = "6.18.44-test";
    return h;
  }
};

std::string unavailable_reason_of(FakeMachine& machine) {
  KernelDut dut({}, machine.host());
  try {
    dut.start_in(shipped("nat"), "p-director");
  } catch (const DutUnavailable& e) {
    return e.what();
  }
  return "(started)";
}

TEST(KernelDut, IsUnavailableWithoutProcNetIpVs) {
  FakeMachine machine;
  EXPECT_EQ(unavailable_reason_of(machine),
            "kernel IPVS not available: /proc/net/ip_vs missing (no ip_vs module in kernel "
            "6.18.44-test)");
  // The probe looks from inside the director's namespace, where IPVS state lives.
  ASSERT_FALSE(machine.ran.empty());
  EXPECT_EQ(machine.ran.front(), "ip netns exec p-director test -e /proc/net/ip_vs");
}

TEST(KernelDut, SaysWhenTheModuleIsThereButNotLoaded) {
  FakeMachine machine;
  machine.files.insert("/lib/modules/6.18.44-test/kernel/net/netfilter/ipvs/ip_vs.ko.xz");
  EXPECT_EQ(unavailable_reason_of(machine),
            "kernel IPVS not available: /proc/net/ip_vs missing (the ip_vs module of kernel "
            "6.18.44-test is not loaded: modprobe ip_vs)");
}

TEST(KernelDut, IsUnavailableWithoutIpvsadm) {
  FakeMachine machine;
  machine.ip_vs_in_netns = true;
  machine.ipvsadm_installed = false;
  EXPECT_EQ(unavailable_reason_of(machine),
            "kernel IPVS not available: ipvsadm is not installed (apt-get install ipvsadm)");
}

TEST(KernelDut, NamesEveryMissingPiece) {
  FakeMachine machine;
  machine.ipvsadm_installed = false;
  EXPECT_EQ(unavailable_reason_of(machine),
            "kernel IPVS not available: /proc/net/ip_vs missing (no ip_vs module in kernel "
            "6.18.44-test); ipvsadm is not installed (apt-get install ipvsadm)");
}

TEST(KernelDut, RunsNothingElseWhenUnavailable) {
  FakeMachine machine;
  unavailable_reason_of(machine);
  EXPECT_EQ(machine.ran.size(), 1u);
}

TEST(KernelDut, WhereIpvsIsOwnsTheVipForwardsAndStartsEmpty) {
  FakeMachine machine;
  machine.ip_vs_in_netns = true;
  KernelDut dut({}, machine.host());
  dut.start_in(shipped("nat"), "p-director");
  EXPECT_EQ(machine.ran, (std::vector<std::string>{
                             "ip netns exec p-director test -e /proc/net/ip_vs",
                             "ip netns exec p-director sysctl -qw net.ipv4.ip_forward=1 "
                             "net.ipv4.vs.conntrack=1",
                             "ip -n p-director addr replace 10.20.0.100/32 dev eth0",
                             "ip netns exec p-director sysctl -qw "
                             "net.ipv6.conf.all.forwarding=1",
                             "ip -n p-director addr replace fd00:20::100/128 dev eth0 nodad",
                             "ip netns exec p-director ipvsadm -C",
                         }));
}

TEST(KernelDut, RestoreClearsThenRestoresAndAdminRunsIpvsadmInTheNamespace) {
  FakeMachine machine;
  machine.ip_vs_in_netns = true;
  KernelDut dut({"/opt/ipvsadm"}, machine.host());
  dut.start_in(shipped("dr"), "p-director");
  machine.ran.clear();
  EXPECT_TRUE(dut.restore("-A -t 10.30.0.100:80 -s rr\n").ok());
  EXPECT_TRUE(dut.admin({"-L", "-n"}).ok());
  dut.stop();
  EXPECT_EQ(machine.ran, (std::vector<std::string>{
                             "ip netns exec p-director /opt/ipvsadm -C",
                             "ip netns exec p-director /opt/ipvsadm -R <<< -A -t "
                             "10.30.0.100:80 -s rr\n",
                             "ip netns exec p-director /opt/ipvsadm -L -n",
                             "ip netns exec p-director /opt/ipvsadm -C",
                             "ip -n p-director addr del 10.30.0.100/32 dev eth0",
                             "ip -n p-director addr del fd00:30::100/128 dev eth0",
                         }));
}

TEST(KernelDut, RefusesRulesBeforeItStarted) {
  FakeMachine machine;
  KernelDut dut({}, machine.host());
  EXPECT_FALSE(dut.restore("-C\n").ok());
  EXPECT_FALSE(dut.admin({"-L"}).ok());
  EXPECT_TRUE(machine.ran.empty());
}

TEST(KernelDut, ClaimsWhatMainlineHasAndNoMore) {
  KernelDut dut({}, FakeMachine().host());
  for (const char* mode : {"nat", "dr", "tun"}) EXPECT_TRUE(dut.claims_mode(mode)) << mode;
  EXPECT_FALSE(dut.claims_mode("fullnat"));
  for (const char* s :
       {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"})
    EXPECT_TRUE(dut.claims_scheduler(s)) << s;
  EXPECT_FALSE(dut.claims_scheduler("twos"));
  EXPECT_FALSE(dut.claims_scheduler("nope"));
}

TEST(KernelDutVipInterface, IsTheDirectorsInterfaceOnTheClientsSide) {
  EXPECT_EQ(interface_towards_client(shipped("nat")), "eth0");
  EXPECT_EQ(interface_towards_client(shipped("dr")), "eth0");
  EXPECT_EQ(interface_towards_client(shipped("tun")), "eth0");
  EXPECT_EQ(interface_towards_client(shipped("fullnat")), "eth0");
  // A second director, found by its role.
  EXPECT_EQ(interface_towards_client(shipped("sync"), "director2"), "eth0");
}

TEST(KernelDutVipInterface, FollowsTheWiringNotTheInterfaceOrder) {
  auto parsed = topo::parse_topology(R"(
name = "swapped"
[[node]]
name = "c"
role = "client"
  [[node.interface]]
  name = "eth0"
[[node]]
name = "d"
role = "director"
  [[node.interface]]
  name = "inside"
  [[node.interface]]
  name = "outside"
[[node]]
name = "r"
role = "rs1"
  [[node.interface]]
  name = "eth0"
[[link]]
a = "d:inside"
b = "r:eth0"
[[link]]
a = "c:eth0"
b = "d:outside"
)",
                                     "swapped.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.errors.front();
  EXPECT_EQ(interface_towards_client(*parsed.topology), "outside");
}

}  // namespace
}  // namespace vslab::dut
