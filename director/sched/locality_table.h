// The records lblc and lblcr keep per packet destination address, and how the kernel forgets
// them: struct ip_vs_lblc_table / ip_vs_lblcr_table with the periodic timer of
// ip_vs_lblc_check_expire / ip_vs_lblcr_check_expire (the two files share every constant and
// every rule used here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "net/addr.h"

namespace vsd {

// The kernel's table, bucket by bucket, because its garbage collection works in bucket order
// from a rover and stops after the bucket that meets its goal: which records survive a
// collection depends on the buckets they hash to.
//
// Its timer is no timer here. The ticks that fell due since the last pick run first, each at
// its own time, when the next pick comes: between two picks only the ticks change the table,
// so every pick finds it exactly as the kernel's would be. A service that gets no connection
// keeps its forgotten records in memory until its next one.
template <class Value>
class LocalityTable {
 public:
  struct Entry {
    Ipv4 addr;            // the packet's destination address
    uint64_t lastuse_ms;  // the last pick that found or made the record
    Value value;
  };

  // CONFIG_IP_VS_LBLC_TAB_BITS and CONFIG_IP_VS_LBLCR_TAB_BITS, 10 unless configured.
  static constexpr uint32_t kBucketBits = 10;
  static constexpr uint32_t kBuckets = 1u << kBucketBits;
  // tbl->max_size: past it, the collection of records unused for kEntryTimeoutMs starts.
  static constexpr int64_t kMaxSize = int64_t{kBuckets} * 16;
  static constexpr uint64_t kCheckIntervalMs = 60'000;     // CHECK_EXPIRE_INTERVAL
  static constexpr uint64_t kEntryTimeoutMs = 6 * 60'000;  // ENTRY_TIMEOUT
  // COUNT_FOR_FULL_EXPIRATION: one tick in this many, counted only over ticks that find the
  // table within max_size, drops every record unused for lblc_expiration (lblcr_expiration).
  static constexpr uint32_t kTicksPerFullCheck = 30;

  // created_ms: init_service, which arms the timer one interval ahead.
  explicit LocalityTable(uint64_t created_ms)
      : buckets_(kBuckets), next_tick_ms_(created_ms + kCheckIntervalMs) {}

  // Runs the timer ticks due at or before now_ms. Call it before every lookup. expiration_ms:
  // lblc_expiration or lblcr_expiration as it is now (the kernel reads it at each full check).
  void run_timers(uint64_t now_ms, int64_t expiration_ms);

  // The record for addr, or nullptr. Valid until the next insert or run_timers.
  Entry* find(Ipv4 addr) {
    for (Entry& entry : buckets_[bucket_of(addr)])
      if (entry.addr == addr) return &entry;
    return nullptr;
  }
  // A new record for an address that has none (ip_vs_lblc_hash, ip_vs_lblcr_hash).
  void insert(Ipv4 addr, Value value, uint64_t now_ms) {
    buckets_[bucket_of(addr)].push_back(Entry{addr, now_ms, std::move(value)});
    ++counted_;
    ++size_;
  }
  // ip_vs_lblc_new replacing a record with one for another server: it unhooks the old one
  // without counting it out (ip_vs_lblc_del leaves tbl->entries alone) and counts the new one
  // in, so the kernel's count runs one ahead per replacement, for good. Enough replacements
  // make the table look full to the timer, which then collects records unused for 6 minutes
  // every minute and stops counting towards full checks. Where the new record sits in its
  // bucket does not matter: a collection takes or leaves a bucket whole.
  void replace(Entry& entry, Value value, uint64_t now_ms) {
    entry.value = std::move(value);
    entry.lastuse_ms = now_ms;
    ++counted_;
  }

  std::size_t size() const { return size_; }    // records held
  int64_t counted() const { return counted_; }  // what the kernel's tbl->entries says

  // ip_vs_lblc_hashkey / ip_vs_lblcr_hashkey: hash_32(address in host order, 10).
  static uint32_t bucket_of(Ipv4 addr) { return (addr.value * 0x61C88647u) >> (32 - kBucketBits); }

 private:
  // Drops the records of one bucket unused for idle_ms at tick_ms; returns how many.
  int64_t drop_unused(std::vector<Entry>& bucket, uint64_t tick_ms, int64_t idle_ms);
  // ip_vs_lblc_full_check: every bucket once, from the one after the rover round to the rover,
  // which is where it leaves the rover; a record unused for expiration_ms goes.
  void full_check(uint64_t tick_ms, int64_t expiration_ms);
  // The rest of ip_vs_lblc_check_expire, for a table beyond max_size: buckets from the one
  // after the rover lose their records unused for ENTRY_TIMEOUT until a third more records
  // than the excess (at most max_size / 2) are gone; the rover stays on the last bucket seen.
  // Returns how many went.
  int64_t collect(uint64_t tick_ms);

  std::vector<std::vector<Entry>> buckets_;
  int64_t counted_ = 0;    // tbl->entries
  std::size_t size_ = 0;   // records really held
  uint32_t rover_ = 0;     // tbl->rover
  uint32_t counter_ = 1;   // tbl->counter
  uint64_t next_tick_ms_;  // when the timer fires next
};

template <class Value>
int64_t LocalityTable<Value>::drop_unused(std::vector<Entry>& bucket, uint64_t tick_ms,
                                          int64_t idle_ms) {
  // time_before(now, lastuse + idle) keeps a record: it goes at lastuse + idle exactly.
  const auto gone = std::remove_if(bucket.begin(), bucket.end(), [&](const Entry& entry) {
    return static_cast<int64_t>(tick_ms) >= static_cast<int64_t>(entry.lastuse_ms) + idle_ms;
  });
  const auto dropped = static_cast<int64_t>(bucket.end() - gone);
  bucket.erase(gone, bucket.end());
  counted_ -= dropped;
  size_ -= static_cast<std::size_t>(dropped);
  return dropped;
}

template <class Value>
void LocalityTable<Value>::full_check(uint64_t tick_ms, int64_t expiration_ms) {
  for (auto& bucket : buckets_) drop_unused(bucket, tick_ms, expiration_ms);
}

template <class Value>
int64_t LocalityTable<Value>::collect(uint64_t tick_ms) {
  int64_t goal = std::min((counted_ - kMaxSize) * 4 / 3, kMaxSize / 2);
  int64_t dropped = 0;
  uint32_t at = rover_;
  for (uint32_t i = 0; i < kBuckets; ++i) {
    at = (at + 1) & (kBuckets - 1);
    const int64_t here = drop_unused(buckets_[at], tick_ms, int64_t{kEntryTimeoutMs});
    dropped += here;
    goal -= here;
    if (goal <= 0) break;
  }
  rover_ = at;
  return dropped;
}

template <class Value>
void LocalityTable<Value>::run_timers(uint64_t now_ms, int64_t expiration_ms) {
  while (next_tick_ms_ <= now_ms) {
    const uint64_t tick = next_tick_ms_;
    const uint64_t due = (now_ms - tick) / kCheckIntervalMs + 1;  // ticks up to now, this one too
    uint64_t ticks = 1;
    if (counter_ % kTicksPerFullCheck == 0) {
      full_check(tick, expiration_ms);
      counter_ = 1;
    } else if (counted_ <= kMaxSize) {
      // Ticks that only count: nothing else changes until the one that does the full check,
      // so they are taken together.
      ticks = std::min<uint64_t>(due, kTicksPerFullCheck - counter_ % kTicksPerFullCheck);
      counter_ += static_cast<uint32_t>(ticks);
    } else if (collect(tick) == 0) {
      // Nothing old enough: the table, the rover and the counter stay as they are until the
      // first tick at which the least recently used record is ENTRY_TIMEOUT old (no pick comes
      // in between, and a pick could only make records younger), so the ticks before it are
      // taken together.
      uint64_t oldest = UINT64_MAX;
      for (const auto& bucket : buckets_)
        for (const Entry& entry : bucket) oldest = std::min(oldest, entry.lastuse_ms);
      if (oldest == UINT64_MAX) {
        ticks = due;
      } else if (oldest + kEntryTimeoutMs > tick) {
        const uint64_t wait = oldest + kEntryTimeoutMs - tick;
        ticks = std::min(due, (wait + kCheckIntervalMs - 1) / kCheckIntervalMs);
      }
    }
    next_tick_ms_ += ticks * kCheckIntervalMs;
  }
}

}  // namespace vsd
