// parse_test.cpp: topology files the parser must accept, with the values it must produce, and
// one file per kind of mistake with the exact place and words it must report. Expected
// positions are counted by hand from the texts below (line 1 is the line R"( opens).
#include "topology/parse.h"

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace vslab::topo {
namespace {

// The source name every inline text is parsed under.
constexpr char kFile[] = "t.toml";

ParseResult parse(std::string_view text) {
  return parse_topology(text, kFile);
}

std::string all_errors(const ParseResult& result) {
  std::string lines;
  for (const auto& error : result.errors) lines += "\n  " + error;
  return lines;
}

// Parsing failed with exactly one error, which starts with `where` ("t.toml:6:1: ") and
// contains each of `words`.
testing::AssertionResult fails_with(const ParseResult& result, std::string_view where,
                                    std::initializer_list<std::string_view> words) {
  if (result.topology) return testing::AssertionFailure() << "a topology was returned";
  if (result.errors.size() != 1)
    return testing::AssertionFailure()
           << "want 1 error, got " << result.errors.size() << ":" << all_errors(result);
  const std::string& error = result.errors.front();
  if (!error.starts_with(where))
    return testing::AssertionFailure() << "want an error at '" << where << "', got: " << error;
  for (std::string_view word : words)
    if (error.find(word) == std::string::npos)
      return testing::AssertionFailure() << "want '" << word << "' in: " << error;
  return testing::AssertionSuccess();
}

const Node& node_named(const Topology& topology, const std::string& name) {
  const Node* node = topology.find_node(name);
  EXPECT_NE(node, nullptr) << "no node " << name;
  static const Node missing;
  return node ? *node : missing;
}

std::filesystem::path source_dir() {
#ifdef VSLAB_SOURCE_DIR
  return VSLAB_SOURCE_DIR;
#else
  // This file is harness/topology/parse_test.cpp.
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
#endif
}

using Sysctls = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------------------------
// Good files

TEST(ParseTopology, ReadsEveryKeyWithAddressesCanonicalised) {
  const auto result = parse(R"(name = "every-key"
description = "one of each key"

[[node]]
name = "client"
role = "client"
routes = [
  { to = "default", via = "10.1.0.1" },
  { to = "FD00:0:0:2::/64", via = "fd00:0:0:1::0001", dev = "eth0" },
  { to = "192.0.2.0/24", dev = "lo" },
]
sysctls = { "net.ipv4.ip_forward" = 1, "net.ipv6.conf.all.forwarding" = true, "net.ipv4.conf.eth0.arp_ignore" = "2", "net.core.somaxconn" = 4096 }
loopback = ["10.9.0.1/32", "FD00:9::1/128"]
[[node.interface]]
name = "eth0"
addresses = ["10.1.0.2/24", "fd00:0:0:1:0:0:0:2/64"]
mac = "02:AA:bb:00:00:01"
mtu = 9000
offloads = { tx_checksum = true, rx_checksum = false, tso = true, gso = false, gro = true }

[[node]]
name = "director"
role = "director"
[[node.interface]]
name = "eth0"
addresses = ["10.1.0.1/24", "fd00:0:0:1::1/64"]
[[node.interface]]
name = "eth1"
addresses = ["10.2.0.1/24"]

[[node]]
name = "rs1"
[[node.interface]]
name = "eth0"

[[node]]
name = "rs2"
[[node.interface]]
name = "eth0"

[[link]]
a = "client:eth0"
b = "director:eth0"

[[bridge]]
name = "lan"
ports = ["director:eth1", "rs1:eth0", "rs2:eth0"]

[[reach]]
from = "client"
to = "FD00:0:0:1::0001"

[lvs]
mode = "fullnat"
vip = "10.1.0.1"
local_addresses = ["10.2.0.10", "10.2.0.11"]
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  ASSERT_TRUE(result.topology);
  const Topology& topology = *result.topology;
  EXPECT_EQ(topology.name, "every-key");
  EXPECT_EQ(topology.description, "one of each key");
  EXPECT_EQ(topology.source_file, "t.toml");
  ASSERT_EQ(topology.nodes.size(), 4u);

  const Node& client = topology.nodes[0];
  EXPECT_EQ(client.name, "client");
  EXPECT_EQ(client.role, "client");
  EXPECT_EQ(client.pos.line, 4);
  EXPECT_EQ(client.pos.column, 1);
  ASSERT_EQ(client.routes.size(), 3u);
  EXPECT_EQ(client.routes[0].to, "default");
  EXPECT_EQ(client.routes[0].via, "10.1.0.1");
  EXPECT_EQ(client.routes[0].dev, std::nullopt);
  EXPECT_FALSE(client.routes[0].is_v6);
  EXPECT_EQ(client.routes[0].pos.line, 8);
  EXPECT_EQ(client.routes[0].pos.column, 3);
  EXPECT_EQ(client.routes[1].to, "fd00:0:0:2::/64");
  EXPECT_EQ(client.routes[1].via, "fd00:0:0:1::1");
  EXPECT_EQ(client.routes[1].dev, "eth0");
  EXPECT_TRUE(client.routes[1].is_v6);
  EXPECT_EQ(client.routes[2].to, "192.0.2.0/24");
  EXPECT_EQ(client.routes[2].via, std::nullopt);
  EXPECT_EQ(client.routes[2].dev, "lo");
  EXPECT_EQ(client.routes[2].pos.line, 10);
  // File order, not the key order of a TOML table.
  EXPECT_EQ(client.sysctls, (Sysctls{{"net.ipv4.ip_forward", "1"},
                                     {"net.ipv6.conf.all.forwarding", "1"},
                                     {"net.ipv4.conf.eth0.arp_ignore", "2"},
                                     {"net.core.somaxconn", "4096"}}));
  EXPECT_EQ(client.loopback_addresses,
            (std::vector<Cidr>{{false, "10.9.0.1", 32}, {true, "fd00:9::1", 128}}));

  ASSERT_EQ(client.interfaces.size(), 1u);
  const Interface& eth0 = client.interfaces[0];
  EXPECT_EQ(eth0.name, "eth0");
  EXPECT_EQ(eth0.addresses,
            (std::vector<Cidr>{{false, "10.1.0.2", 24}, {true, "fd00:0:0:1::2", 64}}));
  EXPECT_EQ(eth0.mac, "02:aa:bb:00:00:01");
  EXPECT_EQ(eth0.mtu, 9000);
  EXPECT_EQ(
      eth0.offloads,
      (Offloads{
          .tx_checksum = true, .rx_checksum = false, .tso = true, .gso = false, .gro = true}));
  EXPECT_EQ(eth0.pos.line, 14);
  EXPECT_EQ(eth0.pos.column, 1);

  const Node& director = topology.nodes[1];
  EXPECT_EQ(director.pos.line, 21);
  ASSERT_EQ(director.interfaces.size(), 2u);
  EXPECT_EQ(director.interfaces[1].name, "eth1");
  EXPECT_EQ(director.interfaces[1].pos.line, 27);
  EXPECT_EQ(topology.find_role("director"), &director);

  ASSERT_EQ(topology.links.size(), 1u);
  EXPECT_EQ(topology.links[0].a, (Endpoint{"client", "eth0"}));
  EXPECT_EQ(topology.links[0].b, (Endpoint{"director", "eth0"}));
  EXPECT_EQ(topology.links[0].pos.line, 41);
  EXPECT_EQ(topology.links[0].pos.column, 1);

  ASSERT_EQ(topology.bridges.size(), 1u);
  EXPECT_EQ(topology.bridges[0].name, "lan");
  EXPECT_EQ(topology.bridges[0].ports,
            (std::vector<Endpoint>{{"director", "eth1"}, {"rs1", "eth0"}, {"rs2", "eth0"}}));
  EXPECT_EQ(topology.bridges[0].pos.line, 45);

  ASSERT_EQ(topology.reachability.size(), 1u);
  EXPECT_EQ(topology.reachability[0].from, "client");
  EXPECT_EQ(topology.reachability[0].to, "fd00:0:0:1::1");
  EXPECT_EQ(topology.reachability[0].pos.line, 49);

  EXPECT_EQ(topology.lvs.mode, "fullnat");
  EXPECT_EQ(topology.lvs.vip, "10.1.0.1");
  EXPECT_EQ(topology.lvs.local_addresses, (std::vector<std::string>{"10.2.0.10", "10.2.0.11"}));
}

TEST(ParseTopology, ReadsTheSelftestFile) {
  const std::string path = (source_dir() / "topologies" / "selftest.toml").string();
  const auto result = parse_topology_file(path);
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Topology& topology = *result.topology;
  EXPECT_EQ(topology.name, "selftest");
  EXPECT_EQ(topology.source_file, path);
  ASSERT_EQ(topology.nodes.size(), 3u);
  EXPECT_EQ(topology.find_role("router"), topology.find_node("router"));

  const Node& client = node_named(topology, "client");
  ASSERT_EQ(client.routes.size(), 2u);  // dual-stack: IPv4 and IPv6 default routes
  EXPECT_EQ(client.routes[0].to, "default");
  EXPECT_EQ(client.routes[0].via, "10.1.0.1");
  EXPECT_FALSE(client.routes[0].is_v6);
  EXPECT_EQ(client.routes[1].via, "fd00:1::1");
  EXPECT_TRUE(client.routes[1].is_v6);
  EXPECT_EQ(node_named(topology, "router").sysctls,
            (Sysctls{{"net.ipv4.ip_forward", "1"}, {"net.ipv6.conf.all.forwarding", "1"}}));
  EXPECT_EQ(node_named(topology, "router").interfaces.size(), 2u);

  ASSERT_EQ(topology.links.size(), 2u);
  EXPECT_EQ(topology.links[0].a, (Endpoint{"client", "eth0"}));
  EXPECT_EQ(topology.links[1].b, (Endpoint{"server", "eth0"}));
  ASSERT_EQ(topology.reachability.size(), 4u);  // both ways, in both families
  EXPECT_EQ(topology.reachability[0].to, "10.2.0.2");
  EXPECT_EQ(topology.reachability[2].to, "fd00:2::2");
  EXPECT_GT(topology.reachability[0].pos.line, 0);
}

TEST(ParseTopology, ANameIsAllATopologyNeeds) {
  const auto result = parse(R"(name = "empty")");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.topology->name, "empty");
  EXPECT_TRUE(result.topology->nodes.empty());
  EXPECT_EQ(result.topology->lvs.mode, "");
  EXPECT_EQ(result.topology->lvs.vip, std::nullopt);
}

TEST(ParseTopology, FillsDefaultsForAbsentKeys) {
  const auto result = parse(R"(name = "t"
[[link]]
a = "a:eth0"
b = "b:eth0"
[[node]]
name = "a"
interface = [{ name = "eth0" }]
[[node]]
name = "b"
interface = [{ name = "eth0" }]
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Node& a = node_named(*result.topology, "a");
  EXPECT_EQ(a.role, "");
  EXPECT_TRUE(a.routes.empty());
  EXPECT_TRUE(a.sysctls.empty());
  ASSERT_EQ(a.interfaces.size(), 1u);
  const Interface& eth0 = a.interfaces[0];
  EXPECT_EQ(eth0.mtu, 1500);
  EXPECT_EQ(eth0.offloads, Offloads{});
  EXPECT_FALSE(eth0.offloads.tx_checksum || eth0.offloads.rx_checksum || eth0.offloads.tso ||
               eth0.offloads.gso || eth0.offloads.gro);
  EXPECT_EQ(eth0.mac, std::nullopt);
  EXPECT_TRUE(eth0.addresses.empty());
  // An inline table's position is its opening brace.
  EXPECT_EQ(eth0.pos.line, 7);
  EXPECT_EQ(eth0.pos.column, 14);
  EXPECT_EQ(result.topology->description, "");
}

TEST(ParseTopology, ReadsABridgedDrSegmentWithUnquotedSysctlKeysInFileOrder) {
  const auto result = parse(R"(name = "dr"
[[node]]
name = "director"
role = "director"
interface = [{ name = "eth0", addresses = ["10.0.0.1/24"] }]
[[node]]
name = "rs1"
role = "rs1"
loopback = ["10.0.0.100/32"]
[node.sysctls]
net.ipv4.conf.all.arp_ignore = 1
net.ipv4.conf.all.arp_announce = 2
"net.ipv4.conf.lo.arp_ignore" = 1
[[node.interface]]
name = "eth0"
addresses = ["10.0.0.2/24"]
[[node]]
name = "rs2"
role = "rs2"
interface = [{ name = "eth0", addresses = ["10.0.0.3/24"] }]
[[bridge]]
name = "lan"
ports = ["director:eth0", "rs1:eth0", "rs2:eth0"]
[lvs]
mode = "dr"
vip = "10.0.0.100"
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Node& rs1 = node_named(*result.topology, "rs1");
  EXPECT_EQ(rs1.loopback_addresses, (std::vector<Cidr>{{false, "10.0.0.100", 32}}));
  EXPECT_EQ(rs1.sysctls, (Sysctls{{"net.ipv4.conf.all.arp_ignore", "1"},
                                  {"net.ipv4.conf.all.arp_announce", "2"},
                                  {"net.ipv4.conf.lo.arp_ignore", "1"}}));
  ASSERT_EQ(rs1.interfaces.size(), 1u);
  EXPECT_EQ(rs1.interfaces[0].pos.line, 14);
  ASSERT_EQ(result.topology->bridges.size(), 1u);
  EXPECT_EQ(result.topology->bridges[0].ports.size(), 3u);
  EXPECT_EQ(result.topology->lvs.mode, "dr");
  EXPECT_EQ(result.topology->lvs.vip, "10.0.0.100");
}

TEST(ParseTopology, LvsTakesAnIpv6VipAndLocalAddressesCanonicalised) {
  const auto result = parse(R"(name = "v6"
[lvs]
mode = "fullnat"
vip = "10.0.0.100"
vip6 = "FD00:20:0::0100"
local_addresses6 = ["fd00:168:60::200", "fd00:168:60:0::201"]
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.topology->lvs.vip6, "fd00:20::100");
  EXPECT_EQ(result.topology->lvs.local_addresses6,
            (std::vector<std::string>{"fd00:168:60::200", "fd00:168:60::201"}));
  const auto wrong = parse(R"(name = "v6"
[lvs]
vip6 = "10.0.0.100"
local_addresses6 = ["fd00::1", "10.0.0.1"]
)");
  ASSERT_EQ(wrong.errors.size(), 2u) << all_errors(wrong);
  EXPECT_NE(wrong.errors[0].find(":3:8: 'vip6' '10.0.0.100' is not an IPv6 address"),
            std::string::npos)
      << wrong.errors[0];
  EXPECT_NE(wrong.errors[1].find("IPv6 local address '10.0.0.1' is not an IPv6 address"),
            std::string::npos)
      << wrong.errors[1];
}

TEST(ParseTopology, DefaultRouteIsIpv6OnlyWithAnIpv6Gateway) {
  const auto result = parse(R"(name = "v6"
[[node]]
name = "client"
routes = [{ to = "default", via = "fd00:1::1" }, { to = "default", dev = "eth0" }]
interface = [{ name = "eth0", addresses = ["fd00:1::2/64"] }]
[[node]]
name = "router"
interface = [{ name = "eth0", addresses = ["fd00:1::1/64"] }]
[[link]]
a = "client:eth0"
b = "router:eth0"
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Node& client = node_named(*result.topology, "client");
  ASSERT_EQ(client.routes.size(), 2u);
  EXPECT_TRUE(client.routes[0].is_v6);
  EXPECT_EQ(client.routes[0].via, "fd00:1::1");
  EXPECT_FALSE(client.routes[1].is_v6);
  EXPECT_EQ(client.routes[1].dev, "eth0");
}

// ---------------------------------------------------------------------------------------------
// Files that cannot be read or are not TOML

TEST(ParseTopologyFile, MissingFileSaysWhy) {
  const auto result = parse_topology_file("/nonexistent-vslab/none.toml");
  EXPECT_FALSE(result.topology);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0],
            "/nonexistent-vslab/none.toml:0:0: cannot read: No such file or directory");
}

TEST(ParseTopologyFile, DirectorySaysWhy) {
  const std::string path = (source_dir() / "topologies").string();
  const auto result = parse_topology_file(path);
  EXPECT_FALSE(result.topology);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], path + ":0:0: cannot read: Is a directory");
}

TEST(ParseTopology, TomlSyntaxErrorIsReportedWhereTomlFindsIt) {
  const auto result = parse(R"(name = "t"
name = "again"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:2:", {"'name'"}));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys, wrong types, missing keys

TEST(ParseTopology, UnknownTopLevelKeySuggestsTheClosest) {
  const auto result = parse(R"(name = "t"
[[nodes]]
name = "a"
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:2:3: ", {"unknown key 'nodes' at top level", "(did you mean 'node'?)"}));
}

TEST(ParseTopology, UnknownInterfaceKeyNamesInterfaceAndNode) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "client"
[[node.interface]]
name = "eth0"
adresses = ["10.1.0.2/24"]
[[node.interface]]
name = "eth1"
[[link]]
a = "client:eth0"
b = "client:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:1: ",
                         {"unknown key 'adresses' in interface 'eth0' of node 'client'",
                          "(did you mean 'addresses'?)"}));
}

TEST(ParseTopology, UnknownOffloadKey) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
offloads = { lro = true }
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:6:14: ",
      {"unknown key 'lro' in offloads of interface 'eth0' of node 'n'", "(did you mean 'gro'?)"}));
}

TEST(ParseTopology, UnknownOneLetterKeyGetsNoSuggestion) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }, { name = "eth1" }]
[[link]]
a = "n:eth0"
b = "n:eth1"
c = "n:eth2"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:8:1: ", {"unknown key 'c' in link"}));
  EXPECT_EQ(result.errors[0].find("did you mean"), std::string::npos) << result.errors[0];
}

TEST(ParseTopology, UnknownRouteKey) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "default", gw = "10.0.0.1", dev = "lo" }]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:29: ", {"unknown key 'gw' in route of node 'n'"}));
}

TEST(ParseTopology, MtuMustBeAnInteger) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
mtu = "1500"
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:7: ", {"'mtu' must be an integer"}));
}

TEST(ParseTopology, MtuMustFitVeth) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
mtu = 65536
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:7: ", {"'mtu' 65536 is out of range (68..65535)"}));
}

TEST(ParseTopology, MtuBelow1280WithIpv6AddressesIsRefused) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
addresses = ["fd00::1/64"]
mtu = 1000
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:7:7: ", {"IPv6", "1000", "1280"}));
}

TEST(ParseTopology, OffloadMustBeABoolean) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
offloads = { tso = 1 }
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:20: ", {"'tso' must be a boolean"}));
}

TEST(ParseTopology, AddressesMustBeAnArrayOfStrings) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
addresses = "10.0.0.1/24"
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:13: ", {"'addresses' must be an array of strings"}));
}

TEST(ParseTopology, NodeMustBeAnArrayOfTables) {
  const auto result = parse(R"(name = "t"
[node]
name = "n"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:2:1: ", {"'node' must be an array of tables"}));
}

TEST(ParseTopology, TopologyWithoutName) {
  const auto result = parse(R"(description = "no name"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:1:1: ", {"topology has no 'name'"}));
}

TEST(ParseTopology, NodeWithoutName) {
  const auto result = parse(R"(name = "t"
[[node]]
role = "client"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:2:1: ", {"node has no 'name'"}));
}

TEST(ParseTopology, InterfaceWithoutName) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
addresses = ["10.0.0.1/24"]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:1: ", {"interface of node 'n' has no 'name'"}));
}

TEST(ParseTopology, RouteWithoutTo) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ via = "10.0.0.1" }]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:11: ", {"route of node 'n' has no 'to'"}));
}

// ---------------------------------------------------------------------------------------------
// Duplicates

TEST(ParseTopology, DuplicateNodeNameNamesTheFirstLine) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "rs1"
[[node]]
name = "rs1"
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:5:8: ", {"duplicate node name 'rs1' (first defined at line 3)"}));
}

TEST(ParseTopology, DuplicateInterfaceNameInOneNode) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
[[node.interface]]
name = "eth0"
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(
      result,
      "t.toml:7:8: ", {"duplicate interface name 'eth0' in node 'n' (first defined at line 5)"}));
}

TEST(ParseTopology, SameInterfaceNameInTwoNodesIsFine) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "a"
interface = [{ name = "eth0" }]
[[node]]
name = "b"
interface = [{ name = "eth0" }]
[[link]]
a = "a:eth0"
b = "b:eth0"
)");
  EXPECT_TRUE(result.ok()) << all_errors(result);
}

TEST(ParseTopology, DuplicateBridgeName) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }, { name = "eth1" }, { name = "eth2" }, { name = "eth3" }]
[[bridge]]
name = "lan"
ports = ["n:eth0", "n:eth1"]
[[bridge]]
name = "lan"
ports = ["n:eth2", "n:eth3"]
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:9:8: ", {"duplicate bridge name 'lan' (first defined at line 6)"}));
}

TEST(ParseTopology, DuplicateRole) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "r1"
role = "router"
[[node]]
name = "r2"
role = "router"
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:7:8: ", {"duplicate role 'router' (first used at line 4)"}));
}

TEST(ParseTopology, EndpointUsedByALinkAndABridgePort) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }, { name = "eth1" }, { name = "eth2" }]
[[link]]
a = "n:eth0"
b = "n:eth1"
[[bridge]]
name = "lan"
ports = ["n:eth1", "n:eth2"]
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:10:10: ", {"endpoint 'n:eth1' is used twice (first used at line 7)"}));
}

// ---------------------------------------------------------------------------------------------
// Addresses

struct BadAddress {
  std::string text;
  std::string problem;
};

class ParseTopologyBadAddress : public testing::TestWithParam<BadAddress> {};

TEST_P(ParseTopologyBadAddress, IsRefusedWithTheReason) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
addresses = [")" + GetParam().text +
                            R"("]
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:14: ", {GetParam().problem}));
}

INSTANTIATE_TEST_SUITE_P(
    Cidrs, ParseTopologyBadAddress,
    testing::Values(BadAddress{"10.0.0.300/24", "'10.0.0.300' is not an IPv4 or IPv6 address"},
                    BadAddress{"010.0.0.1/24", "'010.0.0.1' is not an IPv4 or IPv6 address"},
                    BadAddress{"garbage/24", "'garbage' is not an IPv4 or IPv6 address"},
                    BadAddress{"fd00::1%eth0/64", "'fd00::1%eth0' is not an IPv4 or IPv6 address"},
                    BadAddress{"10.0.0.1/33", "prefix length 33 is more than 32 for IPv4"},
                    BadAddress{"fd00::1/129", "prefix length 129 is more than 128 for IPv6"},
                    BadAddress{"10.0.0.1/99999999999", "prefix length 99999999999 is more than 32"},
                    BadAddress{"10.0.0.1", "'10.0.0.1' has no prefix length"},
                    BadAddress{"garbage", "'garbage' has no prefix length"},
                    BadAddress{"10.0.0.1/", "prefix length '' is not a number"},
                    BadAddress{"10.0.0.1/+8", "prefix length '+8' is not a number"},
                    BadAddress{"10.0.0.1/ 8", "prefix length ' 8' is not a number"},
                    BadAddress{"10.0.0.1/8/8", "prefix length '8/8' is not a number"}));

TEST(ParseTopology, LoopbackAddressNeedsAPrefix) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
loopback = ["10.9.0.1"]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:13: ", {"'10.9.0.1' has no prefix length"}));
}

TEST(ParseTopology, MacMustBeUnicast) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
mac = "01:00:5e:00:00:01"
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:7: ", {"'01:00:5e:00:00:01' is multicast"}));
}

TEST(ParseTopology, MacMustBeColonSeparatedHex) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[node.interface]]
name = "eth0"
mac = "02-00-00-00-00-01"
[[node.interface]]
name = "eth1"
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:6:7: ", {"'02-00-00-00-00-01' is not of the form xx:xx:xx:xx:xx:xx"}));
}

// ---------------------------------------------------------------------------------------------
// Links and bridges

TEST(ParseTopology, LinkToUnknownNode) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }]
[[link]]
a = "n:eth0"
b = "m:eth0"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:7:5: ", {"endpoint 'm:eth0' names unknown node 'm'"}));
}

TEST(ParseTopology, LinkToUndeclaredInterface) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }]
[[link]]
a = "n:eth0"
b = "n:eth9"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:7:5: ", {"'n:eth9'", "node 'n' has no interface 'eth9'"}));
}

TEST(ParseTopology, EndpointWithoutColonIsMalformed) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }]
[[link]]
a = "n:eth0"
b = "n-eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:7:5: ", {"malformed endpoint 'n-eth1'"}));
}

TEST(ParseTopology, LinkFromAnEndpointToItself) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }]
[[link]]
a = "n:eth0"
b = "n:eth0"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:7:5: ", {"link connects 'n:eth0' to itself"}));
}

TEST(ParseTopology, InterfaceNotConnectedToAnything) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "router"
interface = [{ name = "eth0" }, { name = "eth1" }, { name = "eth2" }]
[[link]]
a = "router:eth0"
b = "router:eth1"
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:4:52: ",
                 {"interface 'eth2' of node 'router' is not connected to any link or bridge"}));
}

TEST(ParseTopology, BridgeWithOnePort) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }]
[[bridge]]
name = "lan"
ports = ["n:eth0"]
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:5:1: ", {"bridge 'lan' has 1 port; a bridge needs at least 2"}));
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(ParseTopology, InterfaceNameLongerThanLinuxAllows) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "averyveryverylongname" }, { name = "eth1" }]
[[link]]
a = "n:averyveryverylongname"
b = "n:eth1"
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:4:23: ",
                 {"interface name 'averyveryverylongname' is 21 bytes; Linux allows at most 15"}));
}

TEST(ParseTopology, InterfaceNameLoIsReserved) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "lo" }, { name = "eth1" }]
[[link]]
a = "n:lo"
b = "n:eth1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:23: ", {"interface name 'lo' is reserved"}));
}

TEST(ParseTopology, NodeNameWithASpace) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "my node"
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:3:8: ", {"node name 'my node' has a character iproute2 would reject: ' '"}));
}

TEST(ParseTopology, NodeNameLongerThan32Bytes) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n23456789012345678901234567890123"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:3:8: ", {"is 33 bytes", "at most 32"}));
}

struct BadBridgeName {
  std::string name;
  std::string problem;
};

class ParseTopologyBadBridgeName : public testing::TestWithParam<BadBridgeName> {};

// A bridge is a Linux device like an interface, and its name is checked the same way.
TEST_P(ParseTopologyBadBridgeName, IsRefusedWithTheReason) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
interface = [{ name = "eth0" }, { name = "eth1" }]
[[bridge]]
name = ")" + GetParam().name +
                            R"("
ports = ["n:eth0", "n:eth1"]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:8: ", {GetParam().problem}));
}

INSTANTIATE_TEST_SUITE_P(
    Names, ParseTopologyBadBridgeName,
    testing::Values(
        BadBridgeName{"averyveryverylongname", "bridge name 'averyveryverylongname' is 21 bytes"},
        BadBridgeName{"br/0", "bridge name 'br/0' has a character iproute2 would reject: '/'"},
        BadBridgeName{"br:0", "bridge name 'br:0' has a character iproute2 would reject: ':'"},
        BadBridgeName{"br 0", "bridge name 'br 0' has a character iproute2 would reject: ' '"},
        BadBridgeName{".", "bridge name '.' is not allowed"},
        BadBridgeName{"..", "bridge name '..' is not allowed"},
        BadBridgeName{"lo", "bridge name 'lo' is reserved"},
        BadBridgeName{"", "bridge name is empty"}));

TEST(NameChecks, NodeNames) {
  EXPECT_TRUE(is_valid_node_name("rs1"));
  EXPECT_TRUE(is_valid_node_name("A_b-9"));
  EXPECT_TRUE(is_valid_node_name(std::string(32, 'n')));
  EXPECT_FALSE(is_valid_node_name(""));
  EXPECT_FALSE(is_valid_node_name(std::string(33, 'n')));
  EXPECT_FALSE(is_valid_node_name("my node"));
  EXPECT_FALSE(is_valid_node_name("a.b"));
  EXPECT_FALSE(is_valid_node_name("a/b"));
  EXPECT_FALSE(is_valid_node_name("a:b"));
  EXPECT_FALSE(is_valid_node_name("n\xc3\xa9"));  // "né"
}

TEST(NameChecks, InterfaceNames) {
  EXPECT_TRUE(is_valid_interface_name("eth0"));
  EXPECT_TRUE(is_valid_interface_name("eth0.100"));
  EXPECT_TRUE(is_valid_interface_name("veth-a_B"));
  EXPECT_TRUE(is_valid_interface_name(std::string(15, 'e')));
  // Reserved in a topology file, but a real device name the CLI may be given.
  EXPECT_TRUE(is_valid_interface_name("lo"));
  EXPECT_FALSE(is_valid_interface_name(""));
  EXPECT_FALSE(is_valid_interface_name(std::string(16, 'e')));
  EXPECT_FALSE(is_valid_interface_name("."));
  EXPECT_FALSE(is_valid_interface_name(".."));
  EXPECT_FALSE(is_valid_interface_name("eth/0"));
  EXPECT_FALSE(is_valid_interface_name("eth:0"));
  EXPECT_FALSE(is_valid_interface_name("eth 0"));
  EXPECT_FALSE(is_valid_interface_name("eth\t0"));
}

// ---------------------------------------------------------------------------------------------
// Routes

TEST(ParseTopology, RouteDevMustBeAnInterfaceOfTheNode) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "default", dev = "eth9" }]
interface = [{ name = "eth0" }, { name = "eth1" }]
[[link]]
a = "n:eth0"
b = "n:eth1"
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:4:35: ", {"'dev' 'eth9' is not an interface of node 'n'"}));
}

TEST(ParseTopology, RouteGatewayMustBeTheDestinationsFamily) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.0.0.0/8", via = "fd00::1" }]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:38: ",
                         {"gateway 'fd00::1' is IPv6 but the destination '10.0.0.0/8' is IPv4"}));
}

TEST(ParseTopology, RouteNeedsViaOrDev) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.0.0.0/8" }]
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:4:11: ", {"route of node 'n' needs 'via', 'nexthops' or 'dev'"}));
}

TEST(ParseTopology, MultipathRouteHasItsNextHopsInOrder) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.100/32", nexthops = ["10.0.0.3", "10.0.0.2"] },
          { to = "default", nexthops = ["fd00::3", "FD00::0002"] }]
)");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Node& n = node_named(*result.topology, "n");
  ASSERT_EQ(n.routes.size(), 2u);
  EXPECT_EQ(n.routes[0].nexthops, (std::vector<std::string>{"10.0.0.3", "10.0.0.2"}));
  EXPECT_EQ(n.routes[0].via, std::nullopt);
  EXPECT_FALSE(n.routes[0].is_v6);
  EXPECT_EQ(n.routes[1].nexthops, (std::vector<std::string>{"fd00::3", "fd00::2"}));
  EXPECT_TRUE(n.routes[1].is_v6);
}

TEST(ParseTopology, MultipathRouteNeedsTwoDistinctNextHopsOfTheDestinationsFamily) {
  EXPECT_TRUE(fails_with(
      parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.0/24", nexthops = ["10.0.0.3"] }]
)"),
      "t.toml:4:11: ", {"'nexthops' of the route of node 'n' has 1 gateway(s)", "two or more"}));
  EXPECT_TRUE(fails_with(parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.0/24", nexthops = ["10.0.0.3", "10.0.0.3"] }]
)"),
                         "t.toml:4:57: ", {"next hop '10.0.0.3' is named twice"}));
  EXPECT_TRUE(fails_with(
      parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.0/24", nexthops = ["10.0.0.3", "fd00::1"] }]
)"),
      "t.toml:4:57: ", {"next hop 'fd00::1' is IPv6 but the destination '10.9.0.0/24' is IPv4"}));
  EXPECT_TRUE(fails_with(parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.0/24", nexthops = ["10.0.0.3", "10.0.0.x"] }]
)"),
                         "t.toml:4:57: ", {"next hop '10.0.0.x' is not an IPv4 or IPv6 address"}));
  EXPECT_TRUE(fails_with(parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.9.0.0/24", via = "10.0.0.1", nexthops = ["10.0.0.3", "10.0.0.2"] }]
)"),
                         "t.toml:4:11: ", {"has both 'via' and 'nexthops'"}));
}

TEST(ParseTopology, RouteDestinationWithHostBitsSet) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "10.2.0.5/24", dev = "lo" }]
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:18: ",
                         {"'10.2.0.5/24' has host bits set", "the network is '10.2.0.0/24'"}));
}

TEST(ParseTopology, RouteGatewayMustBeAnAddress) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
routes = [{ to = "default", via = "10.0.0.1/24" }]
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:4:35: ", {"'via' '10.0.0.1/24' is not an IPv4 or IPv6 address"}));
}

// ---------------------------------------------------------------------------------------------
// Sysctls

TEST(ParseTopology, SysctlValueMustBeStringIntegerOrBoolean) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
sysctls = { "net.ipv4.ip_forward" = 1.0 }
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:37: ",
                         {"sysctl 'net.ipv4.ip_forward' must be a string, integer or boolean"}));
}

TEST(ParseTopology, SysctlNameNeedsADot) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
sysctls = { kernel = "x" }
)");
  EXPECT_TRUE(fails_with(result, "t.toml:4:13: ", {"sysctl name 'kernel' has no dot"}));
}

TEST(ParseTopology, SysctlNameIsLowerCase) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
sysctls = { "Net.ipv4.ip_forward" = 1 }
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:4:13: ", {"sysctl name 'Net.ipv4.ip_forward' has a character", "'N'"}));
}

TEST(ParseTopology, SysctlSetTwiceQuotedAndDotted) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[node.sysctls]
"net.ipv4.ip_forward" = 1
net.ipv4.ip_forward = 0
)");
  EXPECT_TRUE(fails_with(result, "t.toml:6:10: ",
                         {"sysctl 'net.ipv4.ip_forward' is set twice (first set at line 5)"}));
}

// ---------------------------------------------------------------------------------------------
// Reach and lvs

TEST(ParseTopology, ReachFromUnknownNode) {
  const auto result = parse(R"(name = "t"
[[reach]]
from = "nobody"
to = "10.0.0.1"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:3:8: ", {"reach from unknown node 'nobody'"}));
}

TEST(ParseTopology, ReachToMustBeAnAddress) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "n"
[[reach]]
from = "n"
to = "10.0.0.1/24"
)");
  EXPECT_TRUE(fails_with(
      result, "t.toml:6:6: ", {"reach 'to' '10.0.0.1/24' is not an IPv4 or IPv6 address"}));
}

TEST(ParseTopology, LvsModeMustBeKnown) {
  const auto result = parse(R"(name = "t"
[lvs]
mode = "direct"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:3:8: ", {"unknown lvs mode 'direct'"}));
}

TEST(ParseTopology, LvsVipMustBeIpv4) {
  const auto result = parse(R"(name = "t"
[lvs]
vip = "fd00::100"
)");
  EXPECT_TRUE(fails_with(result, "t.toml:3:7: ", {"'vip' 'fd00::100' is not an IPv4 address"}));
}

TEST(ParseTopology, LvsLocalAddressMustBeIpv4) {
  const auto result = parse(R"(name = "t"
[lvs]
local_addresses = ["10.0.0.1/32"]
)");
  EXPECT_TRUE(
      fails_with(result, "t.toml:3:20: ", {"local address '10.0.0.1/32' is not an IPv4 address"}));
}

// ---------------------------------------------------------------------------------------------
// Several mistakes at once

TEST(ParseTopology, ReportsEveryErrorInFileOrder) {
  const auto result = parse(R"(name = "t"
[[node]]
name = "client"
[[node.interface]]
name = "eth0"
adresses = ["10.1.0.2/24"]
mtu = "big"
[[node.interface]]
name = "eth1"
[[node]]
name = "client"
[[link]]
a = "client:eth0"
b = "server:eth0"
[lvs]
mode = "magic"
)");
  EXPECT_FALSE(result.topology);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"t.toml:6:1: ", "unknown key 'adresses'"},
      {"t.toml:7:7: ", "'mtu' must be an integer"},
      {"t.toml:8:1: ", "interface 'eth1' of node 'client' is not connected"},
      {"t.toml:11:8: ", "duplicate node name 'client' (first defined at line 3)"},
      {"t.toml:14:5: ", "endpoint 'server:eth0' names unknown node 'server'"},
      {"t.toml:16:8: ", "unknown lvs mode 'magic'"},
  };
  ASSERT_EQ(result.errors.size(), expected.size()) << all_errors(result);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(result.errors[i].starts_with(expected[i].first)) << result.errors[i];
    EXPECT_NE(result.errors[i].find(expected[i].second), std::string::npos) << result.errors[i];
  }
}

}  // namespace
}  // namespace vslab::topo
