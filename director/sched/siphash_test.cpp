// SipHash against the reference test vectors (github.com/veorq/SipHash, also in the kernel's
// lib/test_siphash.c): key 00 01 .. 0f, message 00 01 .. (n - 1). SipHash-2-4 is the paper's
// function; the kernel's 64-bit hsiphash is SipHash-1-3 cut to 32 bits, its vectors the
// kernel's own.
#include "sched/siphash.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace vsd {
namespace {

constexpr SipKey kTestKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

std::array<uint8_t, 64> counting_bytes() {
  std::array<uint8_t, 64> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i);
  return bytes;
}

TEST(SipHash, TwoFourMatchesTheReferenceVectors) {
  const auto bytes = counting_bytes();
  const std::span<const uint8_t> all(bytes);
  EXPECT_EQ((siphash<2, 4>(kTestKey, all.first(0))), 0x726fdb47dd0e0e31ull);
  EXPECT_EQ((siphash<2, 4>(kTestKey, all.first(4))), 0xcf2794e0277187b7ull);
  EXPECT_EQ((siphash<2, 4>(kTestKey, all.first(8))), 0x93f5f5799a932462ull);
  EXPECT_EQ((siphash<2, 4>(kTestKey, all.first(15))), 0xa129ca6149be45e5ull);  // the paper's
}

TEST(SipHash, KernelHsiphashIsOneThreeCutTo32Bits) {
  const auto bytes = counting_bytes();
  const std::span<const uint8_t> all(bytes);
  EXPECT_EQ(uint32_t(siphash<1, 3>(kTestKey, all.first(0))), 0x050fc4dcu);
  EXPECT_EQ(uint32_t(siphash<1, 3>(kTestKey, all.first(8))), 0x8d299a8eu);
  EXPECT_EQ(uint32_t(siphash<1, 3>(kTestKey, all.first(15))), 0x2a519956u);
}

TEST(SipHash, OneU32IsItsFourBytesLeastSignificantFirst) {
  // Bytes 00 01 02 03 are the u32 0x03020100 on a little-endian machine.
  EXPECT_EQ(hsiphash_u32(kTestKey, 0x03020100u), 0x88d38328u);
}

}  // namespace
}  // namespace vsd
