// The classifier as an iptables chain of MARK rules: first match wins, protocols, prefixes and
// inclusive port ranges; packets no rule takes get no mark.
#include "config/mark_classifier.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

MarkRule rule(uint32_t mark, MarkProto proto, const char* net, uint8_t len, uint16_t lo,
              uint16_t hi) {
  return MarkRule{mark, proto, ip(net), len, lo, hi};
}

uint32_t mark_of(const MarkClassifier& c, Proto proto, const char* dst, uint16_t dport) {
  return c.mark(proto, Endpoint{ip(dst), dport});
}

TEST(MarkClassifier, NoRulesNoMark) {
  MarkClassifier none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(mark_of(none, Proto::Tcp, "10.20.0.100", 80), 0u);
}

TEST(MarkClassifier, PortRangeIsInclusiveAtBothEnds) {
  MarkClassifier c({rule(1, MarkProto::Tcp, "10.20.0.100", 32, 80, 81)});
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 79), 0u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 80), 1u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 81), 1u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 82), 0u);
}

TEST(MarkClassifier, HostPrefixTakesOnlyThatAddress) {
  MarkClassifier c({rule(1, MarkProto::Any, "10.20.0.100", 32, 0, 65535)});
  EXPECT_EQ(mark_of(c, Proto::Udp, "10.20.0.100", 53), 1u);
  EXPECT_EQ(mark_of(c, Proto::Udp, "10.20.0.101", 53), 0u);
}

TEST(MarkClassifier, PrefixTakesItsWholeNetwork) {
  MarkClassifier c({rule(5, MarkProto::Any, "10.20.0.0", 24, 0, 65535)});
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.0", 1), 5u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.255", 1), 5u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.1.0", 1), 0u);
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.19.255.255", 1), 0u);
}

TEST(MarkClassifier, ZeroPrefixTakesEveryDestination) {
  MarkClassifier c({rule(9, MarkProto::Udp, "0.0.0.0", 0, 53, 53)});
  EXPECT_EQ(mark_of(c, Proto::Udp, "1.2.3.4", 53), 9u);
  EXPECT_EQ(mark_of(c, Proto::Udp, "255.255.255.255", 53), 9u);
}

TEST(MarkClassifier, ProtocolMustMatchAndAnyMeansTcpOrUdp) {
  MarkClassifier udp_only({rule(2, MarkProto::Udp, "10.0.0.1", 32, 0, 65535)});
  EXPECT_EQ(mark_of(udp_only, Proto::Tcp, "10.0.0.1", 80), 0u);
  EXPECT_EQ(mark_of(udp_only, Proto::Udp, "10.0.0.1", 80), 2u);
  // IPVS schedules no ICMP, so no rule marks it, not even "any".
  MarkClassifier any({rule(3, MarkProto::Any, "10.0.0.1", 32, 0, 65535)});
  EXPECT_EQ(mark_of(any, Proto::Icmp, "10.0.0.1", 0), 0u);
  EXPECT_EQ(mark_of(any, Proto::Tcp, "10.0.0.1", 0), 3u);
}

TEST(MarkClassifier, FirstMatchWinsEvenWhenALaterRuleIsMoreSpecific) {
  MarkClassifier c({rule(1, MarkProto::Any, "10.20.0.0", 16, 0, 65535),
                    rule(2, MarkProto::Tcp, "10.20.0.100", 32, 80, 80)});
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 80), 1u);
  MarkClassifier reversed({rule(2, MarkProto::Tcp, "10.20.0.100", 32, 80, 80),
                           rule(1, MarkProto::Any, "10.20.0.0", 16, 0, 65535)});
  EXPECT_EQ(mark_of(reversed, Proto::Tcp, "10.20.0.100", 80), 2u);
  EXPECT_EQ(mark_of(reversed, Proto::Tcp, "10.20.0.100", 443), 1u);
}

TEST(MarkClassifier, ARuleThatDoesNotMatchFallsThroughToTheNext) {
  MarkClassifier c({rule(1, MarkProto::Udp, "10.20.0.100", 32, 80, 81),
                    rule(2, MarkProto::Tcp, "10.20.0.100", 32, 443, 443),
                    rule(3, MarkProto::Tcp, "10.20.0.100", 32, 80, 81)});
  EXPECT_EQ(mark_of(c, Proto::Tcp, "10.20.0.100", 81), 3u);
}

MarkRule rule6(uint32_t mark, MarkProto proto, const char* net, uint8_t len, uint16_t lo,
               uint16_t hi) {
  return MarkRule{mark, proto, *IpAddr::parse_v6(net), len, lo, hi};
}

uint32_t mark6_of(const MarkClassifier& c, Proto proto, const char* dst, uint16_t dport) {
  return c.mark6(proto, IpAddr::parse_v6(dst)->bytes, dport);
}

TEST(MarkClassifier6, PrefixesPortsAndProtocolsAsForIpv4) {
  MarkClassifier c({rule6(1, MarkProto::Tcp, "fd00:20::100", 128, 80, 81),
                    rule6(2, MarkProto::Any, "fd00:30::", 33, 0, 65535)});
  EXPECT_TRUE(c.has_ipv6_rules());
  EXPECT_EQ(mark6_of(c, Proto::Tcp, "fd00:20::100", 80), 1u);
  EXPECT_EQ(mark6_of(c, Proto::Tcp, "fd00:20::100", 82), 0u);
  EXPECT_EQ(mark6_of(c, Proto::Udp, "fd00:20::100", 80), 0u);
  EXPECT_EQ(mark6_of(c, Proto::Tcp, "fd00:20::101", 80), 0u);
  // /33 ends one bit into the fifth byte.
  EXPECT_EQ(mark6_of(c, Proto::Udp, "fd00:30:0:7fff::1", 53), 2u);
  EXPECT_EQ(mark6_of(c, Proto::Udp, "fd00:30:8000::1", 53), 0u);
  EXPECT_EQ(mark6_of(c, Proto::Icmp, "fd00:30::1", 0), 0u);
}

TEST(MarkClassifier6, FirstMatchWinsAndZeroPrefixTakesAll) {
  MarkClassifier c({rule6(5, MarkProto::Udp, "fd00:20::100", 128, 53, 53),
                    rule6(6, MarkProto::Any, "::", 0, 0, 65535)});
  EXPECT_EQ(mark6_of(c, Proto::Udp, "fd00:20::100", 53), 5u);
  EXPECT_EQ(mark6_of(c, Proto::Udp, "2001:db8::1", 53), 6u);
  EXPECT_EQ(mark6_of(c, Proto::Tcp, "fd00:20::100", 53), 6u);
}

TEST(MarkClassifier6, EachFamilyHasItsOwnRules) {
  MarkClassifier v4({rule(1, MarkProto::Any, "0.0.0.0", 0, 0, 65535)});
  EXPECT_FALSE(v4.has_ipv6_rules());
  EXPECT_EQ(mark6_of(v4, Proto::Tcp, "::", 80), 0u);
  EXPECT_EQ(mark6_of(v4, Proto::Tcp, "fd00::1", 80), 0u);
  MarkClassifier v6({rule6(2, MarkProto::Any, "::", 0, 0, 65535)});
  EXPECT_FALSE(v6.empty());
  EXPECT_EQ(mark_of(v6, Proto::Tcp, "10.0.0.1", 80), 0u);
  EXPECT_EQ(mark_of(v6, Proto::Tcp, "0.0.0.0", 80), 0u);
}

}  // namespace
}  // namespace vsd
