// The pieces of mh (ip_vs_mh.c) that its tests check one by one: the kernel's hashes, the
// weights-to-turns rule and the population of the lookup table. mh.cpp puts them together.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "net/addr.h"
#include "sched/siphash.h"

namespace vsd {

// The lookup table has primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] entries (primes 251, 509, 1021,
// 2039, 4093, ...). Kconfig's default index is 12, so 4093 entries, not the 251 of index 8;
// weights are scaled down to CONFIG_IP_VS_MH_TAB_INDEX / 2 bits (IP_VS_MH_TAB_BITS).
constexpr int kMaglevConfigIndex = 12;
constexpr uint32_t kMaglevPrimes[] = {251,  509,   1021,  2039,  4093,
                                      8191, 16381, 32749, 65521, 131071};
constexpr uint32_t kMaglevTableSize = kMaglevPrimes[kMaglevConfigIndex - 8];
constexpr int kMaglevWeightBits = kMaglevConfigIndex / 2;

// generate_hash_secret: fixed keys, both halves the same (hsiphash_key_t words are unsigned
// long, 64 bits on the machines compared with).
constexpr SipKey kMaglevKey1{2654435761u, 2654435761u};  // offsets and lookups
constexpr SipKey kMaglevKey2{2654446892u, 2654446892u};  // skips

// ip_vs_mh_hashkey: hsiphash of the 32-bit sum offset + port + address, in host order.
constexpr uint32_t maglev_hash(SipKey key, Ipv4 addr, uint16_t port, uint32_t offset) {
  return hsiphash_u32(key, offset + port + addr.value);
}

// One destination's place in the population, in list order (ip_vs_mh_dest_setup).
struct MaglevPreference {
  uint32_t offset = 0;  // first preferred entry
  uint32_t skip = 1;    // step through the table, 1 .. size - 1
  int turns = 0;        // entries taken per round; 0: none
};

// ip_vs_mh_gcd_weight, ip_vs_mh_shift_weight and ip_vs_mh_permutate's turns: each last weight
// divided by the gcd of the positive ones and shifted right so that the largest fits in
// kMaglevWeightBits bits; a positive weight shifted to 0 still gets 1.
std::vector<int> maglev_turns(std::span<const uint32_t> last_weights);

// ip_vs_mh_populate over a table of any size: rounds over the list; in each, a destination with
// turns takes that many entries, each the next free one along its permutation (offset, offset
// + skip, ... modulo the size). Entries are list positions; all -1 when nobody has turns.
void maglev_populate(std::span<const MaglevPreference> preferences, std::span<int> table);

}  // namespace vsd
