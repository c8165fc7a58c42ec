// TUN encapsulation and fragmentation checked against spec section 2 "TUN" (outer fields,
// PMTU, fragment sizes) and section 12 (outer / inner columns).
#include "fwd/tun.h"

#include <gtest/gtest.h>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

constexpr uint16_t kFreshId = 0x5151;

TunnelParams tunnel(uint16_t mtu = 1500) {
  return {ip(kDip), ip(kRip), mtu, kFreshId, {mac(kDirectorIntMac), mac(kRsMac)}};
}

// A client packet to VIP:80 of `ip_length` bytes of IP, TTL 64, TOS 0x10.
Bytes client_packet(std::size_t ip_length, bool dont_fragment) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x10);
  header.flags(dont_fragment ? Tins::IP::DONT_FRAGMENT : Tins::IP::Flags(0));
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(80, 40000) /
               Tins::RawPDU(payload_bytes(ip_length - 28));
  return serialize(frame);
}

TunResult encapsulate(const Bytes& frame, Bytes& out, uint16_t mtu = 1500) {
  return tun_encapsulate(std::span<const uint8_t>(frame.data(), frame.size()), view_of(frame),
                         tunnel(mtu), span_of(out));
}

TEST(TunEncapsulate, WrapsThePacketAsTheSpecSays) {
  Bytes frame = client_packet(100, true);
  Bytes before = frame;
  Bytes out(2000);
  TunResult result = encapsulate(frame, out);
  ASSERT_EQ(result.verdict, TunVerdict::Ok);
  ASSERT_EQ(result.length, 14u + 20 + 100);
  out.resize(result.length);
  EXPECT_EQ(frame, before);  // the received frame is not touched

  auto parsed = parse(out);
  EXPECT_EQ(parsed.dst_addr().to_string(), kRsMac);
  EXPECT_EQ(parsed.src_addr().to_string(), kDirectorIntMac);
  const auto& outer = parsed.rfind_pdu<Tins::IP>();
  EXPECT_EQ(outer.src_addr().to_string(), kDip);
  EXPECT_EQ(outer.dst_addr().to_string(), kRip);
  EXPECT_EQ(outer.protocol(), 4);
  EXPECT_EQ(outer.ttl(), 63);  // = inner TTL after the decrement
  EXPECT_EQ(outer.tos(), 0x10);
  EXPECT_EQ(outer.flags(), Tins::IP::DONT_FRAGMENT);
  EXPECT_EQ(outer.id(), 0);  // DF: ID 0
  EXPECT_EQ(outer.tot_len(), 120);
  EXPECT_EQ(outer.head_len(), 5);
  EXPECT_TRUE(ip_checksum_valid(out));

  // Inner (from byte 34): the original packet, TTL 63, checksum valid, addresses and ports kept.
  EXPECT_EQ(out[34 + 8], 63);
  EXPECT_TRUE(ip_checksum_valid(out, 34));
  EXPECT_TRUE(l4_checksum_valid(out, 34));
  for (std::size_t i = 0; i < 100; ++i) {
    bool ttl_or_checksum = i == 8 || i == 10 || i == 11;
    if (!ttl_or_checksum) {
      EXPECT_EQ(out[34 + i], frame[14 + i]) << "inner byte " << i;
    }
  }
  EXPECT_EQ(Ipv4::from_host(be32(out, 34 + 16)), ip(kVip));
  EXPECT_EQ(be16(out, 54 + 2), 80);
}

TEST(TunEncapsulate, WithoutDfTheOuterIdIsFreshAndDfClear) {
  Bytes frame = client_packet(100, false);
  Bytes out(2000);
  ASSERT_EQ(encapsulate(frame, out).verdict, TunVerdict::Ok);
  EXPECT_EQ(be16(out, 14 + 4), kFreshId);
  EXPECT_EQ(be16(out, 14 + 6), 0);
  EXPECT_TRUE(ip_checksum_valid(out));
}

TEST(TunEncapsulate, DropsLinkPadding) {
  Bytes frame = client_packet(30, true);
  frame.resize(60, 0xee);
  Bytes out(200);
  TunResult result = encapsulate(frame, out);
  ASSERT_EQ(result.verdict, TunVerdict::Ok);
  EXPECT_EQ(result.length, 14u + 20 + 30);
}

TEST(TunEncapsulate, ADfPacketThatFitsOnlyWithoutTheTunnelNeedsFragNeeded) {
  // 1481 + 20 > 1500; the next-hop MTU to report is 1480 (spec section 2 "PMTU").
  Bytes out(4000);
  EXPECT_EQ(encapsulate(client_packet(1481, true), out).verdict, TunVerdict::NeedsFragNeeded);
  EXPECT_EQ(tun_next_hop_mtu(1500), 1480);
  EXPECT_EQ(encapsulate(client_packet(1480, true), out).verdict, TunVerdict::Ok);
}

TEST(TunEncapsulate, ATooBigPacketWithoutDfIsWrappedForFragmentation) {
  Bytes out(4000);
  TunResult result = encapsulate(client_packet(1481, false), out);
  EXPECT_EQ(result.verdict, TunVerdict::NeedsFragmentation);
  EXPECT_EQ(result.length, 14u + 20 + 1481);
}

TEST(TunEncapsulate, ATooBigIcmpErrorIsFragmentedEvenWithDf) {
  // ensure_mtu_is_adequate never answers an ICMP error with frag-needed.
  auto original = ipv4(kCip, kRip) / Tins::UDP(5353, 4000) / Tins::RawPDU(payload_bytes(1600));
  Bytes frame =
      icmp_error_frame(kClientMac, kDirectorExtMac, kCip, kVip, 3, 3, quote_of(original, 1480));
  put_be16(frame, 14 + 6, 0x4000);
  fix_ip_checksum(frame);
  Bytes out(4000);
  EXPECT_EQ(encapsulate(frame, out).verdict, TunVerdict::NeedsFragmentation);
}

TEST(TunEncapsulate, RefusesABufferTooSmall) {
  Bytes out(14 + 20 + 99);
  EXPECT_EQ(encapsulate(client_packet(100, true), out).verdict, TunVerdict::BufferTooSmall);
}

struct Fragments {
  std::vector<Bytes> storage = std::vector<Bytes>(8, Bytes(1600));
  std::vector<FragmentBuffer> buffers;
  Fragments() {
    for (auto& bytes : storage) buffers.push_back({span_of(bytes)});
  }
  Bytes frame(std::size_t i) const {
    return Bytes(storage[i].begin(), storage[i].begin() + std::ptrdiff_t(buffers[i].length));
  }
};

// The inner datagram reassembled at the director: 2000 bytes, no DF. Wrapped it is 2020.
Bytes wrapped_2000_byte_datagram(Bytes& inner) {
  inner = client_packet(2000, false);
  Bytes out(4000);
  TunResult result = encapsulate(inner, out);
  EXPECT_EQ(result.verdict, TunVerdict::NeedsFragmentation);
  out.resize(result.length);
  return out;
}

void expect_fragment(const Bytes& frame, std::size_t total, std::size_t offset, bool more) {
  EXPECT_EQ(ip_total_len(frame), total);
  EXPECT_EQ(be16(frame, 14 + 6), uint16_t(offset / 8 | (more ? 0x2000 : 0)));
  EXPECT_EQ(be16(frame, 14 + 4), kFreshId);  // same non-zero outer ID, no DF
  EXPECT_EQ(frame[14 + 9], 4);
  EXPECT_EQ(frame[14 + 8], 63);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_EQ(be16(frame, 12), 0x0800);
  Mac rs = mac(kRsMac);
  EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 6), Bytes(rs.bytes.begin(), rs.bytes.end()));
}

TEST(FragmentIpv4, CutsAtTheSpecsSizesFor1476) {
  // Spec section 2 "TUN": an IPIP packet of 1476 bytes plus a trailing fragment at offset 1456.
  // (1476 - 20) = 1456 is a multiple of 8; the rest: 2000 - 1456 = 544 bytes.
  Bytes inner;
  Bytes wrapped = wrapped_2000_byte_datagram(inner);
  Fragments fragments;
  ASSERT_EQ(fragment_ipv4(wrapped, 1476, fragments.buffers), 2u);
  expect_fragment(fragments.frame(0), 1476, 0, true);
  expect_fragment(fragments.frame(1), 20 + 544, 1456, false);

  Bytes head = fragments.frame(0);
  Bytes payload(head.begin() + 34, head.end());
  Bytes rest = fragments.frame(1);
  payload.insert(payload.end(), rest.begin() + 34, rest.end());
  Bytes inner_after_decrement(wrapped.begin() + 34, wrapped.end());
  EXPECT_EQ(payload, inner_after_decrement);
}

TEST(FragmentIpv4, A1480CutGivesTheSameSizes) {
  // (1480 - 20) = 1460 rounds down to 1456: again 1476 bytes and offset 1456.
  Bytes inner;
  Bytes wrapped = wrapped_2000_byte_datagram(inner);
  Fragments fragments;
  ASSERT_EQ(fragment_ipv4(wrapped, 1480, fragments.buffers), 2u);
  expect_fragment(fragments.frame(0), 1476, 0, true);
  expect_fragment(fragments.frame(1), 564, 1456, false);
}

TEST(FragmentIpv4, A1500CutCarries1480BytesPerFragment) {
  Bytes inner;
  Bytes wrapped = wrapped_2000_byte_datagram(inner);
  Fragments fragments;
  ASSERT_EQ(fragment_ipv4(wrapped, 1500, fragments.buffers), 2u);
  expect_fragment(fragments.frame(0), 1500, 0, true);
  expect_fragment(fragments.frame(1), 20 + 520, 1480, false);
}

TEST(FragmentIpv4, RefusesWhenBuffersRunOutOrTheSizeIsTooSmall) {
  Bytes inner;
  Bytes wrapped = wrapped_2000_byte_datagram(inner);
  Fragments fragments;
  EXPECT_EQ(fragment_ipv4(wrapped, 1500, std::span(fragments.buffers).first(1)), 0u);
  EXPECT_EQ(fragment_ipv4(wrapped, 27, fragments.buffers), 0u);
  Bytes small(3000);
  FragmentBuffer one{span_of(small)};
  EXPECT_EQ(fragment_ipv4(wrapped, 1500, std::span(&one, 1)), 0u);
}

TEST(FragmentIpv4, LaterFragmentsKeepOnlyCopiedOptions) {
  Tins::IP header = ipv4(kCip, kRip);
  header.flags(Tins::IP::Flags(0));
  header.add_option(record_route_option());  // type 7: copy flag clear
  static const uint8_t alert[] = {0, 0};
  header.add_option(Tins::IP::option(Tins::IP::option_identifier(0x94), std::begin(alert),
                                     std::end(alert)));  // router alert: copy flag set
  auto built = ethernet(kDirectorIntMac, kRsMac) / header / Tins::RawPDU(payload_bytes(100));
  Bytes frame = serialize(built);
  ASSERT_EQ(ip_header_len(frame), 32u);  // 7 + 4 option bytes, padded to 12
  Bytes options(frame.begin() + 34, frame.begin() + 46);

  Fragments fragments;
  // (76 - 32) = 44, rounded down to 40 bytes a fragment: 40, 40, 20.
  ASSERT_EQ(fragment_ipv4(frame, 76, fragments.buffers), 3u);
  Bytes first = fragments.frame(0), second = fragments.frame(1), third = fragments.frame(2);
  EXPECT_EQ(Bytes(first.begin() + 34, first.begin() + 46), options);
  Bytes later_options = {1, 1, 1, 1, 1, 1, 1, 0x94, 4, 0, 0, 0};
  EXPECT_EQ(Bytes(second.begin() + 34, second.begin() + 46), later_options);
  EXPECT_EQ(ip_total_len(first), 72u);
  EXPECT_EQ(ip_total_len(third), 52u);
  EXPECT_EQ(be16(third, 14 + 6), 80 / 8);
  for (const Bytes& piece : {first, second, third}) EXPECT_TRUE(ip_checksum_valid(piece));
}

}  // namespace
}  // namespace vsd::fwd
