// Reassembly checked against spec section 3 ("Fragments") and the kernel's ip_fragment.c rules:
// order does not matter, exact duplicates are harmless, overlaps discard the datagram, limits
// and the 30 s timeout drop and count. Fragments are cut by hand here, not by fragment_ipv4.
#include "fwd/reassembly.h"

#include <gtest/gtest.h>

#include <random>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

// A client's UDP datagram CIP:40000 -> VIP:53 with `data_len` bytes of data, no DF, ID 0x1234.
Bytes udp_datagram(std::size_t data_len, uint16_t id = 0x1234) {
  Tins::IP header = ipv4(kCip, kVip);
  header.flags(Tins::IP::Flags(0));
  header.id(id);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(53, 40000) /
               Tins::RawPDU(payload_bytes(data_len));
  return serialize(frame);
}

// Bytes [from, from + length) of the whole frame's IP payload as a fragment: the whole
// frame's Ethernet and IPv4 headers with total length, MF, offset and checksum set.
Bytes fragment(const Bytes& whole, std::size_t from, std::size_t length, bool more,
               uint16_t flags = 0) {
  std::size_t l4 = 14 + ip_header_len(whole);
  Bytes out(whole.begin(), whole.begin() + std::ptrdiff_t(l4));
  auto start = whole.begin() + std::ptrdiff_t(l4 + from);
  out.insert(out.end(), start, start + std::ptrdiff_t(length));
  put_be16(out, 16, uint16_t(ip_header_len(whole) + length));
  put_be16(out, 20, uint16_t((more ? 0x2000 : 0) | flags | from / 8));
  fix_ip_checksum(out);
  return out;
}

// The 1208-byte UDP payload (8 header + 1200 data) cut into three: 400, 400, 408 bytes.
struct ThreeFragments {
  Bytes whole = udp_datagram(1200);
  Bytes first = fragment(whole, 0, 400, true);
  Bytes second = fragment(whole, 400, 400, true);
  Bytes third = fragment(whole, 800, 408, false);
};

ReassemblyResult add(Reassembler& reassembler, const Bytes& frame, uint64_t now_ms = 0) {
  return reassembler.add(std::span<const uint8_t>(frame.data(), frame.size()), view_of(frame),
                         now_ms);
}

Bytes bytes_of(std::span<const uint8_t> frame) {
  return Bytes(frame.begin(), frame.end());
}

void expect_whole(const ReassemblyResult& result, const Bytes& whole) {
  ASSERT_EQ(result.status, ReassemblyStatus::Complete);
  Bytes got = bytes_of(result.frame);
  EXPECT_EQ(got, whole);
  EXPECT_TRUE(ip_checksum_valid(got));
  EXPECT_TRUE(l4_checksum_valid(got));
  Classified classified = classify_bytes(got);
  ASSERT_EQ(classified.verdict, Verdict::Ipv4);
  EXPECT_FALSE(classified.packet.is_fragment());
  EXPECT_TRUE(classified.packet.has_l4);
  EXPECT_EQ(classified.packet.sport, 40000);
  EXPECT_EQ(classified.packet.dport, 53);
}

TEST(Reassembler, InOrderFragmentsGiveTheWholeDatagram) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.first).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.second).status, ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 1u);
  expect_whole(add(reassembler, udp.third), udp.whole);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
  EXPECT_EQ(reassembler.bytes_in_use(), 0u);
  EXPECT_EQ(reassembler.counters().completed, 1u);
  EXPECT_EQ(reassembler.counters().fragments_kept, 3u);
}

TEST(Reassembler, OutOfOrderFragmentsGiveTheWholeDatagram) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.third).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.first).status, ReassemblyStatus::Kept);
  expect_whole(add(reassembler, udp.second), udp.whole);
}

TEST(Reassembler, ReportsTheLargestFragmentReceived) {
  // 20 + 200, 20 + 600, 20 + 408: the director fragments again at 620 (spec section 3).
  Bytes whole = udp_datagram(1200);
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, fragment(whole, 0, 200, true)).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, fragment(whole, 800, 408, false)).status, ReassemblyStatus::Kept);
  ReassemblyResult result = add(reassembler, fragment(whole, 200, 600, true));
  expect_whole(result, whole);
  EXPECT_EQ(result.largest_fragment, 620);
}

TEST(Reassembler, AnExactDuplicateIsHarmless) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.second).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.second).status, ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.counters().duplicates, 1u);
  EXPECT_EQ(add(reassembler, udp.first).status, ReassemblyStatus::Kept);
  expect_whole(add(reassembler, udp.third), udp.whole);
}

TEST(Reassembler, AConflictingDuplicateIsDroppedAndTheFirstCopyKept) {
  ThreeFragments udp;
  Bytes forged = udp.second;
  forged.at(14 + 20 + 10) ^= 0xff;
  fix_ip_checksum(forged);
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.second).status, ReassemblyStatus::Kept);
  ReassemblyResult result = add(reassembler, forged);
  EXPECT_EQ(result.status, ReassemblyStatus::Dropped);
  EXPECT_EQ(result.drop, ReassemblyDrop::ConflictingDuplicate);
  EXPECT_EQ(add(reassembler, udp.first).status, ReassemblyStatus::Kept);
  expect_whole(add(reassembler, udp.third), udp.whole);
}

TEST(Reassembler, APartialOverlapDiscardsTheDatagram) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.first).status, ReassemblyStatus::Kept);
  ReassemblyResult result = add(reassembler, fragment(udp.whole, 200, 400, true));
  EXPECT_EQ(result.status, ReassemblyStatus::Dropped);
  EXPECT_EQ(result.drop, ReassemblyDrop::Overlap);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
  EXPECT_EQ(reassembler.counters().discarded, 1u);
  EXPECT_EQ(reassembler.counters().drops[std::size_t(ReassemblyDrop::Overlap)], 1u);
  // What follows starts a new datagram that lacks the first fragment.
  EXPECT_EQ(add(reassembler, udp.second).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.third).status, ReassemblyStatus::Kept);
}

TEST(Reassembler, ASecondLastFragmentWithAnotherEndDiscards) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.third).status, ReassemblyStatus::Kept);
  ReassemblyResult result = add(reassembler, fragment(udp.whole, 400, 200, false));
  EXPECT_EQ(result.drop, ReassemblyDrop::BadFragment);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
}

TEST(Reassembler, BytesBeyondTheLastFragmentDiscard) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, fragment(udp.whole, 400, 400, false)).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.third).drop, ReassemblyDrop::BadFragment);
}

TEST(Reassembler, AnEmptyFragmentIsBad) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, fragment(udp.whole, 400, 0, true)).drop, ReassemblyDrop::BadFragment);
  // A middle fragment of 7 bytes trims to nothing (only the last may end off an 8-byte unit).
  EXPECT_EQ(add(reassembler, fragment(udp.whole, 400, 7, true)).drop, ReassemblyDrop::BadFragment);
}

TEST(Reassembler, AWholeDatagramIsNotAFragment) {
  Bytes whole = udp_datagram(100);
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, whole).drop, ReassemblyDrop::NotFragment);
}

TEST(Reassembler, AViewThatDoesNotFitTheFrameIsRefused) {
  ThreeFragments udp;
  PacketView view = view_of(udp.first);
  Reassembler reassembler;
  Bytes cut(udp.first.begin(), udp.first.begin() + 100);
  auto result = reassembler.add(std::span<const uint8_t>(cut.data(), cut.size()), view, 0);
  EXPECT_EQ(result.drop, ReassemblyDrop::BadView);
}

TEST(Reassembler, ExpiresAfterThirtySecondsFromTheFirstFragment) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.first, 1000).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.second, 20000).status, ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.expire(30999), 0u);  // the clock runs from the first fragment
  EXPECT_EQ(reassembler.expire(31000), 1u);
  EXPECT_EQ(reassembler.counters().expired, 1u);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
  EXPECT_EQ(reassembler.bytes_in_use(), 0u);
}

TEST(Reassembler, AnExpiredDatagramHandsBackItsFirstFragmentAsItCame) {
  ThreeFragments udp;
  Reassembler reassembler;
  std::vector<Bytes> reported;
  reassembler.on_expired(
      [&](std::span<const uint8_t> first) { reported.push_back(bytes_of(first)); });
  add(reassembler, udp.second, 0);
  add(reassembler, udp.first, 0);  // after the second: the first fragment is what counts
  reassembler.expire(30000);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], udp.first);
}

TEST(Reassembler, AnExpiredDatagramWithoutItsFirstFragmentIsNotReported) {
  ThreeFragments udp;
  Reassembler reassembler;
  int reported = 0;
  reassembler.on_expired([&](std::span<const uint8_t>) { ++reported; });
  add(reassembler, udp.second, 0);
  add(reassembler, udp.third, 0);
  EXPECT_EQ(reassembler.expire(30000), 1u);
  EXPECT_EQ(reported, 0);
}

TEST(Reassembler, ExpiryDuringAddIsReportedToo) {
  ThreeFragments udp;
  Reassembler reassembler;
  int reported = 0;
  reassembler.on_expired([&](std::span<const uint8_t>) { ++reported; });
  add(reassembler, udp.first, 0);
  add(reassembler, udp.second, 30000);  // the old datagram goes first; this one starts anew
  EXPECT_EQ(reported, 1);
}

TEST(Reassembler, AFirstFragmentOfPartialUnitsIsReportedAsStored) {
  // 403 bytes with MF: the kernel keeps whole 8-byte units (400), and so does the report,
  // with its total length and checksum to match.
  Bytes whole = udp_datagram(1200);
  Bytes first = fragment(whole, 0, 403, true);
  Reassembler reassembler;
  std::vector<Bytes> reported;
  reassembler.on_expired([&](std::span<const uint8_t> f) { reported.push_back(bytes_of(f)); });
  add(reassembler, first, 0);
  reassembler.expire(30000);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], fragment(whole, 0, 400, true));
}

TEST(Reassembler, AFragmentAfterTheTimeoutStartsAfresh) {
  ThreeFragments udp;
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, udp.first, 0).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.second, 0).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, udp.third, 30000).status, ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.counters().expired, 1u);
}

TEST(Reassembler, RefusesANewDatagramWhenTheTableIsFull) {
  Reassembler reassembler({.max_datagrams = 2, .max_bytes = 1 << 20, .timeout_ms = 30000});
  Bytes a = udp_datagram(1200, 1), b = udp_datagram(1200, 2), c = udp_datagram(1200, 3);
  EXPECT_EQ(add(reassembler, fragment(a, 0, 400, true)).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, fragment(b, 0, 400, true)).status, ReassemblyStatus::Kept);
  ReassemblyResult refused = add(reassembler, fragment(c, 0, 400, true));
  EXPECT_EQ(refused.drop, ReassemblyDrop::TooManyDatagrams);
  // Datagrams in progress still take their fragments, and completing one makes room.
  EXPECT_EQ(add(reassembler, fragment(a, 400, 808, false)).status, ReassemblyStatus::Complete);
  EXPECT_EQ(add(reassembler, fragment(c, 0, 400, true)).status, ReassemblyStatus::Kept);
}

TEST(Reassembler, RefusesFragmentsWhenStorageRunsOut) {
  // Two 1024-byte blocks: a 1200-byte piece takes both, and the rest of `a` needs a third.
  Reassembler reassembler({.max_datagrams = 8, .max_bytes = 2048, .timeout_ms = 30000});
  Bytes a = udp_datagram(3000, 1), b = udp_datagram(3000, 2);
  EXPECT_EQ(add(reassembler, fragment(a, 0, 1200, true)).status, ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.bytes_in_use(), 2048u);
  EXPECT_EQ(add(reassembler, fragment(b, 0, 8, true)).drop, ReassemblyDrop::OutOfMemory);
  EXPECT_EQ(add(reassembler, fragment(a, 1200, 1808, false)).drop, ReassemblyDrop::OutOfMemory);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 1u);  // a waits: it may still time out
  EXPECT_EQ(reassembler.expire(30000), 1u);
  EXPECT_EQ(add(reassembler, fragment(b, 0, 8, true), 30000).status, ReassemblyStatus::Kept);
}

TEST(Reassembler, RefusesADatagramPast65535Bytes) {
  // Offset 65000 + 600 bytes would end the datagram at 20 + 65600.
  Bytes whole = udp_datagram(1200);
  Bytes last = fragment(whole, 0, 600, false);
  put_be16(last, 20, uint16_t(65000 / 8));
  fix_ip_checksum(last);
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, fragment(whole, 0, 400, true)).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, last).drop, ReassemblyDrop::TooBig);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);  // the whole datagram goes
}

TEST(Reassembler, CountsTheFirstFragmentsOptionsInThe65535Limit) {
  // 65515 payload bytes fit behind a 20-byte header, not behind the first fragment's 28.
  Tins::IP header = ipv4(kCip, kVip);
  header.flags(Tins::IP::Flags(0));
  header.protocol(17);  // the key: the same as the UDP datagram's other fragment
  header.add_option(record_route_option());
  auto built = ethernet(kClientMac, kDirectorExtMac) / header / Tins::RawPDU(payload_bytes(32768));
  Bytes first = serialize(built);
  ASSERT_EQ(ip_header_len(first), 28u);
  put_be16(first, 20, 0x2000);
  fix_ip_checksum(first);
  Bytes plain = udp_datagram(32739);  // 20 + 8 + 32739: payload 32747, ending at 65515
  Bytes last = fragment(plain, 0, 32747, false);
  put_be16(last, 20, uint16_t(32768 / 8));
  fix_ip_checksum(last);
  Reassembler reassembler;
  EXPECT_EQ(add(reassembler, first).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add(reassembler, last).drop, ReassemblyDrop::TooBig);
}

TEST(Reassembler, KeepsDfOnlyWhenTheLargestFragmentHadIt) {
  ThreeFragments udp;
  Reassembler reassembler;
  add(reassembler, fragment(udp.whole, 0, 400, true, 0x4000));
  add(reassembler, fragment(udp.whole, 400, 400, true, 0x4000));
  ReassemblyResult result = add(reassembler, fragment(udp.whole, 800, 408, false, 0x4000));
  ASSERT_EQ(result.status, ReassemblyStatus::Complete);
  EXPECT_EQ(be16(bytes_of(result.frame), 20), 0x4000);
  EXPECT_TRUE(ip_checksum_valid(bytes_of(result.frame)));

  add(reassembler, fragment(udp.whole, 0, 400, true, 0x4000));
  add(reassembler, fragment(udp.whole, 400, 400, true, 0x4000));
  result = add(reassembler, fragment(udp.whole, 800, 408, false));  // the largest, no DF
  ASSERT_EQ(result.status, ReassemblyStatus::Complete);
  EXPECT_EQ(be16(bytes_of(result.frame), 20), 0);
}

TEST(Reassembler, MixingNotEctWithEctDiscards) {
  ThreeFragments udp;
  Bytes ect = udp.second;
  ect.at(15) = 0x02;  // ECT(0)
  fix_ip_checksum(ect);
  Reassembler reassembler;
  add(reassembler, udp.first);
  add(reassembler, ect);
  EXPECT_EQ(add(reassembler, udp.third).drop, ReassemblyDrop::EcnMismatch);
}

TEST(Reassembler, CeOnAnyFragmentMarksTheDatagram) {
  ThreeFragments udp;
  auto with_tos = [](Bytes frame, uint8_t tos) {
    frame.at(15) = tos;
    fix_ip_checksum(frame);
    return frame;
  };
  Reassembler reassembler;
  add(reassembler, with_tos(udp.first, 0x02));
  add(reassembler, with_tos(udp.second, 0x03));
  ReassemblyResult result = add(reassembler, with_tos(udp.third, 0x02));
  ASSERT_EQ(result.status, ReassemblyStatus::Complete);
  Bytes got = bytes_of(result.frame);
  EXPECT_EQ(got.at(15), 0x03);
  EXPECT_TRUE(ip_checksum_valid(got));
}

TEST(Reassembler, InterleavedShuffledDatagramsWithDuplicatesAllComplete) {
  std::mt19937 random(7);
  Reassembler reassembler;
  std::vector<Bytes> wholes;
  std::vector<Bytes> pieces;
  for (uint16_t id = 0; id < 50; ++id) {
    Bytes whole = udp_datagram(100 + random() % 4000, id);
    std::size_t payload = ip_total_len(whole) - 20;
    for (std::size_t from = 0; from < payload;) {
      std::size_t length = 8 * (1 + random() % 100);
      bool last = from + length >= payload;
      if (last && from == 0) {  // a single piece would be no fragment: cut it in two
        length = (payload / 2) & ~std::size_t(7);
        last = false;
      }
      if (last) length = payload - from;
      pieces.push_back(fragment(whole, from, length, !last));
      if (random() % 5 == 0) pieces.push_back(pieces.back());
      from += length;
    }
    wholes.push_back(whole);
  }
  std::shuffle(pieces.begin(), pieces.end(), random);
  std::vector<bool> completed(wholes.size());
  for (const Bytes& piece : pieces) {
    ReassemblyResult result = add(reassembler, piece);
    ASSERT_NE(result.status, ReassemblyStatus::Dropped)
        << reassembly_drop_name(result.drop) << " " << ip_total_len(piece) << " "
        << be16(piece, 20);
    if (result.status != ReassemblyStatus::Complete) continue;
    Bytes got = bytes_of(result.frame);
    EXPECT_EQ(got, wholes.at(be16(got, 18)));
    completed.at(be16(got, 18)) = true;
  }
  // A duplicate arriving after its datagram completed starts a new one; that is all.
  EXPECT_EQ(std::count(completed.begin(), completed.end(), true), 50);
}

TEST(Reassembler, SurvivesRandomFragmentStorms) {
  std::mt19937 random(42);
  Reassembler reassembler({.max_datagrams = 64, .max_bytes = 256 << 10, .timeout_ms = 500});
  Bytes frame;
  for (int i = 0; i < 60000; ++i) {
    Tins::IP header = ipv4(kCip, kVip);
    header.id(uint16_t(random() % 8));
    header.src_addr(Tins::IPv4Address(uint32_t(random() % 3 + 1)));
    header.protocol(uint8_t(random() % 2 ? 17 : 6));
    header.tos(uint8_t(random() % 4));
    uint16_t flags = uint16_t((random() % 2 ? 0x2000 : 0) | (random() % 4 == 0 ? 0x4000 : 0));
    uint16_t offset = uint16_t(random() % 4 == 0 ? random() % 0x2000 : random() % 16);
    std::size_t length = random() % 3 == 0 ? random() % 2000 : random() % 64;
    auto built = ethernet(kClientMac, kDirectorExtMac) / header /
                 Tins::RawPDU(payload_bytes(length, uint8_t(random())));
    frame = serialize(built);
    put_be16(frame, 20, uint16_t(flags | offset));
    fix_ip_checksum(frame);
    Classified classified = classify_bytes(frame);
    if (classified.verdict != Verdict::Ipv4 || !classified.packet.is_fragment()) continue;
    ReassemblyResult result = add(reassembler, frame, uint64_t(i / 30));
    ASSERT_LE(reassembler.bytes_in_use(), std::size_t(256) << 10);
    ASSERT_LE(reassembler.datagrams_in_progress(), 64u);
    if (result.status == ReassemblyStatus::Complete) {
      Bytes got = bytes_of(result.frame);
      ASSERT_EQ(got.size(), 14 + ip_total_len(got));
      ASSERT_TRUE(ip_checksum_valid(got));
    }
  }
  EXPECT_GT(reassembler.counters().completed, 0u);
}

TEST(Reassembler, SurvivesViewsThatLie) {
  // Garbage views over short frames: the reassembler must check them, never trust them.
  std::mt19937 random(3);
  Reassembler reassembler({.max_datagrams = 16, .max_bytes = 64 << 10, .timeout_ms = 1000});
  for (int i = 0; i < 100000; ++i) {
    Bytes frame(random() % 200);
    for (auto& byte : frame) byte = uint8_t(random());
    PacketView view;
    view.l3 = uint16_t(random() % 80);
    view.ip_header_len = uint8_t(random() % 70);
    view.l4 = uint16_t(random() % 2 ? view.l3 + view.ip_header_len : random() % 300);
    view.ip_total_len = uint16_t(random() % 2 ? random() % 300 : random());
    view.more_fragments = random() % 2;
    view.fragment_offset = uint16_t(random() % 2 ? (random() % 0x2000) * 8 : random());
    view.ip_id = uint16_t(random() % 4);
    view.tos = uint8_t(random());
    reassembler.add(std::span<const uint8_t>(frame.data(), frame.size()), view, uint64_t(i));
  }
  SUCCEED();
}

}  // namespace
}  // namespace vsd::fwd

namespace vsd::fwd {
namespace {

using namespace testing;

// Bytes [from, from + length) of an IPv6 datagram's fragmentable part (behind `unfragmentable`
// bytes of extension headers) as a fragment with identification `id`, built by hand: the
// unfragmentable headers, a fragment header naming what the last of them named, the bytes.
Bytes fragment6(const Bytes& whole, std::size_t from, std::size_t length, bool more,
                uint32_t id = 0xabcd0001, std::size_t unfragmentable = 0) {
  const std::size_t head = 14 + 40 + unfragmentable;
  const std::size_t names = unfragmentable == 0 ? 14 + 6 : head - 8;
  Bytes out(whole.begin(), whole.begin() + std::ptrdiff_t(head));
  const uint8_t next = out[names];
  out[names] = kExtFragment;
  const uint16_t word = uint16_t(from | (more ? 1 : 0));
  const Bytes header{next,
                     0,
                     uint8_t(word >> 8),
                     uint8_t(word),
                     uint8_t(id >> 24),
                     uint8_t(id >> 16),
                     uint8_t(id >> 8),
                     uint8_t(id)};
  out.insert(out.end(), header.begin(), header.end());
  auto start = whole.begin() + std::ptrdiff_t(head + from);
  out.insert(out.end(), start, start + std::ptrdiff_t(length));
  put_be16(out, 14 + 4, uint16_t(out.size() - 14 - 40));
  return out;
}

ReassemblyResult add6(Reassembler& reassembler, const Bytes& frame, uint64_t now_ms = 0) {
  auto p = parse_ipv6(frame);
  EXPECT_TRUE(p);
  if (!p) return {};
  return reassembler.add6(frame, *p, now_ms);
}

// 1208 bytes of UDP (8 + 1200) in three fragments: 400, 400, 408.
struct ThreeFragments6 {
  Bytes whole = udp6_datagram(1200);
  Bytes first = fragment6(whole, 0, 400, true);
  Bytes second = fragment6(whole, 400, 400, true);
  Bytes third = fragment6(whole, 800, 408, false);
};

TEST(Reassembler6, FragmentsInAnyOrderGiveTheWholeDatagramWithoutTheFragmentHeader) {
  ThreeFragments6 f;
  for (const auto& order : std::vector<std::vector<const Bytes*>>{
           {&f.first, &f.second, &f.third}, {&f.third, &f.first, &f.second}}) {
    Reassembler reassembler(kReassemblyLimits6);
    ReassemblyResult r;
    for (const Bytes* piece : order) r = add6(reassembler, *piece);
    ASSERT_EQ(r.status, ReassemblyStatus::Complete);
    EXPECT_EQ(bytes_of(r.frame), f.whole);
    // frag_max_size: 40 + the largest payload length (fragment header counted).
    EXPECT_EQ(r.largest_fragment, 40 + 8 + 408);
  }
}

TEST(Reassembler6, KeepsTheUnfragmentableHeadersAndRenamesTheNextHeader) {
  const Bytes whole = udp6_datagram(600, {pad_extension(kExtHopByHop), routing_extension()});
  Reassembler reassembler(kReassemblyLimits6);
  EXPECT_EQ(add6(reassembler, fragment6(whole, 304, 304, false, 7, 16)).status,
            ReassemblyStatus::Kept);
  auto r = add6(reassembler, fragment6(whole, 0, 304, true, 7, 16));
  ASSERT_EQ(r.status, ReassemblyStatus::Complete);
  EXPECT_EQ(bytes_of(r.frame), whole);
  auto p = parse_ipv6(r.frame);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_udp());
  EXPECT_TRUE(l4_checksum_ok6(r.frame, *p));
}

TEST(Reassembler6, AnOverlapDiscardsTheWholeDatagram) {
  ThreeFragments6 f;
  Reassembler reassembler(kReassemblyLimits6);
  add6(reassembler, f.first);
  auto r = add6(reassembler, fragment6(f.whole, 264, 264, true));
  EXPECT_EQ(r.status, ReassemblyStatus::Dropped);
  EXPECT_EQ(r.drop, ReassemblyDrop::Overlap);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
  // What follows starts a datagram that lacks its first fragment.
  EXPECT_EQ(add6(reassembler, f.second).status, ReassemblyStatus::Kept);
  EXPECT_EQ(add6(reassembler, f.third).status, ReassemblyStatus::Kept);
}

TEST(Reassembler6, AFragmentWithMoreThatIsNotWholeUnitsKillsTheQueue) {
  ThreeFragments6 f;
  Reassembler reassembler(kReassemblyLimits6);
  add6(reassembler, f.first);
  auto r = add6(reassembler, fragment6(f.whole, 400, 404, true));
  EXPECT_EQ(r.drop, ReassemblyDrop::BadFragment);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 0u);
}

TEST(Reassembler6, AnAtomicFragmentCompletesAtOnce) {
  const Bytes whole = udp6_datagram(100);
  Reassembler reassembler(kReassemblyLimits6);
  auto r = add6(reassembler, fragment6(whole, 0, 108, false));
  ASSERT_EQ(r.status, ReassemblyStatus::Complete);
  EXPECT_EQ(bytes_of(r.frame), whole);
  EXPECT_EQ(r.largest_fragment, 40 + 8 + 108);
}

TEST(Reassembler6, FamiliesDoNotMeetAndIdsAreThirtyTwoBits) {
  const Bytes whole = udp6_datagram(1200);
  Reassembler reassembler(kReassemblyLimits6);
  add6(reassembler, fragment6(whole, 0, 600, true, 0x00010001));
  // Same low 16 bits, another datagram.
  EXPECT_EQ(add6(reassembler, fragment6(whole, 600, 608, false, 0x00020001)).status,
            ReassemblyStatus::Kept);
  EXPECT_EQ(reassembler.datagrams_in_progress(), 2u);
}

TEST(Reassembler6, ExpiresAfterSixtySecondsAndHandsBackTheFirstFragment) {
  ThreeFragments6 f;
  Reassembler reassembler(kReassemblyLimits6);
  Bytes expired;
  reassembler.on_expired([&](std::span<const uint8_t> first) { expired = bytes_of(first); });
  add6(reassembler, f.first, 1000);
  add6(reassembler, f.third, 30000);
  EXPECT_EQ(reassembler.expire(60999), 0u);
  EXPECT_EQ(reassembler.expire(61000), 1u);
  // The first fragment as it came: its fragment header kept, its payload length matching.
  EXPECT_EQ(expired, f.first);
  EXPECT_EQ(add6(reassembler, f.second, 61000).status, ReassemblyStatus::Kept);
}

}  // namespace
}  // namespace vsd::fwd
