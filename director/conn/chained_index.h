// The hash index both connection tables find their entries by (conn/table.h for IPv4,
// conn/table6.h for IPv6), generic over what an entry is and what it is keyed by: an array of
// buckets, each the number of the first entry of its chain, the chain threaded through the
// entries themselves. Nothing allocates after assign(), a lookup reads a bucket and then one
// entry a step, and the three steps of the data plane's look-ahead (io/port.h LookAhead) each
// start loading what the next reads, so that a lookup in a table far larger than the cache
// finds its lines there.
//
// Traits name the entry's side of it:
//   using Entry = ...; using Key = ...;  (Key with ==)
//   static Key key_of(const Entry&);      what the entry is found by in this index
//   static uint32_t& next(Entry&);        its link in this index's chain
//   static uint32_t next(const Entry&);
// Hashing a key is the table's (each mixes its own seed in), and bucket_of() reduces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "conn/huge_pages.h"

namespace vsd {

inline constexpr uint32_t kNoEntry = 0xffffffff;  // ends chains

// The finaliser of MurmurHash3 (public domain): every input bit reaches every output bit.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A per-table secret so that clients cannot aim all their flows at one chain.
inline uint64_t random_hash_seed() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

// Every line of an entry that may straddle two: a packet that finds its entry reads and writes
// fields all over it, and the second line's miss would otherwise come due in the middle of the
// handling. The same line twice costs nothing.
template <class Entry>
void prefetch_lines(const Entry& entry) {
  const char* first = reinterpret_cast<const char*>(&entry);
  for (std::size_t at = 0; at < sizeof(Entry); at += 64) __builtin_prefetch(first + at);
  __builtin_prefetch(first + sizeof(Entry) - 1);
}

// Traits from what an entry is keyed by in an index and the member that links it there.
template <class E, class K, auto kKeyOf, uint32_t E::*kNext>
struct IndexTraits {
  using Entry = E;
  using Key = K;
  static decltype(auto) key_of(const E& entry) { return kKeyOf(entry); }
  static uint32_t& next(E& entry) { return entry.*kNext; }
  static uint32_t next(const E& entry) { return entry.*kNext; }
};

template <class Traits>
class ChainedIndex {
 public:
  using Entry = typename Traits::Entry;
  using Key = typename Traits::Key;

  // As many buckets as asked for, all empty: any count, not only powers of two (a full table
  // with a bucket per entry averages one entry a chain).
  void assign(std::size_t buckets) {
    buckets_.assign(buckets, kNoEntry);
    bucket_count_ = buckets;
  }
  // A hash's top 32 bits scaled onto 0..buckets-1 (Lemire's multiply-shift range reduction):
  // any bucket count, no division.
  uint32_t bucket_of(uint64_t hash) const {
    return static_cast<uint32_t>(((hash >> 32) * bucket_count_) >> 32);
  }
  std::size_t bucket_count() const { return buckets_.size(); }
  uint32_t head(uint32_t bucket) const { return buckets_[bucket]; }

  void link(Entry* pool, uint32_t index, uint32_t bucket) {
    Traits::next(pool[index]) = buckets_[bucket];
    buckets_[bucket] = index;
  }
  // The entry must be in the bucket's chain.
  void unlink(Entry* pool, uint32_t index, uint32_t bucket) {
    uint32_t* link = &buckets_[bucket];
    while (*link != index) link = &Traits::next(pool[*link]);
    *link = Traits::next(pool[index]);
  }
  // The newest entry of the key in its bucket, or kNoEntry.
  uint32_t find(const Entry* pool, const Key& key, uint32_t bucket) const {
    for (uint32_t i = buckets_[bucket]; i != kNoEntry; i = Traits::next(pool[i]))
      if (Traits::key_of(pool[i]) == key) return i;
    return kNoEntry;
  }

  // The look-ahead, in the order the data plane calls it some frames apart: the bucket, then
  // the entry it points to (with many entries a miss of its own), then the chain's second
  // entry when the first is another key's (which reads the first: load it first).
  void prefetch_bucket(uint32_t bucket) const { __builtin_prefetch(&buckets_[bucket]); }
  void prefetch_entry(const Entry* pool, uint32_t bucket) const {
    const uint32_t first = buckets_[bucket];
    if (first != kNoEntry) prefetch_lines(pool[first]);
  }
  void prefetch_chain(const Entry* pool, const Key& key, uint32_t bucket) const {
    const uint32_t first = buckets_[bucket];
    if (first == kNoEntry) return;
    const uint32_t second = Traits::next(pool[first]);
    if (second != kNoEntry && !(Traits::key_of(pool[first]) == key)) prefetch_lines(pool[second]);
  }

 private:
  std::vector<uint32_t, HugePageAllocator<uint32_t>> buckets_;
  uint64_t bucket_count_ = 0;
};

}  // namespace vsd
