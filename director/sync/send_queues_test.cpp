#include "sync/send_queues.h"

#include <gtest/gtest.h>

#include <set>

namespace vsd::sync {
namespace {

SyncConn udp_conn(uint16_t cport, uint32_t client = 0x0a000001) {
  SyncConn c;
  c.protocol = 17;
  c.cport = cport;
  c.vport = 53;
  c.dport = 53;
  c.timeout_s = 300;
  c.caddr = Address::v4(Ipv4{client});
  c.vaddr = Address::v4(Ipv4{0x0a000064});
  c.daddr = Address::v4(Ipv4{0x0a0000c8});
  return c;
}

const SendQueues::Clock::time_point kStart{};

TEST(SyncThreads, SyncPortsIsClampedToTheKernelsRange) {
  EXPECT_EQ(sync_threads(1), 1u);
  EXPECT_EQ(sync_threads(2), 2u);
  EXPECT_EQ(sync_threads(64), 64u);
  EXPECT_EQ(sync_threads(128), 64u);  // IPVS_SYNC_PORTS_MAX
}

TEST(MasterThreadOf, OneThreadTakesEverything) {
  for (uint16_t port = 1000; port < 1100; ++port)
    EXPECT_EQ(master_thread_of(udp_conn(port), 1), 0u);
}

TEST(MasterThreadOf, StablePerConnectionAndSpreadOverEveryThread) {
  for (unsigned threads : {2u, 4u, 8u}) {
    std::vector<unsigned> per_thread(threads);
    for (uint16_t port = 1000; port < 1000 + 64 * threads; ++port) {
      const unsigned id = master_thread_of(udp_conn(port), threads);
      ASSERT_LT(id, threads);
      EXPECT_EQ(master_thread_of(udp_conn(port), threads), id);
      // What changes in a later message of the same connection does not move it.
      SyncConn later = udp_conn(port);
      later.state = 3;
      later.timeout_s = 120;
      EXPECT_EQ(master_thread_of(later, threads), id);
      ++per_thread[id];
    }
    // 64 connections a thread on average: each gets a fair share (a generous bound).
    for (unsigned id = 0; id < threads; ++id)
      EXPECT_GT(per_thread[id], 16u) << threads << " " << id;
  }
}

TEST(SendQueues, EachThreadFillsItsOwnMessage) {
  SendQueues q(2, 7, 1472);
  std::vector<std::size_t> expected(2);
  for (uint16_t port = 1000; port < 1040; ++port) {
    q.add(udp_conn(port), kStart);
    ++expected[master_thread_of(udp_conn(port), 2)];
  }
  EXPECT_TRUE(q.queue(0).empty());
  q.flush_aged(kStart + std::chrono::milliseconds(1999));
  EXPECT_TRUE(q.queue(0).empty());
  q.flush_aged(kStart + std::chrono::seconds(2));
  for (unsigned id = 0; id < 2; ++id) {
    ASSERT_EQ(q.queue(id).size(), 1u) << id;
    const auto decoded = decode_message(q.queue(id).front(), 7);
    ASSERT_EQ(decoded.verdict, MessageVerdict::Accepted);
    EXPECT_EQ(decoded.conns.size(), expected[id]);
    EXPECT_EQ(q.queue_entries(id).front(), expected[id]);
    for (const auto& c : decoded.conns) EXPECT_EQ(master_thread_of(c, 2), id);
  }
}

// Full messages of one thread: 36-byte IPv4 entries in a 100-byte message (8-byte header)
// make a message of two entries each.
TEST(SendQueues, QueueLimitCountsMessagesAndDropsTheRest) {
  SendQueues q(1, 0, 100);
  q.set_queue_limit(3);
  for (uint16_t port = 1; port <= 11; ++port) q.add(udp_conn(port), kStart);
  // The 3rd, 5th, 7th ... entry closed a message of two: messages 1-3 queued, 4 and 5 dropped,
  // the 11th entry is in the message being filled.
  EXPECT_EQ(q.queue(0).size(), 3u);
  EXPECT_EQ(q.messages_dropped(), 2u);
  EXPECT_EQ(q.entries_dropped(), 4u);
  for (std::size_t n : q.queue_entries(0)) EXPECT_EQ(n, 2u);
  // The sender took one: room for one more.
  q.queue(0).pop_front();
  q.queue_entries(0).pop_front();
  q.flush_aged(kStart + std::chrono::seconds(2));
  EXPECT_EQ(q.queue(0).size(), 3u);
  EXPECT_EQ(q.messages_dropped(), 2u);
  EXPECT_EQ(decode_message(q.queue(0).back(), 0).conns.size(), 1u);
}

TEST(SendQueues, LimitIsPerThread) {
  SendQueues q(2, 0, 100);
  q.set_queue_limit(1);
  for (uint16_t port = 1; port <= 200; ++port) q.add(udp_conn(port), kStart);
  EXPECT_EQ(q.queue(0).size(), 1u);
  EXPECT_EQ(q.queue(1).size(), 1u);
  // 200 entries, 2 a message: 100 messages (some maybe still being filled), 2 queued.
  EXPECT_GE(q.messages_dropped(), 96u);
}

TEST(SendQueues, LimitZeroDropsEverything) {
  SendQueues q(1, 0, 1472);
  q.set_queue_limit(0);
  q.add(udp_conn(1), kStart);
  q.flush_aged(kStart + std::chrono::seconds(3));
  EXPECT_TRUE(q.queue(0).empty());
  EXPECT_EQ(q.messages_dropped(), 1u);
  EXPECT_EQ(q.entries_dropped(), 1u);
}

TEST(SendQueues, VersionChangeQueuesWhatWasGathered) {
  SendQueues q(1, 0, 1472);
  q.add(udp_conn(1), kStart);
  q.set_version(0);
  ASSERT_EQ(q.queue(0).size(), 1u);
  EXPECT_EQ(q.queue(0).front()[0], 0);  // a version 1 message starts with a zero byte
  q.add(udp_conn(2), kStart);
  q.flush_aged(kStart + std::chrono::seconds(2));
  ASSERT_EQ(q.queue(0).size(), 2u);
  EXPECT_EQ(q.queue(0).back()[0], 1);  // version 0: nr_conns first
}

}  // namespace
}  // namespace vsd::sync
