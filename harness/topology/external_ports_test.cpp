// A topology whose director is an external box: no namespace for it, and each existing
// interface moved into its peer's place (a link's other end, or a bridge port), as the
// commands say; port maps that do not fit the topology are refused with the reason; what a
// run record keeps to give the ports back reads back the same.
#include <gtest/gtest.h>

#include <algorithm>

#include "topology/handover.h"
#include "topology/netns.h"
#include "topology/parse.h"
#include "topology/script.h"

namespace vslab::topo {
namespace {

Topology nat() {
  auto parsed = parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/nat.toml");
  EXPECT_TRUE(parsed.ok());
  return *parsed.topology;
}

const ExternalPorts kBoxPorts{{"eth0", "xd-ext"}, {"eth1", "xd-int"}};

std::vector<std::string> lines(const Topology& t, const ExternalPorts& external) {
  std::vector<std::string> out;
  for (const auto& c : bring_up_commands(t, Naming{"p"}, external))
    out.push_back(shell_quote(c.argv));
  return out;
}

bool has(const std::vector<std::string>& all, const std::string& line) {
  return std::find(all.begin(), all.end(), line) != all.end();
}

bool mentions(const std::vector<std::string>& all, const std::string& word) {
  return std::any_of(all.begin(), all.end(),
                     [&](const std::string& l) { return l.find(word) != std::string::npos; });
}

TEST(ExternalPortsScript, GivesTheDirectorNoNamespaceAndTouchesNothingOfIt) {
  auto all = lines(nat(), kBoxPorts);
  EXPECT_FALSE(mentions(all, "p-director")) << "the box configures itself";
  EXPECT_EQ(netns_names(nat(), Naming{"p"}, kBoxPorts),
            (std::vector<std::string>{"p-client", "p-router", "p-rs1", "p-rs2", "p-rs3", "p.sw"}));
}

TEST(ExternalPortsScript, PutsTheLinkPortInThePeersPlaceUnderThePeersName) {
  auto all = lines(nat(), kBoxPorts);
  ASSERT_TRUE(has(all, "ip link set dev xd-ext netns p-router name eth1"));
  // It is then configured as the router's eth1 would be: its MAC, address, up.
  auto moved = std::find(all.begin(), all.end(), "ip link set dev xd-ext netns p-router name eth1");
  auto addressed =
      std::find(all.begin(), all.end(), "ip -n p-router addr add 10.20.0.1/24 dev eth1");
  EXPECT_LT(moved, addressed);
  EXPECT_TRUE(has(all, "ip -n p-router link set eth1 address " +
                           interface_mac(nat(), "router", "eth1") + " mtu 1500"));
}

TEST(ExternalPortsScript, EnslavesTheBridgePortInTheSwitchNamespace) {
  auto all = lines(nat(), kBoxPorts);
  ASSERT_TRUE(has(all, "ip link set dev xd-int netns p.sw name b0p0"));
  EXPECT_TRUE(has(all, "ip -n p.sw link set b0p0 master rsnet mtu 1500"));
  EXPECT_TRUE(has(all, "ip -n p.sw link set b0p0 up"));
  // The real servers' ports are made as always.
  EXPECT_TRUE(has(all, "ip -n p-rs1 link add eth0 type veth peer name b0p1 netns p.sw"));
}

TEST(ExternalPortsScript, PrintsHowToGiveThePortsBack) {
  auto text = bring_up_script(nat(), Naming{"p"}, kBoxPorts);
  EXPECT_NE(text.find("#   ip -n p-router link set dev eth1 netns 1 name xd-ext\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("#   ip -n p.sw link set dev b0p0 netns 1 name xd-int\n"), std::string::npos);
  // Given back before the namespaces go, or the kernel would destroy them with the namespace.
  EXPECT_LT(text.find("name xd-int"), text.find("ip netns delete p-router"));
}

TEST(ExternalPortsScript, PlacesEachPort) {
  auto places = external_port_places(nat(), Naming{"p"}, kBoxPorts);
  ASSERT_EQ(places.size(), 2u);
  EXPECT_EQ(places[0].director_ifname, "eth0");
  EXPECT_EQ(places[0].netns, "p-router");
  EXPECT_EQ(places[0].moved_name, "eth1");
  EXPECT_EQ(places[0].peer, "router:eth1");
  EXPECT_EQ(places[1].director_ifname, "eth1");
  EXPECT_EQ(places[1].netns, "p.sw");
  EXPECT_EQ(places[1].moved_name, "b0p0");
  EXPECT_EQ(places[1].peer, "bridge rsnet");
}

TEST(ExternalPortsScript, RefusesPortMapsThatDoNotFit) {
  auto problem = [](const ExternalPorts& ports) {
    return external_ports_problem(nat(), ports).value_or("(fits)");
  };
  EXPECT_EQ(problem({{"eth0", "xd-ext"}}),
            "director:eth1 has no existing interface in the external port map");
  EXPECT_EQ(problem({{"eth0", "xd-ext"}, {"eth1", "xd-int"}, {"eth2", "xd-3"}}),
            "the external port map names 'eth2', which is not an interface of director node "
            "'director' (it has eth0, eth1)");
  EXPECT_EQ(problem({{"eth0", "xd-ext"}, {"eth1", "xd-ext"}}),
            "'xd-ext' stands for both director:eth0 and director:eth1");
  EXPECT_EQ(problem({{"eth0", "xd ext"}, {"eth1", "xd-int"}}),
            "'xd ext' (for director:eth0) is not a valid interface name");
  EXPECT_EQ(problem(kBoxPorts), "(fits)");
  EXPECT_THROW(bring_up_commands(nat(), Naming{"p"}, {{"eth0", "xd-ext"}}), std::invalid_argument);

  auto no_director = nat();
  for (auto& node : no_director.nodes)
    if (node.role == "director") node.role = "box";
  EXPECT_EQ(external_ports_problem(no_director, kBoxPorts).value_or(""),
            "topology 'nat' has no node with role director for the external ports to stand for");
}

TEST(ExternalPortsScript, LeavesTopologiesWithoutExternalPortsAsTheyWere) {
  EXPECT_EQ(lines(nat(), {}), [] {
    std::vector<std::string> out;
    for (const auto& c : bring_up_commands(nat(), Naming{"p"})) out.push_back(shell_quote(c.argv));
    return out;
  }());
  EXPECT_TRUE(mentions(lines(nat(), {}), "ip netns add p-director"));
}

TEST(PortHandoverRecord, ReadsBackWhatItWrote) {
  PortHandover h{"xd-ext", "vsl-1-2-router", "eth1",
                 LinkState{"02:aa:bb:cc:dd:ee", 1500, true, {{"gro", false}, {"tx", true}}}};
  auto line = h.record_value();
  EXPECT_EQ(line, "xd-ext vsl-1-2-router eth1 02:aa:bb:cc:dd:ee 1500 1 gro=off,tx=on");
  EXPECT_EQ(PortHandover::from_record_value(line), h);
  h.saved.offloads.clear();
  h.saved.up = false;
  EXPECT_EQ(PortHandover::from_record_value(h.record_value()), h);
  EXPECT_FALSE(PortHandover::from_record_value("xd-ext vsl-1-2-router eth1").has_value());
  EXPECT_FALSE(
      PortHandover::from_record_value("a b c 02:aa:bb:cc:dd:ee 1500 1 gro=maybe").has_value());
}

TEST(PortHandoverRecord, KeepsTheOffloadsEthtoolCanChange) {
  auto features = parse_ethtool_features(R"(Features for xd-ext:
rx-checksumming: on
tx-checksumming: on
	tx-checksum-ipv4: off [fixed]
scatter-gather: on
tcp-segmentation-offload: off
generic-segmentation-offload: on
generic-receive-offload: off
large-receive-offload: off [fixed]
)");
  EXPECT_EQ(features,
            (std::map<std::string, bool>{
                {"rx", true}, {"tx", true}, {"tso", false}, {"gso", true}, {"gro", false}}));
  EXPECT_TRUE(parse_ethtool_features("generic-receive-offload: on [fixed]\n").empty());
}

}  // namespace
}  // namespace vslab::topo
