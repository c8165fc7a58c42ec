// SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012), written from the
// paper's description: a 128-bit key, the message in little-endian 64-bit words, the last word
// padded with the message length in its top byte; c compression rounds per word and d
// finalisation rounds. SipHash-2-4 is the paper's recommended instance; the Linux kernel's
// hsiphash on 64-bit machines is SipHash-1-3 with its result cut to 32 bits (lib/siphash.c),
// which ip_vs_mh.c uses for its hashes.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

namespace vsd {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

template <int CompressionRounds, int FinalRounds>
constexpr uint64_t siphash(SipKey key, std::span<const uint8_t> message) {
  uint64_t v0 = key.k0 ^ 0x736f6d6570736575ull;  // "somepseudorandomlygeneratedbytes"
  uint64_t v1 = key.k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = key.k0 ^ 0x6c7967656e657261ull;
  uint64_t v3 = key.k1 ^ 0x7465646279746573ull;
  const auto round = [&] {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  };
  const auto absorb = [&](uint64_t word) {
    v3 ^= word;
    for (int i = 0; i < CompressionRounds; ++i) round();
    v0 ^= word;
  };
  const std::size_t whole = message.size() / 8 * 8;
  for (std::size_t at = 0; at < whole; at += 8) {
    uint64_t word = 0;
    for (int i = 0; i < 8; ++i) word |= uint64_t{message[at + i]} << (8 * i);
    absorb(word);
  }
  uint64_t last = uint64_t{message.size() & 0xff} << 56;
  for (std::size_t i = whole; i < message.size(); ++i)
    last |= uint64_t{message[i]} << (8 * (i - whole));
  absorb(last);
  v2 ^= 0xff;
  for (int i = 0; i < FinalRounds; ++i) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

// The kernel's hsiphash of one 32-bit value held in memory on a little-endian machine (the
// targets vslab compares with): its four bytes, least significant first, cut to 32 bits.
constexpr uint32_t hsiphash_u32(SipKey key, uint32_t value) {
  const uint8_t bytes[4] = {uint8_t(value), uint8_t(value >> 8), uint8_t(value >> 16),
                            uint8_t(value >> 24)};
  return static_cast<uint32_t>(siphash<1, 3>(key, bytes));
}

}  // namespace vsd
