// Route lookup as the kernel's FIB answers it for the director's simple tables.
#include "io/routes.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

// /proc/net/route of the NAT topology's director (addresses are little-endian hex of the
// network-order value, as the kernel prints them).
const char* kNatDirector =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0100140A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t0000140A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "eth1\t000AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

RoutingTable nat_director() {
  RoutingTable t;
  for (auto& r : RoutingTable::parse_proc_net_route(kNatDirector)) t.add_route(r);
  t.add_address({"eth0", *Ipv4::parse("10.20.0.2"), 24});
  t.add_address({"eth1", *Ipv4::parse("192.168.10.1"), 24});
  return t;
}

TEST(Routes, ParsesProcNetRoute) {
  auto routes = RoutingTable::parse_proc_net_route(kNatDirector);
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].gateway.str(), "10.20.0.1");
  EXPECT_EQ(routes[1].destination.str(), "10.20.0.0");
  EXPECT_EQ(routes[1].mask.str(), "255.255.255.0");
  EXPECT_EQ(routes[2].ifname, "eth1");
}

TEST(Routes, ConnectedDestinationIsItsOwnNextHop) {
  auto hop = nat_director().lookup(*Ipv4::parse("192.168.10.12"));
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->ifname, "eth1");
  EXPECT_EQ(hop->address.str(), "192.168.10.12");
}

TEST(Routes, EverythingElseGoesToTheDefaultGateway) {
  auto hop = nat_director().lookup(*Ipv4::parse("10.10.0.2"));
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->ifname, "eth0");
  EXPECT_EQ(hop->address.str(), "10.20.0.1");
}

TEST(Routes, NoRouteIsNothing) {
  RoutingTable t;
  EXPECT_FALSE(t.lookup(*Ipv4::parse("1.2.3.4")));
}

TEST(Routes, KnowsItsOwnAddresses) {
  auto t = nat_director();
  EXPECT_TRUE(t.is_local(*Ipv4::parse("192.168.10.1")));
  EXPECT_FALSE(t.is_local(*Ipv4::parse("192.168.10.11")));
  EXPECT_EQ(t.address_of("eth1")->str(), "192.168.10.1");
}

}  // namespace
}  // namespace vsd
