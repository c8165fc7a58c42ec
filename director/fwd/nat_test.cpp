// NAT rewrites checked field by field against spec section 2 "NAT / masquerading", section 3's
// ICMP example, and section 12's table. Input frames are built and results parsed with libtins.
#include "fwd/nat.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const EthAddrs kToRealServer{mac(kDirectorIntMac), mac(kRsMac)};
const EthAddrs kToClient{mac(kDirectorExtMac), mac(kClientMac)};
const Endpoint kRealServer{ip(kRip), 8080};
const Endpoint kService{ip(kVip), 80};

Bytes client_segment(uint16_t flags = Tins::TCP::PSH | Tins::TCP::ACK) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x28);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, flags, 1000, 555) /
               Tins::RawPDU(payload_bytes(31));
  return serialize(frame);
}

Bytes client_datagram() {
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) / Tins::UDP(53, 4000) /
               Tins::RawPDU(payload_bytes(25));
  return serialize(frame);
}

Bytes server_reply() {
  auto frame = ethernet(kRsMac, kDirectorIntMac) / ipv4(kRip, kCip) /
               tcp(8080, 40000, Tins::TCP::SYN | Tins::TCP::ACK, 7000, 1001);
  return serialize(frame);
}

TEST(NatIn, RewritesDestinationToTheRealServerAndKeepsTheRest) {
  Bytes frame = client_segment();
  nat_in(span_of(frame), view_of(frame), kRealServer, kToRealServer);

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kRsMac);
  EXPECT_EQ(out.src_addr().to_string(), kDirectorIntMac);
  const auto& ip4 = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kCip);
  EXPECT_EQ(ip4.dst_addr().to_string(), kRip);
  EXPECT_EQ(ip4.ttl(), 63);
  EXPECT_EQ(ip4.tos(), 0x28);
  EXPECT_EQ(ip4.id(), 0x1234);
  EXPECT_EQ(ip4.flags(), Tins::IP::DONT_FRAGMENT);
  const auto& segment = out.rfind_pdu<Tins::TCP>();
  EXPECT_EQ(segment.sport(), 40000);
  EXPECT_EQ(segment.dport(), 8080);
  EXPECT_EQ(segment.seq(), 1000u);
  EXPECT_EQ(segment.ack_seq(), 555u);
  EXPECT_EQ(out.rfind_pdu<Tins::RawPDU>().payload(), payload_bytes(31));
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

TEST(NatIn, UpdatesAUdpChecksum) {
  Bytes frame = client_datagram();
  nat_in(span_of(frame), view_of(frame), {ip(kRip), 5353}, kToRealServer);
  const auto datagram = parse(frame).rfind_pdu<Tins::UDP>();
  EXPECT_EQ(datagram.dport(), 5353);
  EXPECT_EQ(datagram.sport(), 4000);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

// Linux 6.1 in the qemu guest sends such a datagram on with a checksum computed in full
// (docs/ipvs.md section 2, NAT).
TEST(NatIn, AZeroUdpChecksumLeavesComputed) {
  Bytes frame = client_datagram();
  put_be16(frame, 34 + 6, 0);
  nat_in(span_of(frame), view_of(frame), {ip(kRip), 5353}, kToRealServer);
  EXPECT_NE(be16(frame, 34 + 6), 0);
  EXPECT_TRUE(l4_checksum_valid(frame));
  EXPECT_EQ(be16(frame, 34 + 2), 5353);
  EXPECT_TRUE(ip_checksum_valid(frame));
}

TEST(NatIn, AWrongTcpChecksumStaysExactlyAsWrong) {
  Bytes frame = client_segment();
  put_be16(frame, 34 + 16, uint16_t(be16(frame, 34 + 16) + 0x0101));
  uint16_t wrongness = l4_residual(frame);
  ASSERT_NE(wrongness, 0xffff);
  nat_in(span_of(frame), view_of(frame), kRealServer, kToRealServer);
  EXPECT_EQ(l4_residual(frame), wrongness);
  EXPECT_TRUE(ip_checksum_valid(frame));
}

TEST(NatIn, AWrongUdpChecksumStaysExactlyAsWrong) {
  Bytes frame = client_datagram();
  put_be16(frame, 34 + 6, uint16_t(be16(frame, 34 + 6) ^ 0x8000));
  uint16_t wrongness = l4_residual(frame);
  nat_in(span_of(frame), view_of(frame), {ip(kRip), 5353}, kToRealServer);
  EXPECT_EQ(l4_residual(frame), wrongness);
}

TEST(NatIn, KeepsIpOptions) {
  Tins::IP header = ipv4(kCip, kVip);
  header.add_option(record_route_option());
  auto built = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, Tins::TCP::SYN);
  Bytes frame = serialize(built);
  fix_l4_checksum(frame);
  ASSERT_TRUE(l4_checksum_valid(frame));
  Bytes options_before(frame.begin() + 34, frame.begin() + 42);
  nat_in(span_of(frame), view_of(frame), kRealServer, kToRealServer);
  EXPECT_EQ(Bytes(frame.begin() + 34, frame.begin() + 42), options_before);
  EXPECT_EQ(be16(frame, 42 + 2), 8080);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

TEST(RecordRoute, FillsTheNextSlotAndKeepsTheHeaderValid) {
  // Spec section 2: "a record-route option gets an address filled in".
  Tins::IP header = ipv4(kCip, kVip);
  header.add_option(record_route_option());
  auto built = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, Tins::TCP::SYN);
  Bytes frame = serialize(built);
  fix_l4_checksum(frame);
  PacketView view = view_of(frame);
  nat_in(span_of(frame), view, kRealServer, kToRealServer);
  ASSERT_TRUE(fill_record_route(span_of(frame), view, ip(kVip)));
  // Option at 34: type 7, length 7, pointer now 8 (full), the slot at 37 holds the address.
  EXPECT_EQ(frame[36], 8);
  EXPECT_EQ(Ipv4::from_host(be32(frame, 37)), ip(kVip));
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
  EXPECT_FALSE(fill_record_route(span_of(frame), view, ip(kVip)));  // full now
}

TEST(NatOut, RewritesTheSourceToTheServiceAndKeepsTheClient) {
  Bytes frame = server_reply();
  nat_out(span_of(frame), view_of(frame), kService, kToClient);

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
  EXPECT_EQ(segment.seq(), 7000u);
  EXPECT_EQ(segment.ack_seq(), 1001u);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

// Spec section 3: RS 192.168.1.11 reports "udp port 5353 unreachable" about CIP:4000 ->
// RIP:5353; the client gets it from the VIP, quoting CIP:4000 -> VIP:53.
Bytes port_unreachable_from_real_server() {
  auto original = ipv4(kCip, kRip, 63) / Tins::UDP(5353, 4000) / Tins::RawPDU(payload_bytes(20));
  return icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 3, 3, quote_of(original));
}

TEST(NatIcmpOut, RewritesTheOuterSourceAndTheQuotedDestinationAsTheSpecExample) {
  Bytes frame = port_unreachable_from_real_server();
  uint16_t quoted_udp_checksum = be16(frame, 62 + 6);
  ASSERT_TRUE(nat_icmp_out(span_of(frame), view_of(frame), {ip(kVip), 53}, kToClient));

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kClientMac);
  EXPECT_EQ(out.src_addr().to_string(), kDirectorExtMac);
  const auto& outer = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kVip);
  EXPECT_EQ(outer.dst_addr().to_string(), kCip);
  EXPECT_EQ(outer.ttl(), 63);
  EXPECT_EQ(outer.tos(), 0xc0);
  const auto& icmp = out.rfind_pdu<Tins::ICMP>();
  EXPECT_EQ(icmp.type(), Tins::ICMP::DEST_UNREACHABLE);
  EXPECT_EQ(icmp.code(), 3);

  Tins::IP quoted(frame.data() + 42, uint32_t(frame.size() - 42));
  EXPECT_EQ(quoted.src_addr().to_string(), kCip);
  EXPECT_EQ(quoted.dst_addr().to_string(), kVip);
  EXPECT_EQ(quoted.ttl(), 63);  // embedded TTL unchanged
  const auto& quoted_udp = quoted.rfind_pdu<Tins::UDP>();
  EXPECT_EQ(quoted_udp.sport(), 4000);
  EXPECT_EQ(quoted_udp.dport(), 53);
  // As the kernel's ip_vs_nat_icmp: the quoted L4 checksum field is not touched.
  EXPECT_EQ(be16(frame, 62 + 6), quoted_udp_checksum);

  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(ip_checksum_valid(frame, 42));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

TEST(NatIcmpOut, RecomputesTheIcmpChecksumEvenWhenItArrivedWrong) {
  Bytes frame = port_unreachable_from_real_server();
  put_be16(frame, 34 + 2, uint16_t(be16(frame, 34 + 2) ^ 0x0f0f));
  ASSERT_TRUE(nat_icmp_out(span_of(frame), view_of(frame), {ip(kVip), 53}, kToClient));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

TEST(NatIcmpOut, LeavesAnErrorWithoutAQuoteAlone) {
  auto original = ipv4(kCip, kRip);
  Bytes frame = icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 3, 3, quote_of(original, 12));
  Bytes before = frame;
  EXPECT_FALSE(nat_icmp_out(span_of(frame), view_of(frame), {ip(kVip), 53}, kToClient));
  EXPECT_EQ(frame, before);
}

TEST(NatIcmpIn, RewritesTheOuterDestinationAndTheQuotedSource) {
  // The client reports port unreachable about a reply VIP:80 -> CIP:40000 it got.
  auto reply = ipv4(kVip, kCip, 63) / tcp(80, 40000, Tins::TCP::ACK, 7001, 1001);
  Bytes frame = icmp_error_frame(kClientMac, kDirectorExtMac, kCip, kVip, 3, 3, quote_of(reply));
  ASSERT_TRUE(nat_icmp_in(span_of(frame), view_of(frame), kRealServer, kToRealServer));

  auto out = parse(frame);
  EXPECT_EQ(out.dst_addr().to_string(), kRsMac);
  const auto& outer = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kCip);
  EXPECT_EQ(outer.dst_addr().to_string(), kRip);
  EXPECT_EQ(outer.ttl(), 63);
  // The quote holds 8 bytes of TCP, too few for libtins: read it by offset (quoted IP at 42).
  EXPECT_EQ(Ipv4::from_host(be32(frame, 42 + 12)), ip(kRip));
  EXPECT_EQ(Ipv4::from_host(be32(frame, 42 + 16)), ip(kCip));
  EXPECT_EQ(frame[42 + 8], 63);       // quoted TTL unchanged
  EXPECT_EQ(be16(frame, 62), 8080);   // quoted source port
  EXPECT_EQ(be16(frame, 64), 40000);  // quoted destination port
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(ip_checksum_valid(frame, 42));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

// FULLNAT: rs 192.168.1.11 reports port unreachable about LIP:5001 -> RIP:5353 to the LIP; the
// client 10.0.0.2 gets it from the VIP about CIP:4000 -> VIP:53.
TEST(FullnatIcmpOut, RewritesBothEndsOuterAndQuoted) {
  auto original = ipv4(kLip, kRip, 63) / Tins::UDP(5353, 5001) / Tins::RawPDU(payload_bytes(20));
  Bytes frame = icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kLip, 3, 3, quote_of(original));
  ASSERT_TRUE(fullnat_icmp_out(span_of(frame), view_of(frame), {ip(kVip), 53}, {ip(kCip), 4000},
                               kToClient));
  auto out = parse(frame);
  const auto& outer = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kVip);
  EXPECT_EQ(outer.dst_addr().to_string(), kCip);
  EXPECT_EQ(outer.ttl(), 63);
  Tins::IP quoted(frame.data() + 42, uint32_t(frame.size() - 42));
  EXPECT_EQ(quoted.src_addr().to_string(), kCip);
  EXPECT_EQ(quoted.dst_addr().to_string(), kVip);
  const auto& quoted_udp = quoted.rfind_pdu<Tins::UDP>();
  EXPECT_EQ(quoted_udp.sport(), 4000);
  EXPECT_EQ(quoted_udp.dport(), 53);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(ip_checksum_valid(frame, 42));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

TEST(FullnatIcmpIn, RewritesBothEndsOuterAndQuoted) {
  // The client reports port unreachable about a reply VIP:80 -> CIP:40000 it got; the real
  // server hears it from the LIP about RIP:8080 -> LIP:5001.
  auto reply = ipv4(kVip, kCip, 63) / tcp(80, 40000, Tins::TCP::ACK, 7001, 1001);
  Bytes frame = icmp_error_frame(kClientMac, kDirectorExtMac, kCip, kVip, 3, 3, quote_of(reply));
  ASSERT_TRUE(fullnat_icmp_in(span_of(frame), view_of(frame), {ip(kLip), 5001}, kRealServer,
                              kToRealServer));
  auto out = parse(frame);
  const auto& outer = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kLip);
  EXPECT_EQ(outer.dst_addr().to_string(), kRip);
  EXPECT_EQ(Ipv4::from_host(be32(frame, 42 + 12)), ip(kRip));
  EXPECT_EQ(Ipv4::from_host(be32(frame, 42 + 16)), ip(kLip));
  EXPECT_EQ(be16(frame, 62), 8080);
  EXPECT_EQ(be16(frame, 64), 5001);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(ip_checksum_valid(frame, 42));
  EXPECT_TRUE(icmp_checksum_valid(frame));
}

}  // namespace
}  // namespace vsd::fwd
