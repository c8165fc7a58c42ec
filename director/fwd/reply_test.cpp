// The director's own frames checked against spec section 3 (RST, echo reply, port
// unreachable), section 2 (time exceeded, frag-needed) and the kernel rules cited in reply.h;
// ARP against RFC 826.
#include "fwd/reply.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

constexpr uint16_t kFreshId = 0x2222;
const Responder kDirector{mac(kDirectorExtMac), kFreshId};

Bytes client_tcp(uint16_t flags, uint32_t seq, uint32_t ack, std::size_t payload = 0,
                 uint8_t tos = 0, uint8_t ttl = 64) {
  Tins::IP header = ipv4(kCip, kVip, ttl);
  header.tos(tos);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, flags, seq, ack);
  if (payload > 0) frame /= Tins::RawPDU(payload_bytes(payload));
  return serialize(frame);
}

Bytes client_udp(std::size_t payload, uint8_t tos = 0) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(tos);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(9999, 4000) /
               Tins::RawPDU(payload_bytes(payload));
  return serialize(frame);
}

Bytes build(std::size_t (*builder)(std::span<uint8_t>, std::span<const uint8_t>, const PacketView&,
                                   const Responder&),
            const Bytes& frame) {
  Bytes out(2000);
  std::size_t length = builder(span_of(out), std::span<const uint8_t>(frame.data(), frame.size()),
                               view_of(frame), kDirector);
  out.resize(length);
  return out;
}

void expect_back_to_client(const Bytes& reply) {
  auto parsed = parse(reply);
  EXPECT_EQ(parsed.dst_addr().to_string(), kClientMac);
  EXPECT_EQ(parsed.src_addr().to_string(), kDirectorExtMac);
  const auto& ip4 = parsed.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kVip);
  EXPECT_EQ(ip4.dst_addr().to_string(), kCip);
  EXPECT_EQ(ip4.ttl(), 64);
  EXPECT_TRUE(ip_checksum_valid(reply));
}

TEST(TcpReset, ForABareAckCarriesItsAckAsSeq) {
  // Spec section 3: RST from VIP:vport, TTL 64, DF, ID 0, seq = the segment's ack.
  Bytes reply = build(build_tcp_reset, client_tcp(Tins::TCP::ACK, 1000, 5555, 0, 0x0a));
  ASSERT_EQ(reply.size(), 54u);
  expect_back_to_client(reply);
  const auto ip4 = parse(reply).rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.flags(), Tins::IP::DONT_FRAGMENT);
  EXPECT_EQ(ip4.id(), 0);
  EXPECT_EQ(ip4.tos(), 0x08);  // the segment's TOS without its ECN bits
  const auto rst = parse(reply).rfind_pdu<Tins::TCP>();
  EXPECT_EQ(rst.sport(), 80);
  EXPECT_EQ(rst.dport(), 40000);
  EXPECT_EQ(rst.flags(), Tins::TCP::RST);
  EXPECT_EQ(rst.seq(), 5555u);
  EXPECT_EQ(rst.ack_seq(), 0u);
  EXPECT_EQ(rst.window(), 0);
  EXPECT_EQ(rst.data_offset(), 5);
  EXPECT_TRUE(l4_checksum_valid(reply));
}

TEST(TcpReset, ForASynIsRstAckWithSeqZeroAndAckSeqPlusOne) {
  // Spec section 3: SYN to a VIP port with no service: RST+ACK, seq 0, ack = seq + 1.
  Bytes reply = build(build_tcp_reset, client_tcp(Tins::TCP::SYN, 1000, 0));
  expect_back_to_client(reply);
  const auto rst = parse(reply).rfind_pdu<Tins::TCP>();
  EXPECT_EQ(rst.flags(), Tins::TCP::RST | Tins::TCP::ACK);
  EXPECT_EQ(rst.seq(), 0u);
  EXPECT_EQ(rst.ack_seq(), 1001u);
  EXPECT_EQ(parse(reply).rfind_pdu<Tins::IP>().id(), 0);
  EXPECT_TRUE(l4_checksum_valid(reply));
}

TEST(TcpReset, WithoutAckItAcknowledgesPayloadAndFin) {
  // tcp_v4_send_reset: ack = seq + SYN + FIN + payload = 1000 + 1 + 10.
  Bytes reply = build(build_tcp_reset, client_tcp(Tins::TCP::FIN | Tins::TCP::PSH, 1000, 0, 10));
  const auto rst = parse(reply).rfind_pdu<Tins::TCP>();
  EXPECT_EQ(rst.flags(), Tins::TCP::RST | Tins::TCP::ACK);
  EXPECT_EQ(rst.ack_seq(), 1011u);
}

TEST(TcpReset, NothingForAResetOrIntoASmallBuffer) {
  EXPECT_TRUE(build(build_tcp_reset, client_tcp(Tins::TCP::RST, 1000, 0)).empty());
  Bytes frame = client_tcp(Tins::TCP::ACK, 1, 2);
  Bytes out(53);
  EXPECT_EQ(build_tcp_reset(span_of(out), span_of(frame), view_of(frame), kDirector), 0u);
}

TEST(EchoReply, AnswersFromTheVipWithTheSameIdSequenceAndData) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x10);
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x77);
  echo.sequence(3);
  auto built =
      ethernet(kClientMac, kDirectorExtMac) / header / echo / Tins::RawPDU(payload_bytes(56));
  Bytes reply = build(build_echo_reply, serialize(built));
  ASSERT_EQ(reply.size(), 14u + 20 + 8 + 56);
  expect_back_to_client(reply);
  const auto ip4 = parse(reply).rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.flags(), Tins::IP::Flags(0));
  EXPECT_EQ(ip4.id(), kFreshId);
  EXPECT_EQ(ip4.tos(), 0x10);
  const auto icmp = parse(reply).rfind_pdu<Tins::ICMP>();
  EXPECT_EQ(icmp.type(), Tins::ICMP::ECHO_REPLY);
  EXPECT_EQ(icmp.code(), 0);
  EXPECT_EQ(icmp.id(), 0x77);
  EXPECT_EQ(icmp.sequence(), 3);
  EXPECT_EQ(parse(reply).rfind_pdu<Tins::RawPDU>().payload(), payload_bytes(56));
  EXPECT_TRUE(icmp_checksum_valid(reply));
}

TEST(EchoReply, NothingForOtherPackets) {
  EXPECT_TRUE(build(build_echo_reply, client_udp(10)).empty());
}

// Checks an ICMP error frame: outer fields per __icmp_send and the quote byte for byte.
void expect_icmp_error(const Bytes& reply, uint8_t type, uint8_t code, uint8_t tos,
                       const Bytes& quoted) {
  expect_back_to_client(reply);
  const auto ip4 = parse(reply).rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.tos(), tos);
  EXPECT_EQ(ip4.flags(), Tins::IP::Flags(0));
  EXPECT_EQ(ip4.id(), kFreshId);
  EXPECT_EQ(ip4.tot_len(), 20 + 8 + quoted.size());
  EXPECT_EQ(reply[34], type);
  EXPECT_EQ(reply[35], code);
  EXPECT_EQ(Bytes(reply.begin() + 42, reply.end()), quoted);
  EXPECT_TRUE(icmp_checksum_valid(reply));
}

Bytes ip_packet_of(const Bytes& frame, std::size_t length) {
  return Bytes(frame.begin() + 14, frame.begin() + 14 + std::ptrdiff_t(length));
}

TEST(TimeExceeded, QuotesTheWholeSmallPacketAsItArrived) {
  Bytes frame = client_tcp(Tins::TCP::SYN, 1000, 0, 0, 0, 1);
  Bytes out(2000);
  out.resize(
      build_time_exceeded(span_of(out), span_of(frame), view_of(frame), ip(kVip), kDirector));
  expect_icmp_error(out, 11, 0, 0xc0, ip_packet_of(frame, 40));
  EXPECT_EQ(out[42 + 8], 1);  // the quoted TTL as received
}

TEST(PortUnreachable, QuotesTheDatagramWithTosC0) {
  Bytes frame = client_udp(12);
  Bytes out(2000);
  out.resize(
      build_port_unreachable(span_of(out), span_of(frame), view_of(frame), ip(kVip), kDirector));
  expect_icmp_error(out, 3, 3, 0xc0, ip_packet_of(frame, 40));
  EXPECT_EQ(be32(out, 38), 0u);
}

TEST(PortUnreachable, QuotesAtMost548BytesSoTheErrorFitsIn576) {
  Bytes frame = client_udp(1000);
  Bytes out(2000);
  out.resize(
      build_port_unreachable(span_of(out), span_of(frame), view_of(frame), ip(kVip), kDirector));
  ASSERT_EQ(out.size(), 14u + 576);
  expect_icmp_error(out, 3, 3, 0xc0, ip_packet_of(frame, 548));
}

TEST(PortUnreachable, KeepsTheTosBitsIcmpSendKeeps) {
  // __icmp_send: (tos & IPTOS_TOS_MASK 0x1e) | 0xc0: 0x1d -> 0xdc.
  Bytes frame = client_udp(4, 0x1d);
  Bytes out(2000);
  out.resize(
      build_port_unreachable(span_of(out), span_of(frame), view_of(frame), ip(kVip), kDirector));
  EXPECT_EQ(parse(out).rfind_pdu<Tins::IP>().tos(), 0xdc);
}

TEST(ProtocolUnreachable, IsCode2QuotingThePacketFromTheVip) {
  Bytes frame = client_udp(12);
  Bytes out(2000);
  out.resize(build_protocol_unreachable(span_of(out), span_of(frame), view_of(frame), ip(kVip),
                                        kDirector));
  expect_icmp_error(out, 3, 2, 0xc0, ip_packet_of(frame, 40));
  EXPECT_EQ(parse(out).rfind_pdu<Tins::IP>().src_addr().to_string(), kVip);
}

TEST(FragNeeded, ReportsTheMtuAndQuotesThePacketWithItsTtlDecremented) {
  // Spec section 2 "PMTU": type 3 code 4, MTU 1480, from the VIP, TOS 0xc0, TTL decremented.
  Bytes frame = client_tcp(Tins::TCP::ACK, 1000, 1, 1460);  // 1500 bytes of IP, DF
  Bytes out(2000);
  out.resize(
      build_frag_needed(span_of(out), span_of(frame), view_of(frame), ip(kVip), 1480, kDirector));
  ASSERT_EQ(out.size(), 14u + 576);
  EXPECT_EQ(parse(out).rfind_pdu<Tins::ICMP>().mtu(), 1480);
  EXPECT_EQ(be16(out, 38), 0);  // unused
  Bytes quoted = ip_packet_of(frame, 548);
  quoted[8] = 63;
  EXPECT_EQ(out[42 + 8], 63);
  EXPECT_TRUE(ip_checksum_valid(out, 42));
  quoted[10] = out[42 + 10];  // the quoted checksum follows the TTL
  quoted[11] = out[42 + 11];
  expect_icmp_error(out, 3, 4, 0xc0, quoted);
}

TEST(IcmpErrors, AreNotSentAboutLaterFragmentsErrorsOrGroupAddresses) {
  Bytes later = client_udp(40);
  put_be16(later, 14 + 6, 0x0005);
  fix_ip_checksum(later);
  EXPECT_FALSE(may_send_icmp_error(span_of(later), view_of(later)));

  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000);
  Bytes error = icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 3, 3, quote_of(original));
  EXPECT_FALSE(may_send_icmp_error(span_of(error), view_of(error)));

  Bytes multicast = client_udp(4);
  multicast[14 + 16] = 239;
  fix_ip_checksum(multicast);
  EXPECT_FALSE(may_send_icmp_error(span_of(multicast), view_of(multicast)));

  Bytes broadcast_frame = client_udp(4);
  std::fill_n(broadcast_frame.begin(), 6, 0xff);
  EXPECT_FALSE(may_send_icmp_error(span_of(broadcast_frame), view_of(broadcast_frame)));
  Bytes out(2000);
  EXPECT_EQ(build_port_unreachable(span_of(out), span_of(broadcast_frame), view_of(broadcast_frame),
                                   ip(kVip), kDirector),
            0u);

  Bytes unicast = client_udp(4);
  EXPECT_TRUE(may_send_icmp_error(span_of(unicast), view_of(unicast)));
}

TEST(Arp, ParsesARequestAndAnswersForTheOwnedAddress) {
  Tins::EthernetII request = Tins::ARP::make_arp_request(kVip, kCip, kClientMac);
  Bytes frame = request.serialize();
  auto parsed = parse_arp(std::span<const uint8_t>(frame.data(), frame.size()));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->operation, 1);
  EXPECT_EQ(parsed->sender_mac, mac(kClientMac));
  EXPECT_EQ(parsed->sender_ip, ip(kCip));
  EXPECT_EQ(parsed->target_ip, ip(kVip));

  Bytes out(100);
  out.resize(build_arp_reply(span_of(out), *parsed, mac(kDirectorExtMac)));
  ASSERT_EQ(out.size(), 42u);
  Tins::EthernetII reply(out.data(), uint32_t(out.size()));
  EXPECT_EQ(reply.dst_addr().to_string(), kClientMac);
  EXPECT_EQ(reply.src_addr().to_string(), kDirectorExtMac);
  const auto& arp = reply.rfind_pdu<Tins::ARP>();
  EXPECT_EQ(arp.opcode(), Tins::ARP::REPLY);
  EXPECT_EQ(arp.sender_hw_addr().to_string(), kDirectorExtMac);
  EXPECT_EQ(arp.sender_ip_addr().to_string(), kVip);
  EXPECT_EQ(arp.target_hw_addr().to_string(), kClientMac);
  EXPECT_EQ(arp.target_ip_addr().to_string(), kCip);
}

TEST(Arp, BuildsABroadcastRequestForANextHop) {
  Bytes out(100);
  out.resize(build_arp_request(span_of(out), mac(kDirectorIntMac), ip(kDip), ip(kRip)));
  ASSERT_EQ(out.size(), 42u);
  Tins::EthernetII request(out.data(), uint32_t(out.size()));
  EXPECT_EQ(request.dst_addr().to_string(), "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(request.src_addr().to_string(), kDirectorIntMac);
  const auto& arp = request.rfind_pdu<Tins::ARP>();
  EXPECT_EQ(arp.opcode(), Tins::ARP::REQUEST);
  EXPECT_EQ(arp.sender_hw_addr().to_string(), kDirectorIntMac);
  EXPECT_EQ(arp.sender_ip_addr().to_string(), kDip);
  EXPECT_EQ(arp.target_hw_addr().to_string(), "00:00:00:00:00:00");
  EXPECT_EQ(arp.target_ip_addr().to_string(), kRip);
}

TEST(Arp, RejectsWhatIsNotEthernetIpv4Arp) {
  Tins::EthernetII request = Tins::ARP::make_arp_request(kVip, kCip, kClientMac);
  Bytes frame = request.serialize();
  Bytes short_frame(frame.begin(), frame.begin() + 41);
  EXPECT_FALSE(parse_arp(std::span<const uint8_t>(short_frame.data(), short_frame.size())));
  Bytes token_ring = frame;
  token_ring[15] = 6;  // hardware type 6
  EXPECT_FALSE(parse_arp(std::span<const uint8_t>(token_ring.data(), token_ring.size())));
  Bytes not_arp = client_udp(30);
  EXPECT_FALSE(parse_arp(std::span<const uint8_t>(not_arp.data(), not_arp.size())));
}

}  // namespace
}  // namespace vsd::fwd
