// Addresses of either family parse as inet_pton takes them and print as inet_ntop prints them
// (what ipvsadm shows), IPv4 ones convert both ways without loss.
#include "net/ip_addr.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

TEST(IpAddr, ParsesBothFamiliesAndPrintsTheCanonicalForm) {
  auto v4 = IpAddr::parse("10.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->v4(), Ipv4::from_octets(10, 0, 0, 1));
  EXPECT_EQ(v4->str(), "10.0.0.1");
  // inet_ntop: lower case, the longest run of zero groups as "::", leading zeros dropped.
  for (auto [in, out] :
       {std::pair{"2001:0DB8:0:0:0:0:0:0080", "2001:db8::80"},
        std::pair{"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"}, std::pair{"::", "::"},
        std::pair{"::ffff:10.0.0.1", "::ffff:10.0.0.1"}, std::pair{"fe80::1", "fe80::1"}}) {
    auto a = IpAddr::parse(in);
    ASSERT_TRUE(a) << in;
    EXPECT_TRUE(a->is_v6()) << in;
    EXPECT_EQ(a->str(), out) << in;
  }
}

TEST(IpAddr, RejectsWhatIsNotAnAddress) {
  for (const char* bad : {"", "10.0.0.1:80", "[2001:db8::1]", "2001:db8::1/64", "2001:db8:::1",
                          "1:2:3:4:5:6:7:8:9", "g::1", " ::1", "0x0a000001"})
    EXPECT_FALSE(IpAddr::parse(bad)) << bad;
  EXPECT_FALSE(IpAddr::parse_v6("10.0.0.1"));
}

TEST(IpAddr, ConvertsFromIpv4WithoutLossAndOrdersFamiliesApart) {
  const Ipv4 a = Ipv4::from_octets(192, 168, 1, 200);
  const IpAddr wide = a;
  EXPECT_EQ(wide.v4(), a);
  EXPECT_EQ(wide, *IpAddr::parse("192.168.1.200"));
  EXPECT_LT(IpAddr(Ipv4::from_octets(10, 0, 0, 9)), IpAddr(Ipv4::from_octets(10, 0, 0, 10)));
  EXPECT_LT(IpAddr(Ipv4::from_octets(255, 255, 255, 255)), *IpAddr::parse("::"));
  EXPECT_NE(IpAddr::zero(Family::V4), IpAddr::zero(Family::V6));
  EXPECT_NE(hash_of(IpAddr::zero(Family::V4)), hash_of(IpAddr::zero(Family::V6)));
}

TEST(IpAddr, KeepsAPrefix) {
  auto a = *IpAddr::parse("2001:db8:aaaa:bbbb::1");
  EXPECT_EQ(a.prefix(64).str(), "2001:db8:aaaa:bbbb::");
  EXPECT_EQ(a.prefix(36).str(), "2001:db8:a000::");
  EXPECT_EQ(a.prefix(128), a);
  EXPECT_EQ(a.prefix(0).str(), "::");
}

TEST(IpEndpoint, BracketsIpv6AsIpvsadmPrintsAddrPort) {
  EXPECT_EQ(IpEndpoint(Endpoint{Ipv4::from_octets(10, 0, 0, 1), 80}).str(), "10.0.0.1:80");
  EXPECT_EQ(IpEndpoint(*IpAddr::parse("2001:db8::1"), 443).str(), "[2001:db8::1]:443");
  const Endpoint v4{Ipv4::from_octets(10, 1, 2, 3), 8080};
  EXPECT_EQ(IpEndpoint(v4).v4(), v4);
}

}  // namespace
}  // namespace vsd
