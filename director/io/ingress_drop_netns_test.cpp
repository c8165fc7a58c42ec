// The ingress drop's tables in a real namespace (the selftest topology's router): each port's
// table lives as long as the IngressDrop that made it and no longer, through every set update;
// a second claim on a port is refused with the port and the owner's pid, all or nothing; and
// leftovers nobody owns are removed, only for the ports named.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "io/ingress_drop.h"
#include "os/child_process.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vsd {
namespace {

namespace topo = vslab::topo;

class IngressDropInNetns : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
    auto parsed = topo::parse_topology_file(
        (std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies" / "selftest.toml").string());
    ASSERT_TRUE(parsed.ok());
    live_ = std::make_unique<topo::LiveTopology>(std::move(*parsed.topology));
  }
  // Made inside the router's namespace: its netlink socket stays bound there.
  std::unique_ptr<IngressDrop> claim(const std::vector<std::string>& ports) {
    topo::NetnsGuard in(live_->netns("router"));
    return std::make_unique<IngressDrop>(ports);
  }
  std::unique_ptr<NftSession> session() {
    topo::NetnsGuard in(live_->netns("router"));
    return std::make_unique<NftSession>();
  }
  topo::CommandResult nft(std::vector<std::string> args) const {
    args.insert(args.begin(), "nft");
    return live_->exec("router", args);
  }
  std::unique_ptr<topo::LiveTopology> live_;
};

TEST_F(IngressDropInNetns, TheTableLivesThroughEveryUpdateAndGoesWithItsOwner) {
  auto drop = claim({"eth0"});
  for (uint16_t port = 1; port <= 50; ++port) {
    IngressServices services;
    services.ports = {{*Ipv4::parse("10.1.0.100"), Proto::Tcp, port}};
    // A session that reopened its socket would lose the table's ownership: EPERM here.
    ASSERT_EQ(drop->set_services(services), "") << "update " << port;
  }
  auto listed = nft({"list", "table", "netdev", "vsd_eth0"});
  ASSERT_TRUE(listed.ok()) << listed.output;
  EXPECT_NE(listed.output.find("flags owner"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("10.1.0.100 . tcp . 50"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("vsd pid " + std::to_string(getpid())), std::string::npos);
  EXPECT_FALSE(nft({"delete", "table", "netdev", "vsd_eth0"}).ok()) << "nft took it away";

  drop.reset();
  EXPECT_FALSE(nft({"list", "table", "netdev", "vsd_eth0"}).ok()) << "the table outlived it";
}

TEST_F(IngressDropInNetns, ASecondClaimOnAPortIsRefusedNamingThePortAndTheOwner) {
  auto first = claim({"eth0"});
  try {
    claim({"eth1", "eth0"});
    FAIL() << "a second claim on eth0 was taken";
  } catch (const PortTaken& e) {
    EXPECT_EQ(std::string(e.what()), "port eth0 is served by another vsd (pid " +
                                         std::to_string(getpid()) +
                                         ", table netdev vsd_eth0); stop that vsd first");
  }
  EXPECT_FALSE(nft({"list", "table", "netdev", "vsd_eth1"}).ok()) << "claimed half";
  EXPECT_EQ(first->set_host(HostAddresses({*Ipv4::parse("10.1.0.1")}, {})), "");
  auto listed = nft({"list", "table", "netdev", "vsd_eth0"});
  EXPECT_NE(listed.output.find("elements = { 10.1.0.1 }"), std::string::npos) << listed.output;

  try {
    claim({"eth1", "eth1"});
    FAIL() << "one port claimed twice by one vsd";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "port eth1 given twice");
  }

  // Another port of the same namespace is free to take.
  auto second = claim({"eth1"});
  EXPECT_TRUE(nft({"list", "table", "netdev", "vsd_eth1"}).ok());
}

TEST_F(IngressDropInNetns, LeftoversNobodyOwnsAreRemovedForTheNamedPortsOnly) {
  // An older vsd's table on eth0, one made by hand on eth1, and a table that is not vsd's.
  ASSERT_TRUE(nft({"add table netdev vsd; add chain netdev vsd ingress0 { type filter hook "
                   "ingress device \"eth0\" priority 0; policy drop; }"})
                  .ok());
  ASSERT_TRUE(nft({"add table netdev vsd_eth1; add chain netdev vsd_eth1 ingress { type filter "
                   "hook ingress device \"eth1\" priority 0; policy drop; }"})
                  .ok());
  ASSERT_TRUE(nft({"add table netdev mine; add chain netdev mine c { type filter hook ingress "
                   "device \"eth1\" priority 0; }"})
                  .ok());
  auto nft_session = session();

  auto removed = remove_leftover_tables(*nft_session, {"eth1"});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].name, "vsd_eth1");
  EXPECT_TRUE(nft({"list", "table", "netdev", "vsd"}).ok());

  // A live owner's table stays when every leftover goes.
  auto owned = claim({"eth1"});
  removed = remove_leftover_tables(*nft_session, {});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].name, "vsd");
  EXPECT_EQ(removed[0].devices, std::vector<std::string>{"eth0"});
  EXPECT_TRUE(nft({"list", "table", "netdev", "vsd_eth1"}).ok());
  EXPECT_TRUE(nft({"list", "table", "netdev", "mine"}).ok());
  EXPECT_TRUE(remove_leftover_tables(*nft_session, {}).empty());
}

// A child started while the table is held (vslab bench's load generators beside its bounce
// forwarder) does not inherit the socket that owns it, so it cannot keep the table alive.
TEST_F(IngressDropInNetns, AChildStartedMeanwhileDoesNotKeepTheTable) {
  auto drop = claim({"eth0"});
  auto child = vslab::os::ChildProcess::spawn({"sleep", "30"});
  drop.reset();
  // The child may hold a copy until its exec closes it: a moment, where an inherited socket
  // would keep the table for the child's 30 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline)
    gone = !nft({"list", "table", "netdev", "vsd_eth0"}).ok();
  EXPECT_TRUE(gone) << "the child kept it";
}

// A claim removes the leftovers on its own ports first, and says which.
TEST_F(IngressDropInNetns, AClaimRemovesTheLeftoversOnItsPorts) {
  ASSERT_TRUE(nft({"add table netdev vsd; add chain netdev vsd ingress0 { type filter hook "
                   "ingress device \"eth0\" priority 0; policy drop; }"})
                  .ok());
  auto drop = claim({"eth0"});
  ASSERT_EQ(drop->leftovers_removed().size(), 1u);
  EXPECT_EQ(drop->leftovers_removed()[0].name, "vsd");
  EXPECT_FALSE(nft({"list", "table", "netdev", "vsd"}).ok());
}

}  // namespace
}  // namespace vsd
