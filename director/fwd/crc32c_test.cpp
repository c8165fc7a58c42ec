// CRC32c against published check values (the CRC catalogue's check of "123456789", the
// iSCSI test patterns of RFC 3720 B.4), and the SCTP field's byte order.
#include "fwd/crc32c.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace vsd::fwd {
namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(Crc32c, CheckValue) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xe3069283u);
}

TEST(Crc32c, Rfc3720Patterns) {
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = uint8_t(i);
    down[i] = uint8_t(31 - i);
  }
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  EXPECT_EQ(crc32c(up), 0x46dd794eu);
  EXPECT_EQ(crc32c(down), 0x113fdb5cu);
}

TEST(Crc32c, SctpFieldIsTheCrcOfThePacketWithTheFieldZeroLeastSignificantByteFirst) {
  std::vector<uint8_t> packet = {0x04, 0x00, 0x00, 0x50, 1,    2,    3,    4,
                                 0xaa, 0xbb, 0xcc, 0xdd, 0x00, 0x03, 0x00, 0x04};
  const uint32_t crc = sctp_checksum(packet);
  std::vector<uint8_t> zeroed = packet;
  for (int i = 8; i < 12; ++i) zeroed[i] = 0;
  EXPECT_EQ(crc, crc32c(zeroed));  // whatever the field held before
  store_sctp_checksum(packet, crc);
  EXPECT_EQ(packet[8], uint8_t(crc));
  EXPECT_EQ(packet[11], uint8_t(crc >> 24));
  EXPECT_EQ(load_sctp_checksum(packet), crc);
  EXPECT_EQ(sctp_checksum(packet), crc);
}

}  // namespace
}  // namespace vsd::fwd
