// FULLNAT over IPv6: every rewritten field checked with libtins, and the checksums against
// libtins's own, computed afresh when it writes the frame again.
#include "fwd/fullnat6.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <vector>

namespace vsd::fwd {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kCip = "fd00:10::2";
constexpr const char* kVip = "fd00:60::100";
constexpr const char* kLip = "fd00:168:60::200";
constexpr const char* kRip = "fd00:168:60::11";
const Mac kFrom{{0x02, 0, 0, 0, 0, 0x07}};

Ip6 ip6(const char* text) {
  Tins::IPv6Address a(text);
  Ip6 out;
  std::copy(a.begin(), a.end(), out.begin());
  return out;
}

Bytes recomputed(const Bytes& frame) {
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  return e.serialize();
}

Bytes frame_of(const char* src, const char* dst, Tins::PDU&& l4) {
  Tins::IPv6 ip(dst, src);
  ip.hop_limit(62);
  auto f = Tins::EthernetII("02:00:00:00:00:02", "02:00:00:00:00:01") / ip / l4 /
           Tins::RawPDU("payload");
  return f.serialize();
}

TEST(FullNatIn6, RewritesBothEndsHopLimitAndTcpChecksum) {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  Bytes frame = frame_of(kCip, kVip, std::move(syn));
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  fullnat_in6(frame, *p, {ip6(kLip), 5000}, {ip6(kRip), 8080}, kFrom);
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  const auto& ip = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(ip.src_addr().to_string(), kLip);
  EXPECT_EQ(ip.dst_addr().to_string(), kRip);
  EXPECT_EQ(ip.hop_limit(), 61);
  EXPECT_EQ(e.rfind_pdu<Tins::TCP>().sport(), 5000);
  EXPECT_EQ(e.rfind_pdu<Tins::TCP>().dport(), 8080);
  EXPECT_EQ(e.src_addr().to_string(), "02:00:00:00:00:07");
  EXPECT_EQ(frame, recomputed(frame));
}

TEST(FullNatOut6, RewritesAUdpReplyBackToTheClient) {
  Bytes frame = frame_of(kRip, kLip, Tins::UDP(5001, 8053));
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  fullnat_out6(frame, *p, {ip6(kVip), 53}, {ip6(kCip), 40001}, kFrom);
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  const auto& ip = e.rfind_pdu<Tins::IPv6>();
  EXPECT_EQ(ip.src_addr().to_string(), kVip);
  EXPECT_EQ(ip.dst_addr().to_string(), kCip);
  EXPECT_EQ(e.rfind_pdu<Tins::UDP>().sport(), 53);
  EXPECT_EQ(e.rfind_pdu<Tins::UDP>().dport(), 40001);
  EXPECT_EQ(frame, recomputed(frame));
}

}  // namespace
}  // namespace vsd::fwd
