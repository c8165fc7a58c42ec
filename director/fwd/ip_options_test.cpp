// Options stamped on receipt for a local address (spec section 2), byte by byte as the Linux
// 6.1 director wrote them in `vslab conform --dut qemu-kernel --filter '*/rr/ip-options/*'`.
#include "fwd/ip_options.h"

#include <gtest/gtest.h>

#include "fwd/checksum.h"
#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

// A UDP datagram from the client to the VIP with `options` (a whole number of words).
Bytes with_options(const std::vector<uint8_t>& options) {
  auto header = ipv4(kCip, kVip);
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / Tins::UDP(80, 40000) /
               Tins::RawPDU(payload_bytes(8));
  Bytes bytes = serialize(frame);
  bytes.insert(bytes.begin() + 34, options.begin(), options.end());
  bytes[14] = uint8_t(0x45 + options.size() / 4);
  const std::size_t total = std::size_t(bytes[16]) << 8 | bytes[17];
  bytes[16] = uint8_t((total + options.size()) >> 8);
  bytes[17] = uint8_t(total + options.size());
  std::span<uint8_t> ip(bytes.data() + 14, 20 + options.size());
  ip[10] = ip[11] = 0;
  const uint16_t sum = ipv4_header_checksum(ip);
  ip[10] = uint8_t(sum >> 8);
  ip[11] = uint8_t(sum);
  return bytes;
}

std::vector<uint8_t> options_of(const Bytes& frame) {
  const std::size_t header = std::size_t(frame[14] & 0x0f) * 4;
  return {frame.begin() + 34, frame.begin() + long(14 + header)};
}

bool header_checksum_ok(const Bytes& frame) {
  const std::size_t header = std::size_t(frame[14] & 0x0f) * 4;
  return checksum_verifies(std::span<const uint8_t>(frame.data() + 14, header));
}

TEST(IpOptions, RecordRouteGetsTheLocalAddressInItsNextSlot) {
  // A router already recorded 10.20.0.1 in the first of two slots.
  Bytes frame = with_options({1, 7, 11, 8, 10, 20, 0, 1, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_on_receipt(span_of(frame), view_of(frame), ip(kVip), 5));
  const auto vip = ip(kVip).value;
  EXPECT_EQ(options_of(frame),
            (std::vector<uint8_t>{1, 7, 11, 12, 10, 20, 0, 1, uint8_t(vip >> 24),
                                  uint8_t(vip >> 16), uint8_t(vip >> 8), uint8_t(vip)}));
  EXPECT_TRUE(header_checksum_ok(frame));
  // Full now: nothing more changes.
  EXPECT_FALSE(stamp_options_on_receipt(span_of(frame), view_of(frame), ip(kVip), 5));
}

TEST(IpOptions, AFullTimestampOptionCountsTheOverflow) {
  Bytes frame = with_options({68, 12, 13, 0x10, 0, 0, 0, 1, 0, 0, 0, 2});
  ASSERT_TRUE(stamp_options_on_receipt(span_of(frame), view_of(frame), ip(kVip), 5));
  EXPECT_EQ(options_of(frame)[3], 0x20);
  EXPECT_TRUE(header_checksum_ok(frame));
}

TEST(IpOptions, TimestampsGoInTheNextSlotWithTheAddressWhereAsked) {
  Bytes only = with_options({68, 12, 5, 0x00, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_on_receipt(span_of(only), view_of(only), ip(kVip), 0x01020304));
  EXPECT_EQ(options_of(only), (std::vector<uint8_t>{68, 12, 9, 0, 1, 2, 3, 4, 0, 0, 0, 0}));
  Bytes with_address = with_options({68, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_on_receipt(span_of(with_address), view_of(with_address),
                                       Ipv4::from_octets(10, 20, 0, 100), 0x01020304));
  EXPECT_EQ(options_of(with_address),
            (std::vector<uint8_t>{68, 12, 13, 1, 10, 20, 0, 100, 1, 2, 3, 4}));
}

TEST(IpOptions, AForwardedPacketRecordsWhereItLeavesAndStampsWhereItCameIn) {
  const Ipv4 dip = Ipv4::from_octets(192, 168, 10, 1), vip = Ipv4::from_octets(10, 20, 0, 100);
  Bytes route = with_options({1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_forwarded(span_of(route), view_of(route), dip, vip, 5));
  EXPECT_EQ(options_of(route), (std::vector<uint8_t>{1, 7, 11, 8, 10, 20, 0, 100, 0, 0, 0, 0}));
  EXPECT_TRUE(header_checksum_ok(route));
  Bytes stamp = with_options({68, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_forwarded(span_of(stamp), view_of(stamp), dip, vip, 0x01020304));
  EXPECT_EQ(options_of(stamp), (std::vector<uint8_t>{68, 12, 13, 1, 192, 168, 10, 1, 1, 2, 3, 4}));
}

TEST(IpOptions, APrespecifiedTimestampIsStampedOnlyForTheLocalAddress) {
  const auto local = Ipv4::from_octets(10, 20, 0, 100);
  Bytes other = with_options({68, 12, 5, 0x03, 192, 0, 2, 1, 0, 0, 0, 0});
  EXPECT_FALSE(stamp_options_on_receipt(span_of(other), view_of(other), local, 7));
  Bytes ours = with_options({68, 12, 5, 0x03, 10, 20, 0, 100, 0, 0, 0, 0});
  ASSERT_TRUE(stamp_options_on_receipt(span_of(ours), view_of(ours), local, 7));
  EXPECT_EQ(options_of(ours), (std::vector<uint8_t>{68, 12, 13, 3, 10, 20, 0, 100, 0, 0, 0, 7}));
}

TEST(IpOptions, RouterAlertAndUnknownOptionsStayAsTheyCame) {
  Bytes frame = with_options({148, 4, 0, 0, 30, 4, 0xab, 0xcd});
  const Bytes before = frame;
  EXPECT_FALSE(stamp_options_on_receipt(span_of(frame), view_of(frame), ip(kVip), 5));
  EXPECT_EQ(frame, before);
}

}  // namespace
}  // namespace vsd::fwd
