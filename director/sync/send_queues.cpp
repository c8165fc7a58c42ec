// The master threads' queues (send_queues.h).
#include "sync/send_queues.h"

namespace vsd::sync {

namespace {

constexpr auto kFlushTime = std::chrono::seconds(2);  // IPVS_SYNC_FLUSH_TIME

// FNV-1a: spreads consecutive client ports over the threads as well as distinct addresses.
struct Hash {
  uint64_t h = 14695981039346656037ull;
  void add(const void* data, std::size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  template <typename T>
  void add(const T& v) {
    add(&v, sizeof v);
  }
};

}  // namespace

unsigned master_thread_of(const SyncConn& conn, unsigned threads) {
  Hash h;
  h.add(conn.ipv6);
  h.add(conn.protocol);
  h.add(conn.flags & conn_flag::kTemplate);
  h.add(conn.cport);
  h.add(conn.vport);
  h.add(conn.dport);
  h.add(conn.fwmark);
  for (const Address* a : {&conn.caddr, &conn.vaddr, &conn.daddr}) h.add(a->bytes);
  return unsigned(h.h ^ (h.h >> 32)) & (threads - 1);
}

SendQueues::SendQueues(unsigned threads, uint8_t syncid, std::size_t maxlen, uint8_t version)
    : syncid_(syncid), maxlen_(maxlen), version_(version) {
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.push_back(Thread{MessageBuilder(syncid, maxlen, version), {}, {}, {}});
}

void SendQueues::enqueue(Thread& t) {
  if (t.queue.size() < limit_) {
    const auto bytes = t.message.bytes();
    t.queue.emplace_back(bytes.begin(), bytes.end());
    t.entries.push_back(t.message.count());
  } else {
    ++messages_dropped_;
    entries_dropped_ += t.message.count();
  }
  t.message.clear();
}

void SendQueues::add(const SyncConn& conn, Clock::time_point now) {
  Thread& t = threads_[master_thread_of(conn, threads())];
  if (t.message.empty()) t.first_use = now;
  if (!t.message.add(conn)) {
    enqueue(t);
    t.first_use = now;
    t.message.add(conn);
  }
  if (t.message.full()) enqueue(t);
}

void SendQueues::set_version(uint8_t version) {
  if (version == version_) return;
  for (auto& t : threads_) {
    if (!t.message.empty()) enqueue(t);
    t.message = MessageBuilder(syncid_, maxlen_, version);
  }
  version_ = version;
}

void SendQueues::flush_aged(Clock::time_point now) {
  for (auto& t : threads_)
    if (!t.message.empty() && now - t.first_use >= kFlushTime) enqueue(t);
}

}  // namespace vsd::sync
