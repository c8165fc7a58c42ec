// Checksums from scratch against RFC 1071's worked example, a well-known IPv4 header and a
// plain reference sum; incremental updates against RFC 1624's example and against fresh sums
// over many random field changes, one word at a time and several at once.
#include "fwd/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using testing::Bytes;
using testing::reference_sum;

std::span<const uint8_t> bytes_of(const Bytes& bytes) {
  return {bytes.data(), bytes.size()};
}

TEST(OnesSum, MatchesRfc1071WorkedExample) {
  // RFC 1071 section 3: 0001 + f203 + f4f5 + f6f7 = 2ddf0, folded ddf2.
  Bytes data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_sum(bytes_of(data)), 0xddf2);
  EXPECT_EQ(internet_checksum(bytes_of(data)), 0x220d);
}

TEST(OnesSum, PadsAnOddLastByteAsTheHighByte) {
  Bytes data = {0x01, 0x02, 0x03};  // 0x0102 + 0x0300
  EXPECT_EQ(ones_sum(bytes_of(data)), 0x0402);
  Bytes one = {0xab};
  EXPECT_EQ(ones_sum(bytes_of(one)), 0xab00);
}

TEST(OnesSum, EndAroundCarryWraps) {
  EXPECT_EQ(ones_add(0xffff, 0x0001), 0x0001);
  EXPECT_EQ(ones_add(0x8000, 0x8000), 0x0001);
  EXPECT_EQ(ones_add(0xfffe, 0x0001), 0xffff);
  Bytes carries = {0xff, 0xff, 0xff, 0xff, 0x00, 0x02};  // ffff + ffff + 0002 = 2 0000 -> 0002
  EXPECT_EQ(ones_sum(bytes_of(carries)), 0x0002);
}

TEST(OnesSum, ZeroOnlyForAllZeroWordsAndAllOnesForACancellingSum) {
  Bytes zeros(10, 0);
  EXPECT_EQ(ones_sum(bytes_of(zeros)), 0x0000);
  Bytes cancels = {0x12, 0x34, 0xed, 0xcb};  // 1234 + edcb = ffff
  EXPECT_EQ(ones_sum(bytes_of(cancels)), 0xffff);
  EXPECT_EQ(internet_checksum(bytes_of(cancels)), 0x0000);
}

TEST(OnesSum, ChainsEvenChunks) {
  Bytes data = testing::payload_bytes(101);
  uint16_t first = ones_sum(bytes_of(data).first(40));
  EXPECT_EQ(ones_sum(bytes_of(data).subspan(40), first), ones_sum(bytes_of(data)));
}

TEST(OnesSum, AgreesWithTheReferenceOnRandomBuffersOfEveryLength) {
  std::mt19937 random(7);
  for (std::size_t length = 0; length < 300; ++length) {
    Bytes data(length);
    for (auto& byte : data) byte = uint8_t(random());
    EXPECT_EQ(ones_sum(bytes_of(data)), reference_sum(data, 0, length)) << length;
  }
}

TEST(Ipv4HeaderChecksum, MatchesAKnownHeaderWhateverTheFieldHolds) {
  // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF, total length 0x73: checksum b861.
  Bytes header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_checksum(bytes_of(header)), 0xb861);
  EXPECT_TRUE(checksum_verifies(bytes_of(header)));
  header[10] = 0x12;
  EXPECT_EQ(ipv4_header_checksum(bytes_of(header)), 0xb861);
  EXPECT_FALSE(checksum_verifies(bytes_of(header)));
}

TEST(TransportChecksum, TcpMatchesWhatLibtinsWrote) {
  auto frame = testing::ethernet(testing::kClientMac, testing::kDirectorExtMac) /
               testing::ipv4(testing::kCip, testing::kVip) /
               testing::tcp(40000, 80, Tins::TCP::PSH | Tins::TCP::ACK) /
               Tins::RawPDU(testing::payload_bytes(33));
  Bytes bytes = testing::serialize(frame);
  std::span<const uint8_t> segment = bytes_of(bytes).subspan(34);
  EXPECT_EQ(tcp_checksum(testing::ip(testing::kCip), testing::ip(testing::kVip), segment),
            testing::be16(bytes, 34 + 16));
}

TEST(TransportChecksum, UdpSendsAComputedZeroAsAllOnes) {
  // An 10-byte datagram whose last word is chosen so the whole sum is ffff.
  Ipv4 src = testing::ip(testing::kCip), dst = testing::ip(testing::kVip);
  Bytes datagram = {0x0f, 0xa0, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00};
  uint32_t pseudo =
      (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff) + 17 + 10;
  uint16_t without_last = reference_sum(datagram, 0, 8, pseudo);
  testing::put_be16(datagram, 8, uint16_t(0xffff - without_last));
  EXPECT_EQ(transport_checksum(src, dst, 17, bytes_of(datagram), 6), 0x0000);
  EXPECT_EQ(udp_checksum(src, dst, bytes_of(datagram)), 0xffff);
}

TEST(IncrementalUpdate, MatchesRfc1624Example) {
  // RFC 1624 section 4: m = 5555 -> 3285 with the rest summing to cd7a: HC dd2f -> 0000.
  EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
  // The other way round lands back on dd2f.
  EXPECT_EQ(checksum_update16(0x0000, 0x3285, 0x5555), 0xdd2f);
}

TEST(IncrementalUpdate, UdpZeroStaysZeroAndAZeroResultBecomesAllOnes) {
  EXPECT_EQ(udp_checksum_update16(0x0000, 0x5555, 0x3285), 0x0000);
  EXPECT_EQ(udp_checksum_update32(0x0000, 0x0a000064, 0xc0a8010b), 0x0000);
  EXPECT_EQ(udp_checksum_update16(0xdd2f, 0x5555, 0x3285), 0xffff);
}

// Writes the from-scratch checksum (reference) into a buffer's field at 10.
void set_reference_checksum(Bytes& data) {
  testing::put_be16(data, 10, 0);
  testing::put_be16(data, 10, uint16_t(~reference_sum(data, 0, data.size())));
}

TEST(IncrementalUpdate, EqualsAFreshSumForRandom16And32BitChanges) {
  std::mt19937 random(42);
  for (int round = 0; round < 20000; ++round) {
    Bytes data(20 + 2 * (random() % 20));
    for (auto& byte : data) byte = uint8_t(random());
    set_reference_checksum(data);
    uint16_t checksum = testing::be16(data, 10);

    std::size_t at = 2 * (random() % (data.size() / 2 - 1));
    if (at == 10 || at == 8) at = 12;  // keep clear of the checksum field
    bool wide = random() % 2 == 0;
    if (wide) {
      uint32_t old_value = uint32_t(testing::be16(data, at)) << 16 | testing::be16(data, at + 2);
      uint32_t new_value = uint32_t(random());
      testing::put_be16(data, at, uint16_t(new_value >> 16));
      testing::put_be16(data, at + 2, uint16_t(new_value));
      checksum = checksum_update32(checksum, old_value, new_value);
    } else {
      uint16_t old_word = testing::be16(data, at);
      uint16_t new_word = uint16_t(random());
      testing::put_be16(data, at, new_word);
      checksum = checksum_update16(checksum, old_word, new_word);
    }
    set_reference_checksum(data);
    ASSERT_EQ(checksum, testing::be16(data, 10)) << "round " << round;
  }
}

TEST(IncrementalUpdate, KeepsAWrongChecksumExactlyAsWrong) {
  std::mt19937 random(3);
  for (int round = 0; round < 5000; ++round) {
    Bytes data(40);
    for (auto& byte : data) byte = uint8_t(random());
    uint16_t residual_before = reference_sum(data, 0, data.size());
    uint16_t old_word = testing::be16(data, 20), new_word = uint16_t(random());
    testing::put_be16(data, 20, new_word);
    testing::put_be16(data, 10, checksum_update16(testing::be16(data, 10), old_word, new_word));
    ASSERT_EQ(reference_sum(data, 0, data.size()), residual_before) << "round " << round;
  }
}

// Several words changed at once, as a rewrite does: the same checksum as updating one word at a
// time (and so as a fresh sum), in TCP's form and in UDP's, including values that land on 0,
// 0xffff and UDP's "no checksum".
TEST(ChecksumUpdate, SeveralChangesGiveWhatWordByWordUpdatesGive) {
  std::mt19937 random(7);
  const uint16_t edges[] = {0x0000, 0xffff, 0x0001, 0xfffe};
  for (int round = 0; round < 50000; ++round) {
    auto word = [&] { return random() % 4 == 0 ? edges[random() % 4] : uint16_t(random()); };
    const uint16_t checksum = word();
    ChecksumUpdate changes;
    uint16_t one_by_one = checksum, udp_one_by_one = checksum;
    const int count = 1 + int(random() % 6);
    for (int i = 0; i < count; ++i) {
      if (random() % 2 == 0) {
        const uint16_t old_word = word(), new_word = word();
        changes.replace16(old_word, new_word);
        one_by_one = checksum_update16(one_by_one, old_word, new_word);
        udp_one_by_one = udp_checksum_update16(udp_one_by_one, old_word, new_word);
      } else {
        const uint32_t old_value = uint32_t(word()) << 16 | word();
        const uint32_t new_value = uint32_t(word()) << 16 | word();
        changes.replace32(old_value, new_value);
        one_by_one = checksum_update32(one_by_one, old_value, new_value);
        udp_one_by_one = udp_checksum_update32(udp_one_by_one, old_value, new_value);
      }
    }
    ASSERT_EQ(changes.applied_to(checksum), one_by_one) << "round " << round;
    ASSERT_EQ(changes.applied_to_udp(checksum), udp_one_by_one) << "round " << round;
  }
}

}  // namespace
}  // namespace vsd::fwd
