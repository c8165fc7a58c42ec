// FULLNAT rewrites checked against spec section 2 "FULLNAT" and section 12: both endpoints
// change, TTL - 1, checksums valid, payload the same.
#include "fwd/fullnat.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const EthAddrs kToRealServer{mac(kDirectorIntMac), mac(kRsMac)};
const EthAddrs kToClient{mac(kDirectorExtMac), mac(kClientMac)};
const Endpoint kLocal{ip(kLip), 5001};
const Endpoint kRealServer{ip(kRip), 8080};
const Endpoint kService{ip(kVip), 80};
const Endpoint kClient{ip(kCip), 40000};

Bytes client_segment() {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x08);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header /
               tcp(40000, 80, Tins::TCP::PSH | Tins::TCP::ACK, 1000, 2000) /
               Tins::RawPDU(payload_bytes(77));
  return serialize(frame);
}

Bytes client_datagram() {
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) / Tins::UDP(80, 40000) /
               Tins::RawPDU(payload_bytes(13));
  return serialize(frame);
}

TEST(FullnatIn, RewritesBothEndpoints) {
  Bytes frame = client_segment();
  fullnat_in(span_of(frame), view_of(frame), kLocal, kRealServer, kToRealServer);

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kRsMac);
  EXPECT_EQ(out.src_addr().to_string(), kDirectorIntMac);
  const auto& ip4 = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kLip);
  EXPECT_EQ(ip4.dst_addr().to_string(), kRip);
  EXPECT_EQ(ip4.ttl(), 63);
  EXPECT_EQ(ip4.tos(), 0x08);
  EXPECT_EQ(ip4.flags(), Tins::IP::DONT_FRAGMENT);
  const auto& segment = out.rfind_pdu<Tins::TCP>();
  EXPECT_EQ(segment.sport(), 5001);
  EXPECT_EQ(segment.dport(), 8080);
  EXPECT_EQ(segment.seq(), 1000u);
  EXPECT_EQ(out.rfind_pdu<Tins::RawPDU>().payload(), payload_bytes(77));
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

TEST(FullnatOut, RewritesBothEndpointsBack) {
  auto built = ethernet(kRsMac, kDirectorIntMac) / ipv4(kRip, kLip) /
               tcp(8080, 5001, Tins::TCP::ACK, 2000, 1077) / Tins::RawPDU(payload_bytes(40));
  Bytes frame = serialize(built);
  fullnat_out(span_of(frame), view_of(frame), kService, kClient, kToClient);

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kClientMac);
  EXPECT_EQ(out.src_addr().to_string(), kDirectorExtMac);
  const auto& ip4 = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kVip);
  EXPECT_EQ(ip4.dst_addr().to_string(), kCip);
  EXPECT_EQ(ip4.ttl(), 63);
  const auto& segment = out.rfind_pdu<Tins::TCP>();
  EXPECT_EQ(segment.sport(), 80);
  EXPECT_EQ(segment.dport(), 40000);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

TEST(FullnatIn, UpdatesAUdpChecksumAndComputesAZeroOne) {
  Bytes frame = client_datagram();
  fullnat_in(span_of(frame), view_of(frame), kLocal, kRealServer, kToRealServer);
  EXPECT_TRUE(l4_checksum_valid(frame));
  EXPECT_EQ(be16(frame, 34), 5001);
  EXPECT_EQ(be16(frame, 36), 8080);

  Bytes unchecked = client_datagram();
  put_be16(unchecked, 34 + 6, 0);
  fullnat_in(span_of(unchecked), view_of(unchecked), kLocal, kRealServer, kToRealServer);
  EXPECT_NE(be16(unchecked, 34 + 6), 0);
  EXPECT_TRUE(l4_checksum_valid(unchecked));
  EXPECT_TRUE(ip_checksum_valid(unchecked));
}

TEST(FullnatIn, AWrongChecksumStaysExactlyAsWrong) {
  Bytes frame = client_segment();
  put_be16(frame, 34 + 16, uint16_t(be16(frame, 34 + 16) ^ 0x00ff));
  uint16_t wrongness = l4_residual(frame);
  fullnat_in(span_of(frame), view_of(frame), kLocal, kRealServer, kToRealServer);
  EXPECT_EQ(l4_residual(frame), wrongness);
}

}  // namespace
}  // namespace vsd::fwd
