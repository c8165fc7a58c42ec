// classify(): every field of the view for each kind of packet, every verdict and drop reason,
// and robustness: every truncation of several frames and 10k randomly corrupted frames, each
// classified and, when accepted, pushed through every rewrite and reply (run under ASan).
#include "fwd/packet.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "fwd/dr.h"
#include "fwd/fragment.h"
#include "fwd/fullnat.h"
#include "fwd/nat.h"
#include "fwd/reply.h"
#include "fwd/test_frames.h"
#include "fwd/tun.h"

namespace vsd::fwd {
namespace {

using namespace testing;

Bytes tcp_syn_frame() {
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) /
               tcp(40000, 80, Tins::TCP::SYN, 1000);
  return serialize(frame);
}

Bytes udp_frame(std::size_t payload = 12) {
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) / Tins::UDP(53, 4000) /
               Tins::RawPDU(payload_bytes(payload));
  return serialize(frame);
}

Bytes echo_request_frame() {
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x77);
  echo.sequence(3);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) / echo /
               Tins::RawPDU(payload_bytes(16));
  return serialize(frame);
}

Bytes port_unreachable_from_rs() {
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000) / Tins::RawPDU(payload_bytes(20));
  return icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 3, 3, quote_of(original));
}

// A frame with the ethertype bytes replaced.
Bytes with_ether_type(Bytes frame, uint16_t type) {
  put_be16(frame, 12, type);
  return frame;
}

DropReason drop_of(const Bytes& frame) {
  Classified result = classify_bytes(frame);
  EXPECT_EQ(result.verdict, Verdict::Drop);
  return result.drop;
}

TEST(Classify, DescribesATcpSyn) {
  Classified result = classify_bytes(tcp_syn_frame());
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  const PacketView& p = result.packet;
  EXPECT_EQ(p.l3, 14);
  EXPECT_EQ(p.l4, 34);
  EXPECT_EQ(p.ip_header_len, 20);
  EXPECT_EQ(p.ip_total_len, 40);
  EXPECT_EQ(p.protocol, 6);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.tos, 0);
  EXPECT_EQ(p.ip_id, 0x1234);
  EXPECT_TRUE(p.dont_fragment);
  EXPECT_FALSE(p.is_fragment());
  EXPECT_FALSE(p.has_ip_options());
  EXPECT_EQ(p.src, ip(kCip));
  EXPECT_EQ(p.dst, ip(kVip));
  EXPECT_TRUE(p.has_l4);
  EXPECT_TRUE(p.has_ports());
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.tcp_flags, wire::tcp::kSyn);
  EXPECT_EQ(p.l4_header_len, 20);
  EXPECT_EQ(p.payload_len(), 0u);
  EXPECT_FALSE(p.is_icmp_error);
}

TEST(Classify, DescribesAUdpDatagramAndIgnoresLinkPadding) {
  Bytes frame = udp_frame(2);  // 14 + 20 + 8 + 2 = 44 bytes: a NIC pads it to 60
  frame.resize(60, 0);
  Classified result = classify_bytes(frame);
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  EXPECT_EQ(result.packet.ip_total_len, 30);
  EXPECT_EQ(result.packet.l3_end(), 44u);
  EXPECT_EQ(result.packet.sport, 4000);
  EXPECT_EQ(result.packet.dport, 53);
  EXPECT_EQ(result.packet.payload_len(), 2u);
}

TEST(Classify, DescribesAnEchoRequest) {
  Classified result = classify_bytes(echo_request_frame());
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  EXPECT_TRUE(result.packet.is_icmp());
  EXPECT_EQ(result.packet.icmp_type, 8);
  EXPECT_EQ(result.packet.icmp_code, 0);
  EXPECT_FALSE(result.packet.is_icmp_error);
  EXPECT_FALSE(result.packet.has_ports());
}

TEST(Classify, FindsTheQuotedHeaderOfAnIcmpError) {
  Classified result = classify_bytes(port_unreachable_from_rs());
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  const PacketView& p = result.packet;
  EXPECT_TRUE(p.is_icmp_error);
  ASSERT_TRUE(p.has_quote);
  EXPECT_EQ(p.quoted.l3, 42);
  EXPECT_EQ(p.quoted.l4, 62);
  EXPECT_EQ(p.quoted.protocol, 17);
  EXPECT_EQ(p.quoted.src, ip(kCip));
  EXPECT_EQ(p.quoted.dst, ip(kRip));
  EXPECT_TRUE(p.quoted.has_ports);
  EXPECT_EQ(p.quoted.sport, 4000);
  EXPECT_EQ(p.quoted.dport, 5353);
}

TEST(Classify, AnIcmpErrorWithAShortQuoteIsKeptWithoutOne) {
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000);
  Bytes frame = icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 3, 3, quote_of(original, 19));
  Classified result = classify_bytes(frame);
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  EXPECT_TRUE(result.packet.is_icmp_error);
  EXPECT_FALSE(result.packet.has_quote);
}

TEST(Classify, AQuoteWithoutPortsHasNoPorts) {
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000);
  Bytes frame =
      icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, 11, 0, quote_of(original, 23));
  Classified result = classify_bytes(frame);
  ASSERT_TRUE(result.packet.has_quote);
  EXPECT_FALSE(result.packet.quoted.has_ports);
}

TEST(Classify, OnlyTheErrorsIpvsRelatesHaveAQuote) {
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000);
  for (uint8_t type : {3, 4, 11}) {
    Bytes frame =
        icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, type, 0, quote_of(original));
    EXPECT_TRUE(classify_bytes(frame).packet.has_quote) << int(type);
  }
  for (uint8_t type : {5, 12}) {
    Bytes frame =
        icmp_error_frame(kRsMac, kDirectorIntMac, kRip, kCip, type, 0, quote_of(original));
    EXPECT_FALSE(classify_bytes(frame).packet.is_icmp_error) << int(type);
  }
}

TEST(Classify, FlagsFragmentsAndLeavesTheirTransportAlone) {
  Bytes first = udp_frame(100);
  put_be16(first, 14 + 6, 0x2000);  // MF, offset 0
  fix_ip_checksum(first);
  Classified head = classify_bytes(first);
  ASSERT_EQ(head.verdict, Verdict::Ipv4);
  EXPECT_TRUE(head.packet.is_fragment());
  EXPECT_TRUE(head.packet.is_first_fragment());
  EXPECT_FALSE(head.packet.has_l4);
  EXPECT_EQ(head.packet.l4, 34);

  Bytes later = udp_frame(100);
  put_be16(later, 14 + 6, 0x0003);  // offset 24, last
  fix_ip_checksum(later);
  Classified tail = classify_bytes(later);
  ASSERT_EQ(tail.verdict, Verdict::Ipv4);
  EXPECT_TRUE(tail.packet.is_fragment());
  EXPECT_FALSE(tail.packet.is_first_fragment());
  EXPECT_EQ(tail.packet.fragment_offset, 24);
  EXPECT_FALSE(tail.packet.has_l4);
}

TEST(Classify, AcceptsIpOptions) {
  Tins::IP header = ipv4(kCip, kVip);
  // Record route with room for one address: type 7, length 7, pointer 4.
  header.add_option(record_route_option());
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, Tins::TCP::SYN);
  Bytes bytes = serialize(frame);
  Classified result = classify_bytes(bytes);
  ASSERT_EQ(result.verdict, Verdict::Ipv4);
  EXPECT_TRUE(result.packet.has_ip_options());
  EXPECT_EQ(result.packet.ip_header_len, 28);
  EXPECT_EQ(result.packet.l4, 42);
  EXPECT_EQ(result.packet.dport, 80);
}

TEST(Classify, ArpAndOtherEtherTypesAreNotForwarded) {
  Tins::EthernetII arp_frame = Tins::ARP::make_arp_request(kVip, kCip, kClientMac);
  EXPECT_EQ(classify_bytes(serialize(arp_frame)).verdict, Verdict::Arp);
  EXPECT_EQ(classify_bytes(with_ether_type(tcp_syn_frame(), 0x86dd)).verdict, Verdict::NotIpv4);
}

TEST(ClassifyDrops, RuntBelowAnEthernetHeader) {
  Bytes frame = tcp_syn_frame();
  frame.resize(13);
  EXPECT_EQ(drop_of(frame), DropReason::Runt);
}

TEST(ClassifyDrops, VlanTaggedFrames) {
  auto tagged = ethernet(kClientMac, kDirectorExtMac) / Tins::Dot1Q(10) / ipv4(kCip, kVip) /
                tcp(40000, 80, Tins::TCP::SYN);
  EXPECT_EQ(drop_of(serialize(tagged)), DropReason::VlanTagged);
  EXPECT_EQ(drop_of(with_ether_type(tcp_syn_frame(), 0x88a8)), DropReason::VlanTagged);
}

TEST(ClassifyDrops, Ipv4ShorterThanItsHeaderOrTotalLength) {
  Bytes frame = tcp_syn_frame();
  frame.resize(14 + 19);
  EXPECT_EQ(drop_of(frame), DropReason::Ipv4Truncated);

  Bytes short_options = tcp_syn_frame();
  short_options[14] = 0x4f;  // IHL 15: 60 bytes of header, 40 in the frame
  short_options.resize(14 + 40);
  EXPECT_EQ(drop_of(short_options), DropReason::Ipv4Truncated);

  Bytes cut = tcp_syn_frame();
  cut.resize(cut.size() - 1);
  EXPECT_EQ(drop_of(cut), DropReason::Ipv4Truncated);
}

TEST(ClassifyDrops, VersionOtherThanFour) {
  Bytes frame = tcp_syn_frame();
  frame[14] = 0x65;
  fix_ip_checksum(frame, 14);
  EXPECT_EQ(drop_of(frame), DropReason::BadVersion);
}

TEST(ClassifyDrops, HeaderLengthBelowFive) {
  Bytes frame = tcp_syn_frame();
  frame[14] = 0x44;
  EXPECT_EQ(drop_of(frame), DropReason::BadHeaderLength);
}

TEST(ClassifyDrops, TotalLengthBelowTheHeader) {
  Bytes frame = tcp_syn_frame();
  put_be16(frame, 16, 19);
  fix_ip_checksum(frame);
  EXPECT_EQ(drop_of(frame), DropReason::BadTotalLength);
}

TEST(ClassifyDrops, BadIpHeaderChecksum) {
  Bytes frame = tcp_syn_frame();
  frame[24] ^= 0x01;
  EXPECT_EQ(drop_of(frame), DropReason::BadIpChecksum);
}

// Shrinks the IP datagram to `l4_length` bytes of transport header.
Bytes with_l4_length(Bytes frame, std::size_t l4_length) {
  frame.resize(34 + l4_length);
  put_be16(frame, 16, uint16_t(20 + l4_length));
  fix_ip_checksum(frame);
  return frame;
}

TEST(ClassifyDrops, TransportHeaderCutShort) {
  EXPECT_EQ(drop_of(with_l4_length(tcp_syn_frame(), 19)), DropReason::L4Truncated);
  EXPECT_EQ(drop_of(with_l4_length(udp_frame(), 7)), DropReason::L4Truncated);
  EXPECT_EQ(drop_of(with_l4_length(echo_request_frame(), 7)), DropReason::L4Truncated);
}

TEST(ClassifyDrops, TcpDataOffsetOutOfRange) {
  Bytes too_small = tcp_syn_frame();
  too_small[34 + 12] = 0x40;  // 4 words
  EXPECT_EQ(drop_of(too_small), DropReason::BadTcpDataOffset);
  Bytes too_big = tcp_syn_frame();
  too_big[34 + 12] = 0x60;  // 24 bytes of header in a 20-byte segment
  EXPECT_EQ(drop_of(too_big), DropReason::BadTcpDataOffset);
}

// A SYN whose header carries 8 option bytes, replaced by `options`, checksum fixed.
Bytes syn_with_options(const Bytes& options) {
  Tins::IP header = ipv4(kCip, kVip);
  header.add_option(record_route_option());
  auto built = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, Tins::TCP::SYN);
  Bytes frame = serialize(built);
  std::copy(options.begin(), options.end(), frame.begin() + 34);
  fix_ip_checksum(frame);
  return frame;
}

TEST(ClassifyDrops, MalformedIpOptions) {
  const Bytes malformed[] = {
      {7, 1, 4, 0, 0, 0, 0, 0},    // length below 2
      {7, 9, 4, 0, 0, 0, 0, 0},    // length past the header
      {7, 7, 3, 0, 0, 0, 0, 0},    // record-route pointer below 4
      {7, 7, 5, 0, 0, 0, 0, 0},    // room left but not for a whole slot
      {1, 1, 1, 1, 1, 1, 1, 7},    // a type byte with no length byte
      {68, 3, 5, 0, 0, 0, 0, 0},   // timestamp shorter than 4
      {134, 6, 0, 0, 0, 1, 0, 0},  // CIPSO: no DOI configured
      {148, 2, 1, 1, 1, 1, 1, 1},  // router alert shorter than 4
  };
  for (const Bytes& options : malformed) {
    EXPECT_EQ(drop_of(syn_with_options(options)), DropReason::BadIpOptions)
        << int(options[0]) << " " << int(options[1]) << " " << int(options[2]);
  }
}

TEST(ClassifyDrops, SourceRoutedPackets) {
  EXPECT_EQ(drop_of(syn_with_options({131, 7, 4, 10, 0, 0, 9, 0})), DropReason::SourceRouted);
  EXPECT_EQ(drop_of(syn_with_options({137, 7, 4, 10, 0, 0, 9, 0})), DropReason::SourceRouted);
}

TEST(Classify, AcceptsWellFormedOptions) {
  const Bytes well_formed[] = {
      {7, 7, 4, 0, 0, 0, 0, 0},        // record route with room
      {7, 7, 8, 10, 0, 0, 1, 0},       // record route full
      {148, 4, 0, 0, 1, 1, 1, 0},      // router alert, NOPs, end
      {0, 0xff, 0xff, 0, 0, 0, 0, 0},  // end of list, then anything
  };
  for (const Bytes& options : well_formed) {
    Classified result = classify_bytes(syn_with_options(options));
    EXPECT_EQ(result.verdict, Verdict::Ipv4) << int(options[0]) << " " << int(options[2]);
  }
}

TEST(RecordRoute, FindsTheOption) {
  Bytes frame = syn_with_options({1, 7, 7, 4, 0, 0, 0, 0});
  EXPECT_EQ(record_route_offset(span_of(frame), view_of(frame)), 35u);
  Bytes without = tcp_syn_frame();
  EXPECT_EQ(record_route_offset(span_of(without), view_of(without)), 0u);
}

TEST(DropReasonNames, EveryReasonHasItsOwnName) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    std::string_view name = drop_reason_name(DropReason(i));
    EXPECT_FALSE(name.empty());
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropReasonCount);
  EXPECT_EQ(drop_reason_name(DropReason::Runt), "runt");
  EXPECT_EQ(drop_reason_name(DropReason::BadIpChecksum), "bad_ip_checksum");
}

TEST(IcmpChecksum, VerifiesTheWholeMessage) {
  Bytes frame = echo_request_frame();
  EXPECT_TRUE(icmp_checksum_ok(span_of(frame), view_of(frame)));
  frame.back() ^= 0x10;
  EXPECT_FALSE(icmp_checksum_ok(span_of(frame), view_of(frame)));
}

// Runs every per-packet function on an accepted frame; the point is what ASan sees.
void exercise_everything(Bytes& frame, const PacketView& p) {
  EthAddrs eth{mac(kDirectorIntMac), mac(kRsMac)};
  Endpoint rs{ip(kRip), 8080};
  Bytes copy = frame;
  nat_in(span_of(copy), p, rs, eth);
  copy = frame;
  nat_out(span_of(copy), p, rs, eth);
  copy = frame;
  nat_icmp_out(span_of(copy), p, rs, eth);
  copy = frame;
  nat_icmp_in(span_of(copy), p, rs, eth);
  copy = frame;
  dr_forward(span_of(copy), p, eth);
  copy = frame;
  fullnat_in(span_of(copy), p, rs, rs, eth);
  copy = frame;
  fullnat_out(span_of(copy), p, rs, rs, eth);

  Bytes out(70000);
  TunnelParams tunnel{ip(kDip), ip(kRip), 1500, 7, eth};
  TunResult wrapped = tun_encapsulate(span_of(frame), p, tunnel, span_of(out));
  if (wrapped.verdict == TunVerdict::NeedsFragmentation) {
    std::vector<Bytes> pieces(64, Bytes(1600));
    std::vector<FragmentBuffer> buffers;
    for (auto& piece : pieces) buffers.push_back({span_of(piece)});
    std::span<const uint8_t> whole(out.data(), wrapped.length);
    EXPECT_GT(fragment_ipv4(whole, 1500, buffers), 0u);
  }
  Responder responder{mac(kDirectorExtMac), 9};
  Bytes reply(2000);
  build_tcp_reset(span_of(reply), span_of(frame), p, responder);
  build_echo_reply(span_of(reply), span_of(frame), p, responder);
  build_time_exceeded(span_of(reply), span_of(frame), p, ip(kVip), responder);
  build_port_unreachable(span_of(reply), span_of(frame), p, ip(kVip), responder);
  build_frag_needed(span_of(reply), span_of(frame), p, ip(kVip), 1480, responder);
  copy = frame;
  fill_record_route(span_of(copy), p, ip(kVip));
}

void expect_offsets_inside(const Bytes& frame, const PacketView& p) {
  ASSERT_LE(p.l3_end(), frame.size());
  ASSERT_LE(p.l4, p.l3_end());
  if (p.has_l4) {
    ASSERT_LE(p.payload_offset(), p.l3_end());
  }
  if (p.has_quote) {
    ASSERT_LE(p.quoted.l4, p.l3_end());
    if (p.quoted.has_ports) {
      ASSERT_LE(p.quoted.l4 + 4u, p.l3_end());
    }
  }
}

std::vector<Bytes> sample_frames() {
  Tins::IP with_options = ipv4(kCip, kVip);
  with_options.add_option(record_route_option());
  auto options_frame = ethernet(kClientMac, kDirectorExtMac) / with_options /
                       tcp(40000, 80, Tins::TCP::ACK) / Tins::RawPDU(payload_bytes(9));
  auto tcp_options = tcp(40000, 80, Tins::TCP::SYN);
  tcp_options.mss(1460);
  tcp_options.sack_permitted();
  auto syn_with_options = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) / tcp_options;
  return {tcp_syn_frame(),          udp_frame(),
          echo_request_frame(),     port_unreachable_from_rs(),
          serialize(options_frame), serialize(syn_with_options)};
}

TEST(ClassifyRobustness, EveryTruncationIsDroppedWithoutReadingPastTheEnd) {
  for (const Bytes& whole : sample_frames()) {
    for (std::size_t length = 0; length < whole.size(); ++length) {
      Bytes cut(whole.begin(), whole.begin() + std::ptrdiff_t(length));  // exact-size buffer
      Classified result = classify_bytes(cut);
      if (length < 14) {
        EXPECT_EQ(result.drop, DropReason::Runt);
      } else {
        EXPECT_EQ(result.verdict, Verdict::Drop) << "length " << length;
      }
    }
    Bytes exact = whole;
    EXPECT_EQ(classify_bytes(exact).verdict, Verdict::Ipv4);
  }
}

TEST(ClassifyRobustness, TenThousandCorruptedFramesStayInBounds) {
  std::vector<Bytes> samples = sample_frames();
  std::mt19937 random(2024);
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes frame = samples[random() % samples.size()];
    int flips = 1 + int(random() % 8);
    for (int i = 0; i < flips; ++i) frame[random() % frame.size()] = uint8_t(random());
    if (random() % 4 == 0) frame.resize(random() % (frame.size() + 1));
    // Half the time make the IP header checksum right so corruption reaches deeper checks.
    if (frame.size() >= 34 && random() % 2 == 0) {
      std::size_t header_len = ip_header_len(frame);
      if (header_len >= 20 && 14 + header_len <= frame.size()) fix_ip_checksum(frame);
    }
    Classified result = classify_bytes(frame);
    if (result.verdict != Verdict::Ipv4) continue;
    ++accepted;
    expect_offsets_inside(frame, result.packet);
    exercise_everything(frame, result.packet);
  }
  EXPECT_GT(accepted, 1000);  // the corruption did reach past the IP header check
}

}  // namespace
}  // namespace vsd::fwd
