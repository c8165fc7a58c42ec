// The automatic flow label: one flow keeps one label, in either direction; flows that differ
// in any hashed field get different labels; a different key gives different labels; never 0.
#include "fwd/flow_label.h"

#include <gtest/gtest.h>

#include <set>

namespace vsd::fwd {
namespace {

constexpr Ip6 kVip{0xfd, 0, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0};
constexpr Ip6 kCip{0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};
constexpr SipKey kKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

Flow6 reset(uint16_t cport) {
  return {kVip, kCip, 6, 80, cport};
}

TEST(AutoFlowLabel, OneFlowKeepsOneLabelInEitherDirection) {
  const uint32_t label = auto_flow_label(kKey, reset(40000));
  EXPECT_EQ(auto_flow_label(kKey, reset(40000)), label);
  EXPECT_EQ(auto_flow_label(kKey, {kCip, kVip, 6, 40000, 80}), label);
  EXPECT_NE(label, 0u);
  EXPECT_LE(label, 0xfffffu);
}

TEST(AutoFlowLabel, EveryHashedFieldTellsFlowsApart) {
  const uint32_t label = auto_flow_label(kKey, reset(40000));
  EXPECT_NE(auto_flow_label(kKey, reset(40001)), label);
  EXPECT_NE(auto_flow_label(kKey, {kVip, kCip, 6, 81, 40000}), label);
  EXPECT_NE(auto_flow_label(kKey, {kVip, kCip, 17, 80, 40000}), label);
  Ip6 other = kCip;
  other[15] = 3;
  EXPECT_NE(auto_flow_label(kKey, {kVip, other, 6, 80, 40000}), label);
  // ICMPv6: type and code in the destination port's place.
  const Flow6 port_unreachable{kVip, kCip, 58, 0, icmp6_flow_port(1, 4)};
  const Flow6 time_exceeded{kVip, kCip, 58, 0, icmp6_flow_port(3, 0)};
  EXPECT_NE(auto_flow_label(kKey, port_unreachable), auto_flow_label(kKey, time_exceeded));
}

TEST(AutoFlowLabel, TheKeyDecidesTheLabels) {
  const SipKey other{kKey.k0 + 1, kKey.k1};
  EXPECT_NE(auto_flow_label(other, reset(40000)), auto_flow_label(kKey, reset(40000)));
}

TEST(AutoFlowLabel, AThousandFlowsAreSpreadOverTwentyBitsAndNoneIsZero) {
  std::set<uint32_t> labels;
  uint32_t seen_bits = 0;
  for (uint16_t port = 1024; port < 2024; ++port) {
    const uint32_t label = auto_flow_label(kKey, reset(port));
    EXPECT_NE(label, 0u);
    seen_bits |= label;
    labels.insert(label);
  }
  // 1000 draws from 2^20 values: a collision or two at most (about 0.5 expected).
  EXPECT_GE(labels.size(), 995u);
  EXPECT_EQ(seen_bits, 0xfffffu);
}

TEST(AutoFlowLabel, TheProcessKeyIsDrawnOnceAndTheWordCarriesVersionClassAndLabel) {
  EXPECT_EQ(&process_flow_key(), &process_flow_key());
  const Flow6 flow = reset(40000);
  const uint32_t word = ipv6_first_word(0x28, flow);
  EXPECT_EQ(word >> 28, 6u);
  EXPECT_EQ((word >> 20) & 0xff, 0x28u);
  EXPECT_EQ(word & 0xfffff, auto_flow_label(process_flow_key(), flow));
  EXPECT_EQ(ipv6_first_word(0, flow) & 0xfffff, word & 0xfffff);
}

}  // namespace
}  // namespace vsd::fwd
