// Every shipped topology parses and is wired as its LVS mode is wired in practice.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "topology/parse.h"

namespace vslab::topo {
namespace {

Topology load(const std::string& name) {
  auto r = parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + name + ".toml");
  std::string errors;
  for (const auto& e : r.errors) errors += e + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  return r.ok() ? *r.topology : Topology{};
}

std::size_t real_servers(const Topology& t) {
  return std::count_if(t.nodes.begin(), t.nodes.end(),
                       [](const Node& n) { return n.role.rfind("rs", 0) == 0; });
}

bool on_bridge(const Topology& t, const std::string& node) {
  for (const auto& b : t.bridges)
    for (const auto& p : b.ports)
      if (p.node == node) return true;
  return false;
}

bool has_sysctl(const Node& n, const std::string& key, const std::string& value) {
  return std::find(n.sysctls.begin(), n.sysctls.end(), std::pair{key, value}) != n.sysctls.end();
}

class ModeTopology : public testing::TestWithParam<const char*> {};

TEST_P(ModeTopology, HasClientDirectorAndThreeRealServers) {
  auto t = load(GetParam());
  EXPECT_EQ(t.lvs.mode, GetParam());
  ASSERT_TRUE(t.lvs.vip.has_value());
  EXPECT_NE(t.find_role("client"), nullptr);
  ASSERT_NE(t.find_role("director"), nullptr);
  EXPECT_GE(real_servers(t), 3u);
  // docs/design.md: the builtin director forwards in user space, never its namespace's kernel.
  EXPECT_TRUE(has_sysctl(*t.find_role("director"), "net.ipv4.ip_forward", "0"));
  EXPECT_FALSE(t.reachability.empty());
}

INSTANTIATE_TEST_SUITE_P(Topologies, ModeTopology, testing::Values("nat", "dr", "tun", "fullnat"));

// Connection synchronization: two directors on both segments, neither forwarding in its
// namespace's kernel, the real servers' gateway the DIP of one of them.
TEST(SyncTopology, TwoDirectorsShareBothSegments) {
  auto t = load("sync");
  EXPECT_EQ(t.lvs.mode, "nat");
  for (const char* role : {"director", "director2"}) {
    const Node* d = t.find_role(role);
    ASSERT_NE(d, nullptr) << role;
    EXPECT_TRUE(has_sysctl(*d, "net.ipv4.ip_forward", "0")) << role;
    EXPECT_EQ(d->interfaces.size(), 2u) << role;
  }
  ASSERT_EQ(t.bridges.size(), 2u);
  for (const auto& bridge : t.bridges) {
    std::set<std::string> nodes;
    for (const auto& port : bridge.ports) nodes.insert(port.node);
    EXPECT_TRUE(nodes.count("director") && nodes.count("director2")) << bridge.name;
  }
  EXPECT_EQ(real_servers(t), 2u);
}

// Issue 24: every topology carries IPv6 beside IPv4, so the matrix's IPv6 cells have a bed.
class DualStackTopology : public testing::TestWithParam<const char*> {};

TEST_P(DualStackTopology, EveryInterfaceRouteAndReachHasItsIpv6Twin) {
  auto t = load(GetParam());
  if (std::string(GetParam()) != "selftest") {
    ASSERT_TRUE(t.lvs.vip6.has_value());
  }
  for (const auto& node : t.nodes) {
    for (const auto& iface : node.interfaces) {
      std::size_t v4 = 0, v6 = 0;
      for (const auto& a : iface.addresses) ++(a.is_v6 ? v6 : v4);
      EXPECT_EQ(v4, v6) << node.name << ":" << iface.name;
    }
    std::size_t v4_routes = 0, v6_routes = 0;
    for (const auto& r : node.routes) ++(r.is_v6 ? v6_routes : v4_routes);
    EXPECT_EQ(v4_routes, v6_routes) << node.name;
    if (node.role == "router") {
      EXPECT_TRUE(has_sysctl(node, "net.ipv6.conf.all.forwarding", "1")) << node.name;
    }
  }
  std::size_t v6_reach = 0;
  for (const auto& r : t.reachability) v6_reach += r.to.find(':') != std::string::npos;
  EXPECT_EQ(v6_reach * 2, t.reachability.size());
}

INSTANTIATE_TEST_SUITE_P(Topologies, DualStackTopology,
                         testing::Values("selftest", "nat", "dr", "tun", "fullnat"));

TEST(DrTopology, RealServersShareTheDirectorsSegmentAndHideTheVip) {
  auto t = load("dr");
  ASSERT_TRUE(on_bridge(t, "director"));
  for (const char* rs : {"rs1", "rs2", "rs3"}) {
    const Node* n = t.find_node(rs);
    ASSERT_NE(n, nullptr);
    EXPECT_TRUE(on_bridge(t, rs));
    ASSERT_EQ(n->loopback_addresses.size(), 2u);
    EXPECT_EQ(n->loopback_addresses[0].str(), *t.lvs.vip + "/32");
    EXPECT_EQ(n->loopback_addresses[1].str(), t.lvs.vip6.value_or("?") + "/128");
    EXPECT_TRUE(has_sysctl(*n, "net.ipv4.conf.all.arp_ignore", "1"));
    EXPECT_TRUE(has_sysctl(*n, "net.ipv4.conf.all.arp_announce", "2"));
    // Replies go through the router, not the director.
    ASSERT_FALSE(n->routes.empty());
    EXPECT_EQ(n->routes[0].via.value_or(""), "10.30.0.1");
  }
}

TEST(TunTopology, RealServersAreBehindARouterNotOnTheDirectorsSegment) {
  auto t = load("tun");
  for (const char* rs : {"rs1", "rs2", "rs3"}) {
    const Node* n = t.find_node(rs);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->loopback_addresses.at(0).str(), *t.lvs.vip + "/32");
    for (const auto& b : t.bridges)
      for (const auto& p : b.ports)
        EXPECT_NE(p.node, "director") << "director on bridge " << b.name;
  }
}

TEST(NatTopology, RealServersUseTheDirectorAsGateway) {
  auto t = load("nat");
  const auto& dip = t.find_node("director")->find_interface("eth1")->addresses.at(0).address;
  for (const char* rs : {"rs1", "rs2", "rs3"})
    EXPECT_EQ(t.find_node(rs)->routes.at(0).via.value_or(""), dip) << rs;
}

TEST(FullnatTopology, HasALocalAddressPoolAndNoGatewayOnTheRealServers) {
  auto t = load("fullnat");
  EXPECT_EQ(t.lvs.local_addresses.size(), 2u);
  EXPECT_EQ(t.lvs.local_addresses6.size(), 2u);
  for (const char* rs : {"rs1", "rs2", "rs3"}) EXPECT_TRUE(t.find_node(rs)->routes.empty()) << rs;
}

TEST(EcmpTopology, RouterSpreadsTheVipOverEveryDirectorByTheL4Hash) {
  auto t = load("ecmp");
  EXPECT_EQ(t.lvs.mode, "dr");
  const Node* router = t.find_role("router");
  ASSERT_NE(router, nullptr);
  EXPECT_TRUE(has_sysctl(*router, "net.ipv4.fib_multipath_hash_policy", "1"));
  std::vector<std::string> director_addresses;
  for (const auto& n : t.nodes) {
    if (n.role.rfind("director", 0) != 0) continue;
    EXPECT_TRUE(on_bridge(t, n.name)) << n.name;
    EXPECT_TRUE(has_sysctl(n, "net.ipv4.ip_forward", "0")) << n.name;
    director_addresses.push_back(n.interfaces.at(0).addresses.at(0).address);
  }
  EXPECT_EQ(director_addresses.size(), 3u);
  const auto to_vip = std::find_if(router->routes.begin(), router->routes.end(),
                                   [&](const Route& r) { return r.to == *t.lvs.vip + "/32"; });
  ASSERT_NE(to_vip, router->routes.end());
  EXPECT_EQ(to_vip->nexthops, director_addresses);
  for (const char* rs : {"rs1", "rs2", "rs3"}) {
    const Node* n = t.find_node(rs);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->loopback_addresses.at(0).str(), *t.lvs.vip + "/32");
    EXPECT_TRUE(has_sysctl(*n, "net.ipv4.conf.all.arp_ignore", "1"));
  }
}

TEST(SelftestTopology, IsClientRouterServer) {
  auto t = load("selftest");
  EXPECT_NE(t.find_role("client"), nullptr);
  EXPECT_NE(t.find_role("router"), nullptr);
  EXPECT_NE(t.find_role("server"), nullptr);
}

}  // namespace
}  // namespace vslab::topo
