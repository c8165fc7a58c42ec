// IPv4 fragmentation checked against spec section 2 "TUN" (the fragment sizes of a wrapped
// datagram) and RFC 791 (which options later fragments keep); IPv6 against ip6_fragment's rules
// (the unfragmentable part repeated, 1280 at least).
#include "fwd/fragment.h"

#include <gtest/gtest.h>

#include "fwd/ipv6.h"
#include "fwd/test_frames.h"
#include "fwd/tun.h"

namespace vsd::fwd {
namespace {

using namespace testing;

constexpr uint16_t kFreshId = 0x5151;

TunnelParams tunnel(uint16_t mtu = 1500) {
  return {ip(kDip), ip(kRip), mtu, kFreshId, {mac(kDirectorIntMac), mac(kRsMac)}};
}

// A client packet to VIP:80 of `ip_length` bytes of IP, TTL 64, TOS 0x10, no DF.
Bytes client_packet(std::size_t ip_length) {
  Tins::IP header = ipv4(kCip, kVip);
  header.tos(0x10);
  header.flags(Tins::IP::Flags(0));
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(80, 40000) /
               Tins::RawPDU(payload_bytes(ip_length - 28));
  return serialize(frame);
}

TunResult encapsulate(const Bytes& frame, Bytes& out, uint16_t mtu = 1500) {
  return tun_encapsulate(std::span<const uint8_t>(frame.data(), frame.size()), view_of(frame),
                         tunnel(mtu), span_of(out));
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
  inner = client_packet(2000);
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

namespace vsd::fwd {
namespace {

using namespace testing;

struct Pieces6 {
  std::vector<Bytes> storage = std::vector<Bytes>(8, Bytes(2000));
  std::vector<FragmentBuffer> buffers;
  Pieces6() {
    for (auto& b : storage) buffers.push_back({b, 0});
  }
  Bytes piece(std::size_t i) const {
    return Bytes(storage[i].begin(), storage[i].begin() + std::ptrdiff_t(buffers[i].length));
  }
};

TEST(FragmentIpv6, CutsAt1280WithTheUnfragmentableHeadersInEveryPiece) {
  // Hop-by-hop and a destination options header before no routing header: both stay in front
  // of the fragment header (ip6_find_1stfragopt); 16 bytes of them.
  const Bytes whole =
      udp6_datagram(2992, {pad_extension(kExtHopByHop), pad_extension(kExtDestination)});
  Pieces6 out;
  ASSERT_EQ(fragment_ipv6(whole, 1280, 0x01020304, out.buffers), 3u);
  // 1280 - 40 - 16 - 8 = 1216 bytes a piece; 3000 = 1216 + 1216 + 568.
  const std::vector<std::size_t> data{1216, 1216, 568};
  std::size_t offset = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const Bytes piece = out.piece(i);
    auto p = parse_ipv6(piece);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->fragment);
    EXPECT_EQ(p->fragment_at, 14 + 40 + 16);
    EXPECT_EQ(p->fragment_offset, offset);
    EXPECT_EQ(p->more_fragments, i < 2);
    EXPECT_EQ(p->fragment_id, 0x01020304u);
    EXPECT_EQ(p->upper_len(), data[i]);
    EXPECT_EQ(piece[p->fragment_at], 17);  // the fragment header names UDP
    EXPECT_TRUE(std::equal(whole.begin() + 14 + 56 + std::ptrdiff_t(offset),
                           whole.begin() + 14 + 56 + std::ptrdiff_t(offset + data[i]),
                           piece.begin() + std::ptrdiff_t(p->l4_at)));
    offset += data[i];
  }
}

TEST(FragmentIpv6, ASizeBelowTheMinimumMtuIsRaisedTo1280) {
  const Bytes whole = udp6_datagram(1192);  // 1200 bytes of UDP
  Pieces6 out;
  ASSERT_EQ(fragment_ipv6(whole, 420, 9, out.buffers), 1u);
  auto p = parse_ipv6(out.piece(0));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->more_fragments);
  EXPECT_EQ(p->upper_len(), 1200u);
}

TEST(FragmentIpv6, DestinationOptionsAfterARoutingHeaderAreFragmentable) {
  const Bytes whole = udp6_datagram(2000, {routing_extension(), pad_extension(kExtDestination)});
  Pieces6 out;
  ASSERT_EQ(fragment_ipv6(whole, 1280, 9, out.buffers), 2u);
  auto p = parse_ipv6(out.piece(0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->fragment_at, 14 + 40 + 8);
  EXPECT_EQ(out.piece(0)[p->fragment_at], kExtDestination);
}

TEST(FragmentIpv6, RefusesAFragmentOrTooFewBuffers) {
  const Bytes whole = udp6_datagram(3000);
  Pieces6 out;
  EXPECT_EQ(fragment_ipv6(whole, 1280, 1, std::span(out.buffers).first(2)), 0u);
  ASSERT_EQ(fragment_ipv6(whole, 1280, 1, out.buffers), 3u);
  EXPECT_EQ(fragment_ipv6(out.piece(0), 1280, 1, out.buffers), 0u);
}

}  // namespace
}  // namespace vsd::fwd
