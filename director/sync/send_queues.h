// The master's messages between packing and sending, one queue per master thread as the kernel
// keeps them (ip_vs_sync.c struct ipvs_master_sync_state) under net.ipv4.vs.sync_ports and
// sync_qlen_max:
// - sync_ports N (a power of 2, read when the first daemon starts): N threads, each with its
//   own message being filled, its own queue and its own socket (port mcast_port + id). A
//   connection goes to thread select_master_thread_id: the kernel masks a hash of the
//   connection's address in memory, so any choice that is stable per connection is as good;
//   vsd hashes the connection's identity (protocol, client, virtual and real ends), which a
//   template and its connections differ in.
// - sync_qlen_max: a filled message is queued only while fewer than this many wait on its
//   thread (sb_queue_tail); otherwise it is dropped with its entries, and counted. The queue
//   drains as the socket takes its messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include "sync/message.h"

namespace vsd::sync {

// The most threads the kernel starts (IPVS_SYNC_PORTS_MAX), whatever sync_ports says.
inline constexpr unsigned kMaxSyncThreads = 64;

// The number of threads a daemon starts with for a sync_ports value.
inline unsigned sync_threads(int64_t sync_ports) {
  return unsigned(sync_ports < 1 ? 1 : sync_ports > kMaxSyncThreads ? kMaxSyncThreads : sync_ports);
}

// The thread, 0..threads-1 (threads a power of 2), of a connection.
unsigned master_thread_of(const SyncConn& conn, unsigned threads);

class SendQueues {
 public:
  using Clock = std::chrono::steady_clock;
  SendQueues(unsigned threads, uint8_t syncid, std::size_t maxlen,
             uint8_t version = kProtocolVersion);

  unsigned threads() const { return unsigned(threads_.size()); }
  // Into the message its thread fills; a message that is full goes to the queue (or is
  // dropped) at once.
  void add(const SyncConn& conn, Clock::time_point now);
  // sync_version changed: each message being filled is queued as it is, the next ones are
  // in the new format.
  void set_version(uint8_t version);
  uint8_t version() const { return version_; }
  // A message not full is queued 2 s after its first entry (IPVS_SYNC_FLUSH_TIME).
  void flush_aged(Clock::time_point now);
  // Takes effect for the next message queued.
  void set_queue_limit(uint64_t messages) { limit_ = messages; }

  // The messages waiting on a thread, oldest first: the sender pops what the socket took.
  std::deque<std::vector<uint8_t>>& queue(unsigned id) { return threads_[id].queue; }
  // Entries in each message queued, in the same order.
  std::deque<std::size_t>& queue_entries(unsigned id) { return threads_[id].entries; }

  uint64_t messages_dropped() const { return messages_dropped_; }
  uint64_t entries_dropped() const { return entries_dropped_; }

 private:
  struct Thread {
    MessageBuilder message;
    Clock::time_point first_use;
    std::deque<std::vector<uint8_t>> queue;
    std::deque<std::size_t> entries;
  };
  void enqueue(Thread& t);

  std::vector<Thread> threads_;
  uint8_t syncid_;
  std::size_t maxlen_;
  uint8_t version_;
  uint64_t limit_ = 1u << 16;
  uint64_t messages_dropped_ = 0, entries_dropped_ = 0;
};

}  // namespace vsd::sync
