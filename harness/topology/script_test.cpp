// The commands that build a topology, checked as a person would read them: namespaces first,
// veths created directly inside their namespaces (nothing in the root namespace), offloads
// off, addresses, sysctls after the interfaces exist, routes last.
#include "topology/script.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::topo {
namespace {

const char* kTwoHostsAndABridge = R"(
name = "t"
[[node]]
name = "a"
routes = [{ to = "default", via = "10.0.0.2" }]
sysctls = { "net.ipv4.conf.eth0.arp_ignore" = 1 }
  [[node.interface]]
  name = "eth0"
  addresses = ["10.0.0.1/24"]
  mtu = 9000
[[node]]
name = "b"
loopback = ["10.9.9.9/32"]
routes = [{ to = "10.7.0.0/24", nexthops = ["10.0.0.1", "10.0.0.3"], dev = "eth0" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["10.0.0.2/24"]
  offloads = { gro = true }
  [[node.interface]]
  name = "eth1"
  mac = "02:aa:bb:cc:dd:ee"
  addresses = ["10.1.0.1/24", "fd00::1/64"]
[[node]]
name = "c"
  [[node.interface]]
  name = "eth0"
  addresses = ["10.1.0.2/24"]
[[link]]
a = "a:eth0"
b = "b:eth0"
[[bridge]]
name = "seg"
ports = ["b:eth1", "c:eth0"]
)";

std::vector<std::string> lines(const Topology& t) {
  std::vector<std::string> out;
  for (const auto& c : bring_up_commands(t, Naming{"p"})) out.push_back(shell_quote(c.argv));
  return out;
}

std::size_t position(const std::vector<std::string>& all, const std::string& line) {
  auto it = std::find(all.begin(), all.end(), line);
  EXPECT_NE(it, all.end()) << "missing: " << line;
  return static_cast<std::size_t>(it - all.begin());
}

Topology parsed() {
  auto r = parse_topology(kTwoHostsAndABridge, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0]);
  return *r.topology;
}

TEST(Script, CreatesEveryNamespaceFirst) {
  auto all = lines(parsed());
  EXPECT_EQ(position(all, "ip netns add p-a"), 0u);
  auto last_ns = std::max({position(all, "ip netns add p-b"), position(all, "ip netns add p-c"),
                           position(all, "ip netns add p.sw")});
  EXPECT_LT(last_ns, position(all, "ip -n p-a link add eth0 type veth peer name eth0 netns p-b"));
}

TEST(Script, MakesVethsInsideTheirNamespacesAndBridgePortsInTheSwitchNamespace) {
  auto all = lines(parsed());
  position(all, "ip -n p-a link add eth0 type veth peer name eth0 netns p-b");
  position(all, "ip -n p.sw link add seg type bridge stp_state 0");
  position(all, "ip -n p-b link add eth1 type veth peer name b0p0 netns p.sw");
  position(all, "ip -n p.sw link set b0p1 master seg mtu 1500");
  for (const auto& l : all) {
    if (l.find(" link add ") != std::string::npos) {
      EXPECT_EQ(l.rfind("ip -n ", 0), 0u) << l;
    }
  }
}

TEST(Script, FarEndsAreTheLinkPeerAndTheBridgePort) {
  auto ends = far_ends(parsed(), Naming{"p"}, "b");
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(ends[0].ifname, "eth0");
  EXPECT_EQ(ends[0].netns, "p-a");
  EXPECT_EQ(ends[0].far_ifname, "eth0");
  EXPECT_EQ(ends[0].peer, "a:eth0");
  EXPECT_EQ(ends[1].ifname, "eth1");
  EXPECT_EQ(ends[1].netns, "p.sw");
  EXPECT_EQ(ends[1].far_ifname, "b0p0");
  EXPECT_EQ(ends[1].peer, "bridge seg");
  EXPECT_TRUE(far_ends(parsed(), Naming{"p"}, "nobody").empty());
}

TEST(Script, SetsMacsMtuAndOffloads) {
  auto all = lines(parsed());
  // Generated MACs follow the positions in the file: node 1 interface 1 is 02:76:73:01:01:00.
  position(all, "ip -n p-a link set eth0 address 02:76:73:01:01:00 mtu 9000");
  position(all, "ip -n p-b link set eth1 address 02:aa:bb:cc:dd:ee mtu 1500");
  position(all, "ip netns exec p-a ethtool -K eth0 tx off rx off tso off gso off gro off");
  position(all, "ip netns exec p-b ethtool -K eth0 tx off rx off tso off gso off gro on");
}

TEST(Script, AddressesThenSysctlsThenRoutes) {
  auto all = lines(parsed());
  auto addr = position(all, "ip -n p-a addr add 10.0.0.1/24 dev eth0");
  auto up = position(all, "ip -n p-a link set eth0 up");
  auto sysctl = position(all, "ip netns exec p-a sysctl -qw net.ipv4.conf.eth0.arp_ignore=1");
  auto route = position(all, "ip -n p-a route add default via 10.0.0.2");
  EXPECT_LT(addr, up);
  EXPECT_LT(up, sysctl);
  EXPECT_LT(sysctl, route);
  position(all, "ip -n p-b addr add 10.9.9.9/32 dev lo");
  position(all, "ip -n p-b addr add fd00::1/64 dev eth1 nodad");
}

TEST(Script, MultipathRouteGivesEachNextHopItsDevice) {
  position(lines(parsed()),
           "ip -n p-b route add 10.7.0.0/24 nexthop via 10.0.0.1 dev eth0 nexthop via 10.0.0.3 "
           "dev eth0");
}

TEST(Script, TurnsIpv6OffOnlyWhereNoIpv6AddressIsConfigured) {
  auto all = lines(parsed());
  const std::string off =
      " sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1";
  position(all, "ip netns exec p-a" + off);
  position(all, "ip netns exec p-c" + off);
  EXPECT_EQ(std::count(all.begin(), all.end(), "ip netns exec p-b" + off), 0);
}

TEST(Script, TurnsIpv6OnWithoutDadBeforeTheInterfacesOfAnIpv6Node) {
  auto all = lines(parsed());
  // On explicitly (whatever the host's default), DAD off before the veths exist, so link-local
  // addresses are not tentative either.
  auto on = position(all,
                     "ip netns exec p-b sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "
                     "net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.accept_dad=0 "
                     "net.ipv6.conf.default.accept_dad=0");
  auto address = position(all, "ip -n p-b addr add fd00::1/64 dev eth1 nodad");
  EXPECT_LT(on, address);
  for (const auto& line : all) {
    if (line.find(" link add ") != std::string::npos && line.find("p-b") != std::string::npos) {
      EXPECT_LT(on, position(all, line)) << line;
    }
  }
  EXPECT_EQ(std::count_if(all.begin(), all.end(),
                          [](const std::string& l) {
                            return l.find("p-a sysctl -qw net.ipv6.conf.all.disable_ipv6=0") !=
                                   std::string::npos;
                          }),
            0);
}

TEST(Script, TextSaysHowToRemoveIt) {
  auto text = bring_up_script(parsed(), Naming{"p"});
  EXPECT_EQ(text.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(text.find("set -e\n"), std::string::npos);
  EXPECT_NE(text.find("#   ip netns delete p.sw\n"), std::string::npos);
}

TEST(Script, ShellQuoteLeavesPlainWordsAndQuotesTheRest) {
  EXPECT_EQ(shell_quote({"ip", "-n", "x", "addr"}), "ip -n x addr");
  EXPECT_EQ(shell_quote({"echo", "a b", "it's"}), "echo 'a b' 'it'\\''s'");
}

}  // namespace
}  // namespace vslab::topo
