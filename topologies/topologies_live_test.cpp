// Each mode topology comes up, every [[reach]] line of its file holds (ping from inside the
// namespaces), and it leaves nothing behind.
#include <gtest/gtest.h>

#include "topology/live.h"
#include "topology/parse.h"
#include "topology/runs.h"

namespace vslab::topo {
namespace {

class LiveModeTopology : public testing::TestWithParam<const char*> {};

TEST_P(LiveModeTopology, ComesUpReachesWhatItMustAndTearsDownClean) {
  if (!have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                    "namespaces";
  auto parsed =
      parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + GetParam() + ".toml");
  ASSERT_TRUE(parsed.ok());
  std::vector<std::string> namespaces;
  {
    LiveTopology live(*parsed.topology);
    namespaces = netns_names(live.topology(), live.naming());
    for (const auto& ns : namespaces) EXPECT_TRUE(netns_exists(ns)) << ns;
    for (const auto& reach : live.topology().reachability)
      EXPECT_TRUE(live.ping(reach.from, reach.to)) << reach.from << " cannot reach " << reach.to;
    // The MACs are the ones the topology promises (captures rely on them).
    const auto& last = live.topology().nodes.back();
    const auto& ifname = last.interfaces.front().name;
    auto shown = live.exec(last.name, {"cat", "/sys/class/net/" + ifname + "/address"});
    EXPECT_EQ(shown.output, live.mac(last.name, ifname) + "\n");
  }
  for (const auto& ns : namespaces) EXPECT_FALSE(netns_exists(ns)) << ns << " left behind";
}

INSTANTIATE_TEST_SUITE_P(Topologies, LiveModeTopology,
                         testing::Values("selftest", "nat", "dr", "tun", "fullnat", "ecmp",
                                         "sync"));

TEST(LiveTopologyFailure, AFailedBringUpRemovesWhatItMadeAndSaysWhy) {
  if (!have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  // Parses fine but the kernel refuses it: the route's gateway is not on any connected subnet.
  auto parsed = parse_topology(R"(
name = "broken"
[[node]]
name = "a"
routes = [{ to = "default", via = "10.99.0.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["10.1.0.1/24"]
[[node]]
name = "b"
  [[node.interface]]
  name = "eth0"
  addresses = ["10.1.0.2/24"]
[[link]]
a = "a:eth0"
b = "b:eth0"
)",
                               "broken.toml");
  ASSERT_TRUE(parsed.ok()) << (parsed.errors.empty() ? "" : parsed.errors[0]);
  Naming naming{new_run_prefix()};
  try {
    LiveTopology live(*parsed.topology, {naming.prefix, false, false});
    FAIL() << "bring-up should have failed";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("route default on a failed"), std::string::npos) << what;
    EXPECT_NE(what.find("ip -n " + naming.prefix + "-a route add default via 10.99.0.1"),
              std::string::npos)
        << what;
  }
  EXPECT_FALSE(netns_exists(naming.node_netns("a")));
  EXPECT_FALSE(netns_exists(naming.node_netns("b")));
}

}  // namespace
}  // namespace vslab::topo
