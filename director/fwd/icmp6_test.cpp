// The ICMPv6 frames of the director, checked against libtins: a frame's checksums are right
// when libtins, which computes them afresh on serialising, gives the same bytes back, and each
// rewrite is compared with the frame libtins builds from the addresses the spec names.
#include "fwd/icmp6.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <vector>

namespace vsd::fwd {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr const char* kClientMac = "02:00:00:00:00:01";
constexpr const char* kDirectorMac = "02:00:00:00:00:02";
constexpr const char* kServerMac = "02:00:00:00:00:03";
constexpr const char* kCip = "fd00:10::2";
constexpr const char* kVip = "fd00:20::100";
constexpr const char* kRip = "fd00:168:10::11";
constexpr const char* kLip = "fd00:168:10::200";

Ip6 ip6(const char* text) {
  Tins::IPv6Address a(text);
  Ip6 out;
  std::copy(a.begin(), a.end(), out.begin());
  return out;
}

Mac mac(const char* text) {
  Tins::HWAddress<6> a(text);
  Mac m;
  std::copy(a.begin(), a.end(), m.bytes.begin());
  return m;
}

Tins::EthernetII eth(const char* dst, const char* src) {
  return Tins::EthernetII(Tins::HWAddress<6>(dst), Tins::HWAddress<6>(src));
}

Bytes recomputed(const Bytes& frame) {
  Tins::EthernetII e(frame.data(), uint32_t(frame.size()));
  return e.serialize();
}

Tins::IPv6 header(const char* dst, const char* src, uint8_t hop_limit, uint32_t label = 0) {
  Tins::IPv6 ip(dst, src);
  ip.hop_limit(hop_limit);
  ip.flow_label(label);
  return ip;
}

// The flow label of a frame the director built: its own choice (flow_label_test.cpp), taken
// over into the frame libtins builds, after the checks every such label must pass.
uint32_t own_label(const Bytes& frame) {
  const uint32_t label =
      uint32_t(frame.at(15) & 0x0f) << 16 | uint32_t(frame.at(16)) << 8 | frame.at(17);
  EXPECT_NE(label, 0u) << "the kernel labels what its stack originates (auto_flowlabels=1)";
  return label;
}

// The error libtins builds: `type`/`code` from src to dst quoting `quote` bytes.
Bytes error_frame(const char* eth_dst, const char* eth_src, const char* dst, const char* src,
                  uint8_t hop_limit, uint8_t type, uint8_t code, const Bytes& quote,
                  uint32_t label = 0) {
  Tins::ICMPv6 icmp(static_cast<Tins::ICMPv6::Types>(type));
  icmp.code(code);
  auto frame = eth(eth_dst, eth_src) / header(dst, src, hop_limit, label) / icmp /
               Tins::RawPDU(quote.data(), uint32_t(quote.size()));
  return frame.serialize();
}

// The IPv6 packet inside an Ethernet frame.
Bytes packet_of(const Bytes& frame) {
  return Bytes(frame.begin() + 14, frame.end());
}

Bytes udp_to(const char* dst, uint16_t dport, const char* src, uint16_t sport,
             std::size_t payload = 5, uint8_t hop_limit = 64) {
  auto frame = eth(kDirectorMac, kClientMac) / header(dst, src, hop_limit) /
               Tins::UDP(dport, sport) / Tins::RawPDU(Bytes(payload, 'q'));
  return frame.serialize();
}

TEST(Icmp6Error, PortUnreachableFromTheVipQuotesTheDatagram) {
  const Bytes datagram = udp_to(kVip, 8999, kCip, 40001);
  const auto p = parse_ipv6(datagram);
  ASSERT_TRUE(p);
  ASSERT_TRUE(may_send_icmp6_error(*p));
  Bytes out(2048);
  const auto n = build_icmp6_error(out, datagram, *p, icmp6::kDestUnreachable,
                                   icmp6::kCodePortUnreachable, 0, p->dst, mac(kDirectorMac));
  out.resize(n);
  EXPECT_EQ(out, error_frame(kClientMac, kDirectorMac, kCip, kVip, 64, 1, 4, packet_of(datagram),
                             own_label(out)));
  EXPECT_EQ(out, recomputed(out));
}

TEST(Icmp6Error, OneLabelPerClientAndMessageWhateverThePacket) {
  // icmp6_send hashes the addresses and the type and code, not the offending packet's ports.
  auto label_of_error = [](uint16_t sport, uint8_t type, uint8_t code, const char* client) {
    const Bytes datagram = udp_to(kVip, 8999, client, sport);
    const auto p = parse_ipv6(datagram);
    Bytes out(2048);
    out.resize(build_icmp6_error(out, datagram, *p, type, code, 0, p->dst, mac(kDirectorMac)));
    return own_label(out);
  };
  const uint32_t label = label_of_error(40001, 1, 4, kCip);
  EXPECT_EQ(label_of_error(40002, 1, 4, kCip), label);
  EXPECT_NE(label_of_error(40001, 3, 0, kCip), label);
  EXPECT_NE(label_of_error(40001, 1, 4, "fd00:10::3"), label);
}

TEST(Icmp6Error, TheQuoteStopsWhereTheErrorWouldPass1280Bytes) {
  const Bytes datagram = udp_to(kVip, 8999, kCip, 40001, 1400);
  const auto p = parse_ipv6(datagram);
  ASSERT_TRUE(p);
  Bytes out(4096);
  const auto n =
      build_icmp6_error(out, datagram, *p, icmp6::kTimeExceeded, 0, 0, p->dst, mac(kDirectorMac));
  EXPECT_EQ(n, 14u + 1280u);
  out.resize(n);
  Bytes quote = packet_of(datagram);
  quote.resize(1280 - 48);
  Bytes want = error_frame(kClientMac, kDirectorMac, kCip, kVip, 64, 3, 0, quote, own_label(out));
  // libtins writes RFC 4884's length into a long time exceeded; icmp6_send leaves it 0.
  ASSERT_EQ(out.size(), want.size());
  EXPECT_TRUE(l4_checksum_ok6(out, *parse_ipv6(out)));
  std::fill_n(want.begin() + 56, 4, 0);
  std::fill_n(out.begin() + 56, 2, 0);
  EXPECT_EQ(out, want);
}

TEST(Icmp6Error, NoneAboutAnErrorOrAMulticastDestination) {
  const Bytes datagram = udp_to(kVip, 8999, kCip, 40001);
  auto p = parse_ipv6(datagram);
  ASSERT_TRUE(p);
  Bytes error(2048);
  error.resize(build_icmp6_error(error, datagram, *p, 1, 4, 0, p->dst, mac(kDirectorMac)));
  auto about_error = parse_ipv6(error);
  ASSERT_TRUE(about_error);
  EXPECT_FALSE(may_send_icmp6_error(*about_error));
  const Bytes to_group = udp_to("ff02::1", 8999, kCip, 40001);
  EXPECT_FALSE(may_send_icmp6_error(*parse_ipv6(to_group)));
}

TEST(TcpReset6, ASynGetsRstAckWithItsSequencePlusOne) {
  Tins::TCP syn(8999, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  Tins::IPv6 ip = header(kVip, kCip, 63);
  ip.traffic_class(0x2a);  // AF11 with an ECN bit: the RST keeps 0x28
  auto sent = eth(kDirectorMac, kClientMac) / ip / syn;
  const Bytes frame = sent.serialize();
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  Bytes out(256);
  out.resize(build_tcp_reset6(out, frame, *p, mac(kDirectorMac)));
  Tins::TCP rst(40000, 8999);
  rst.flags(Tins::TCP::RST | Tins::TCP::ACK);
  rst.seq(0);
  rst.ack_seq(1001);
  rst.window(0);
  Tins::IPv6 back = header(kCip, kVip, 64, own_label(out));
  back.traffic_class(0x28);
  auto want = eth(kClientMac, kDirectorMac) / back / rst;
  EXPECT_EQ(out, want.serialize());
}

TEST(TcpReset6, AnAckGetsRstAtItsAckAndARstNothing) {
  Tins::TCP ack(8999, 40000);
  ack.flags(Tins::TCP::ACK);
  ack.seq(1000);
  ack.ack_seq(777);
  auto sent = eth(kDirectorMac, kClientMac) / header(kVip, kCip, 63) / ack;
  const Bytes frame = sent.serialize();
  Bytes out(256);
  out.resize(build_tcp_reset6(out, frame, *parse_ipv6(frame), mac(kDirectorMac)));
  Tins::TCP rst(40000, 8999);
  rst.flags(Tins::TCP::RST);
  rst.seq(777);
  rst.window(0);
  auto want = eth(kClientMac, kDirectorMac) / header(kCip, kVip, 64, own_label(out)) / rst;
  EXPECT_EQ(out, want.serialize());

  Tins::TCP reset(8999, 40000);
  reset.flags(Tins::TCP::RST);
  auto rst_frame = eth(kDirectorMac, kClientMac) / header(kVip, kCip, 63) / reset;
  const Bytes rst_bytes = rst_frame.serialize();
  Bytes none(256);
  EXPECT_EQ(build_tcp_reset6(none, rst_bytes, *parse_ipv6(rst_bytes), mac(kDirectorMac)), 0u);
}

TEST(TcpReset6, EachConnectionsResetsKeepOneLabel) {
  // tcp_v6_send_reset with no socket: the hash of the RST's addresses and ports.
  auto label_of_reset = [](uint16_t cport, uint8_t flags) {
    Tins::TCP segment(8999, cport);
    segment.flags(flags);
    auto sent = eth(kDirectorMac, kClientMac) / header(kVip, kCip, 63) / segment;
    const Bytes frame = sent.serialize();
    Bytes out(256);
    out.resize(build_tcp_reset6(out, frame, *parse_ipv6(frame), mac(kDirectorMac)));
    return own_label(out);
  };
  const uint32_t label = label_of_reset(40000, Tins::TCP::SYN);
  EXPECT_EQ(label_of_reset(40000, Tins::TCP::ACK), label);
  EXPECT_NE(label_of_reset(40001, Tins::TCP::SYN), label);
}

TEST(NatIcmp6, ARealServersErrorReachesTheClientFromTheVip) {
  // rs1 says port unreachable about the datagram the director forwarded: CIP:40001 -> RIP:5353.
  const Bytes forwarded = udp_to(kRip, 5353, kCip, 40001, 5, 62);
  const Bytes error =
      error_frame(kDirectorMac, kServerMac, kCip, kRip, 64, 1, 4, packet_of(forwarded));
  Bytes frame = error;
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  const auto q = parse_quote6(frame, *p);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->src, ip6(kCip));
  EXPECT_EQ(q->dst, ip6(kRip));
  EXPECT_EQ(q->sport, 40001);
  EXPECT_EQ(q->dport, 5353);
  EXPECT_EQ(q->next_header, 17);
  nat_icmp6_out(frame, *p, ip6(kVip), 53, mac(kDirectorMac));
  // The quote is what the client sent to VIP:53, its UDP checksum the forwarded one's.
  Bytes quote = packet_of(forwarded);
  const Bytes vip = packet_of(udp_to(kVip, 53, kCip, 40001, 5, 62));
  std::copy(vip.begin() + 24, vip.begin() + 40, quote.begin() + 24);  // destination
  quote[42] = 0;
  quote[43] = 53;
  // Ethernet's destination is the next hop's, filled in on output.
  Bytes want = error_frame(kDirectorMac, kDirectorMac, kCip, kVip, 63, 1, 4, quote);
  EXPECT_EQ(frame, want);
}

TEST(NatIcmp6, AClientsErrorReachesTheRealServerAboutItsReply) {
  // The client says packet too big about the reply VIP:53 -> CIP:40001.
  const Bytes reply = udp_to(kCip, 40001, kVip, 53, 5, 62);
  Bytes frame = error_frame(kDirectorMac, kClientMac, kVip, kCip, 63, 2, 0, packet_of(reply));
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  nat_icmp6_in(frame, *p, ip6(kRip), 5353, mac(kDirectorMac));
  Bytes quote = packet_of(reply);
  const Bytes rip = packet_of(udp_to(kCip, 40001, kRip, 5353, 5, 62));
  std::copy(rip.begin() + 8, rip.begin() + 24, quote.begin() + 8);  // source
  quote[40] = uint8_t(5353 >> 8);
  quote[41] = uint8_t(5353 & 0xff);
  EXPECT_EQ(frame, error_frame(kDirectorMac, kDirectorMac, kRip, kCip, 62, 2, 0, quote));
}

TEST(NatIcmp6, AQuoteWithoutItsPortsOrOfAnotherProtocolIsNotMatched) {
  const Bytes forwarded = udp_to(kRip, 5353, kCip, 40001);
  Bytes quote = packet_of(forwarded);
  quote.resize(40 + 3);
  const Bytes short_quote = error_frame(kDirectorMac, kServerMac, kCip, kRip, 64, 1, 4, quote);
  EXPECT_FALSE(parse_quote6(short_quote, *parse_ipv6(short_quote)));
  Bytes icmp_quote = packet_of(forwarded);
  icmp_quote[6] = 58;
  const Bytes other = error_frame(kDirectorMac, kServerMac, kCip, kRip, 64, 1, 4, icmp_quote);
  EXPECT_FALSE(parse_quote6(other, *parse_ipv6(other)));
}

TEST(FullNatIcmp6, ARealServersErrorReachesTheClientAsAboutItsOwnPacket) {
  // rs1's port unreachable to the local address about LIP:1025 -> RIP:5353.
  const Bytes forwarded = udp_to(kRip, 5353, kLip, 1025, 5, 62);
  Bytes frame = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 1, 4, packet_of(forwarded));
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  const auto q = parse_quote6(frame, *p);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->src, ip6(kLip));
  EXPECT_EQ(q->sport, 1025);
  fullnat_icmp6_out(frame, *p, {ip6(kVip), 53}, {ip6(kCip), 40001}, mac(kDirectorMac));
  // The quote reads CIP:40001 -> VIP:53, its UDP checksum still the forwarded datagram's.
  Bytes quote = packet_of(forwarded);
  const Bytes as_sent = packet_of(udp_to(kVip, 53, kCip, 40001, 5, 62));
  std::copy(as_sent.begin() + 8, as_sent.begin() + 44, quote.begin() + 8);  // addresses, ports
  EXPECT_EQ(frame, error_frame(kDirectorMac, kDirectorMac, kCip, kVip, 63, 1, 4, quote));
}

TEST(FullNatIcmp6, AClientsErrorReachesTheRealServerFromTheLocalAddress) {
  // The client's port unreachable about the reply VIP:53 -> CIP:40001.
  const Bytes reply = udp_to(kCip, 40001, kVip, 53, 5, 62);
  Bytes frame = error_frame(kDirectorMac, kClientMac, kVip, kCip, 63, 1, 4, packet_of(reply));
  const auto p = parse_ipv6(frame);
  ASSERT_TRUE(p);
  fullnat_icmp6_in(frame, *p, {ip6(kLip), 1025}, {ip6(kRip), 5353}, mac(kDirectorMac));
  // As the real server sent its answer: RIP:5353 -> LIP:1025.
  Bytes quote = packet_of(reply);
  const Bytes as_sent = packet_of(udp_to(kLip, 1025, kRip, 5353, 5, 62));
  std::copy(as_sent.begin() + 8, as_sent.begin() + 44, quote.begin() + 8);
  EXPECT_EQ(frame, error_frame(kDirectorMac, kDirectorMac, kRip, kLip, 62, 1, 4, quote));
  EXPECT_EQ(recomputed(frame), frame);
}

// Every length of a quote, from none to one byte short of its ports, and every next header but
// TCP's and UDP's: nothing is matched, nothing read past the frame (the sanitizer build would
// say so), and the error is left as it came.
TEST(FullNatIcmp6, TruncatedOrForeignQuotesAreNeverMatched) {
  const Bytes whole = packet_of(udp_to(kRip, 5353, kLip, 1025));
  for (std::size_t n = 0; n < 44; ++n) {
    const Bytes quote(whole.begin(), whole.begin() + std::ptrdiff_t(n));
    const Bytes frame = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 1, 4, quote);
    const auto p = parse_ipv6(frame);
    ASSERT_TRUE(p) << n;
    EXPECT_FALSE(parse_quote6(frame, *p)) << n << " bytes quoted";
  }
  for (int next = 0; next < 256; ++next) {
    if (next == 6 || next == 17) continue;
    Bytes quote = whole;
    quote[6] = uint8_t(next);
    const Bytes frame = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 1, 4, quote);
    EXPECT_FALSE(parse_quote6(frame, *parse_ipv6(frame))) << "next header " << next;
  }
  // An IPv4 header where the IPv6 one should be, and an informational message (echo reply)
  // carrying what looks like a quote.
  Bytes v4 = whole;
  v4[0] = 0x45;
  const Bytes v4_frame = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 1, 4, v4);
  EXPECT_FALSE(parse_quote6(v4_frame, *parse_ipv6(v4_frame)));
  const Bytes echo = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 129, 0, whole);
  EXPECT_FALSE(parse_quote6(echo, *parse_ipv6(echo)));
}

// The outer header claims more payload than the frame holds (a quote cut off on the wire):
// the packet does not parse, so no quote is looked for.
TEST(FullNatIcmp6, AnErrorShorterThanItsHeaderSaysIsNotParsed) {
  Bytes frame = error_frame(kDirectorMac, kServerMac, kLip, kRip, 64, 1, 4,
                            packet_of(udp_to(kRip, 5353, kLip, 1025)));
  for (std::size_t cut = 1; cut < 48; ++cut) {
    const Bytes shorter(frame.begin(), frame.end() - std::ptrdiff_t(cut));
    EXPECT_FALSE(parse_ipv6(shorter)) << cut << " bytes cut";
  }
}

}  // namespace
}  // namespace vsd::fwd
