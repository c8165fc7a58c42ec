// DR forwarding checked against spec section 2 "DR" and section 12: only the MACs, the TTL and
// the IP checksum change.
#include "fwd/dr.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const EthAddrs kToRealServer{mac(kDirectorIntMac), mac(kRsMac)};

Bytes client_syn() {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x10);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header /
               tcp(40000, 80, Tins::TCP::SYN, 1000) / Tins::RawPDU(payload_bytes(5));
  return serialize(frame);
}

// The bytes DR may change: Ethernet addresses, TTL and the IP checksum.
bool may_change(std::size_t at) {
  return at < 12 || at == 14 + 8 || at == 24 || at == 25;
}

TEST(DrForward, ChangesOnlyMacsTtlAndIpChecksum) {
  Bytes before = client_syn();
  Bytes frame = before;
  dr_forward(span_of(frame), view_of(frame), kToRealServer);

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kRsMac);
  EXPECT_EQ(out.src_addr().to_string(), kDirectorIntMac);
  const auto& ip4 = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kCip);
  EXPECT_EQ(ip4.dst_addr().to_string(), kVip);
  EXPECT_EQ(ip4.ttl(), 63);
  EXPECT_EQ(ip4.tos(), 0x10);
  EXPECT_EQ(ip4.flags(), Tins::IP::DONT_FRAGMENT);
  EXPECT_EQ(out.rfind_pdu<Tins::TCP>().dport(), 80);
  EXPECT_EQ(out.rfind_pdu<Tins::TCP>().sport(), 40000);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
  ASSERT_EQ(frame.size(), before.size());
  for (std::size_t at = 0; at < frame.size(); ++at) {
    if (!may_change(at)) {
      EXPECT_EQ(frame[at], before[at]) << "byte " << at;
    }
  }
}

TEST(DrForward, LeavesAWrongTcpChecksumAlone) {
  Bytes frame = client_syn();
  put_be16(frame, 34 + 16, 0xbeef);
  dr_forward(span_of(frame), view_of(frame), kToRealServer);
  EXPECT_EQ(be16(frame, 34 + 16), 0xbeef);
  EXPECT_TRUE(ip_checksum_valid(frame));
}

TEST(DrForward, ForwardsAClientIcmpErrorAboutTheConnectionUnchangedInside) {
  // Spec section 3: the client's port unreachable about a reply from the VIP goes to the RS
  // with a MAC rewrite and TTL - 1.
  auto reply = ipv4(kVip, kCip, 63) / tcp(80, 40000, Tins::TCP::ACK);
  Bytes before = icmp_error_frame(kClientMac, kDirectorExtMac, kCip, kVip, 3, 3, quote_of(reply));
  Bytes frame = before;
  dr_forward(span_of(frame), view_of(frame), kToRealServer);
  EXPECT_EQ(parse(frame).rfind_pdu<Tins::IP>().ttl(), 63);
  EXPECT_EQ(Bytes(frame.begin() + 34, frame.end()), Bytes(before.begin() + 34, before.end()));
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

}  // namespace
}  // namespace vsd::fwd
