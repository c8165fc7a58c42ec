// Route lookup as the kernel's FIB answers it for the director's simple tables.
#include "io/routes.h"

#include <gtest/gtest.h>

#include <random>

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

// /proc/net/ipv6_route of the NAT topology's director, as Linux 6.1 prints it: the connected
// prefixes, the default route, the link-local ones, and the local and multicast routes (on lo
// and ff00::/8) that are no way out.
const char* kNatDirector6 =
    "fd000020000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
    "fd000168001000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000020000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n"
    "fd000020000000000000000000000002 80 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n"
    "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0\n"
    "fd000099000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000000     eth1\n";

TEST(Routes, ParsesProcNetIpv6Route) {
  auto routes = RoutingTable::parse_proc_net_ipv6_route(kNatDirector6);
  ASSERT_EQ(routes.size(), 3u);  // not lo's, not multicast, not a route that is down
  EXPECT_EQ(routes[0].ifname, "eth0");
  EXPECT_EQ(routes[0].prefix, 64);
  EXPECT_EQ(routes[0].destination[1], 0x00);
  EXPECT_EQ(routes[0].destination[3], 0x20);
  EXPECT_EQ(routes[1].ifname, "eth1");
  EXPECT_EQ(routes[2].prefix, 0);
  EXPECT_EQ(routes[2].gateway[15], 0x01);
  EXPECT_EQ(routes[2].metric, 0x400u);
}

TEST(Routes, SamePrefixComparesOnlyThePrefix) {
  const Ip6 a{0xfd, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
  const Ip6 b{0xfd, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  const Ip6 c{0xfd, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  EXPECT_TRUE(same_prefix(a, b, 64));
  EXPECT_FALSE(same_prefix(a, b, 128));
  EXPECT_TRUE(same_prefix(a, c, 31));
  EXPECT_FALSE(same_prefix(a, c, 32));
  EXPECT_TRUE(same_prefix(a, c, 0));
}

// The order of the bytes, which the sorted VIP list was sorted by (std::array's <).
TEST(Routes, Ip6LessOrdersAsTheBytesDo) {
  std::mt19937 random(7);
  auto address = [&] {
    Ip6 a{};
    for (auto& b : a) b = uint8_t(random() % 4 == 0 ? 0 : random());
    return a;
  };
  for (int i = 0; i < 2000; ++i) {
    const Ip6 a = address();
    Ip6 b = i % 2 ? address() : a;
    if (i % 4 == 0) b[std::size_t(random() % 16)] ^= uint8_t(1u << (random() % 8));
    EXPECT_EQ(ip6_less(a, b), a < b);
    EXPECT_EQ(ip6_less(b, a), b < a);
  }
  const Ip6 low{0x00, 0xff};
  const Ip6 high{0x01};
  EXPECT_TRUE(ip6_less(low, high));
  EXPECT_FALSE(ip6_less(high, low));
  EXPECT_FALSE(ip6_less(low, low));
}

TEST(Routes, Prefix6HoldsWhatItsLengthSays) {
  const Ip6 a{0xfd, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
  const Ip6 b{0xfd, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  const Ip6 c{0xfd, 0, 0, 0x21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
  EXPECT_TRUE(Prefix6(a, 64).contains(b));
  EXPECT_FALSE(Prefix6(a, 128).contains(b));
  EXPECT_TRUE(Prefix6(a, 128).contains(a));
  EXPECT_TRUE(Prefix6(a, 31).contains(c));
  EXPECT_FALSE(Prefix6(a, 32).contains(c));
  EXPECT_TRUE(Prefix6(a, 0).contains(c));
  // Host bits set in the route's own address do not matter, as in a route's destination.
  EXPECT_FALSE(Prefix6(b, 120).contains(a));
  EXPECT_TRUE(Prefix6(b, 112).contains(a));
  // Every length, against an address differing from `a` in one bit at each position: in the
  // prefix exactly when the bit lies past its length.
  for (int length = 0; length <= 128; ++length)
    for (int bit = 0; bit < 128; ++bit) {
      Ip6 d = a;
      d[std::size_t(bit / 8)] ^= uint8_t(0x80 >> (bit % 8));
      EXPECT_EQ(Prefix6(a, length).contains(d), bit >= length) << length << " " << bit;
    }
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
