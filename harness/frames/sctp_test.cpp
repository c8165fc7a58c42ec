// The harness's SCTP builder: CRC32c against published check values, chunk layout and
// padding, and a frame whose IPv4 protocol says SCTP after libtins serialises it.
#include "frames/sctp.h"

#include <gtest/gtest.h>

#include <string_view>

namespace vslab::frames {
namespace {

TEST(SctpFrames, Crc32cCheckValues) {
  constexpr std::string_view check = "123456789";
  EXPECT_EQ(crc32c({reinterpret_cast<const uint8_t*>(check.data()), check.size()}), 0xe3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
}

TEST(SctpFrames, PacketLayoutAndChecksum) {
  auto p = sctp_packet(40000, 80, 0, {sctp_chunk(sctp::kInit, 0x1000)});
  ASSERT_EQ(p.size(), 12u + 20u);
  EXPECT_EQ(p[0] << 8 | p[1], 40000);
  EXPECT_EQ(p[12], sctp::kInit);
  EXPECT_EQ(p[14] << 8 | p[15], 20);
  EXPECT_EQ(sctp_checksum_on_wire(p), sctp_checksum_of(p));
  auto data = sctp_packet(1, 2, 7, {sctp_chunk(sctp::kData, 1, "abc")});
  EXPECT_EQ(data.size(), 12u + 20u);  // 19 bytes of chunk, padded
  EXPECT_EQ(data[14] << 8 | data[15], 19);
}

TEST(SctpFrames, FrameCarriesProtocol132) {
  auto frame = sctp_frame(Tins::EthernetII(), Tins::IP("10.0.0.2", "10.0.0.1"),
                          sctp_packet(1, 2, 0, {sctp_chunk(sctp::kCookieAck)}));
  auto bytes = frame.serialize();
  EXPECT_EQ(bytes[14 + 9], kProtoSctp);
  EXPECT_EQ(bytes[14 + 2] << 8 | bytes[14 + 3], 20 + 16);  // the IPv4 total length
}

}  // namespace
}  // namespace vslab::frames
