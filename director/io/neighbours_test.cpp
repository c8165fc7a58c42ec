// The ARP cache: frames wait for a reply, requests are retried, unanswered frames are dropped.
#include "io/neighbours.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

const Ipv4 kRs1 = *Ipv4::parse("192.168.10.11");
const Mac kRs1Mac = *Mac::parse("02:76:73:04:01:00");

TEST(Neighbours, AFrameToAnUnknownHopWaitsForTheReply) {
  NeighbourTable t;
  std::vector<NeighbourTable::Request> requests;
  std::vector<uint8_t> frame{1, 2, 3};
  t.park(1, kRs1, frame, 0, requests);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, kRs1);
  EXPECT_EQ(requests[0].port, 1);
  EXPECT_FALSE(t.lookup(1, kRs1));

  std::vector<NeighbourTable::Parked> released;
  t.learn(1, kRs1, kRs1Mac, 5, released, NeighbourTable::Heard::Reply);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].frame, frame);
  ASSERT_NE(t.lookup(1, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(1, kRs1), kRs1Mac);
}

TEST(Neighbours, SecondFrameDoesNotAskAgainWithinASecond) {
  NeighbourTable t;
  std::vector<NeighbourTable::Request> requests;
  t.park(1, kRs1, std::vector<uint8_t>{1}, 0, requests);
  t.park(1, kRs1, std::vector<uint8_t>{2}, 10, requests);
  EXPECT_EQ(requests.size(), 1u);
}

TEST(Neighbours, KeepsTheNewestFramesWithinTheKernelsByteBudget) {
  // 212992 bytes (unres_qlen_bytes): 140 frames of 1514 bytes fit, 141 do not.
  NeighbourTable t;
  std::vector<NeighbourTable::Request> requests;
  for (int i = 0; i < 141; ++i)
    t.park(1, kRs1, std::vector<uint8_t>(1514, uint8_t(i)), 0, requests);
  std::vector<NeighbourTable::Parked> released;
  t.learn(1, kRs1, kRs1Mac, 1, released, NeighbourTable::Heard::Reply);
  ASSERT_EQ(released.size(), 140u);
  EXPECT_EQ(released[0].frame[0], 1);  // the first one made room
  EXPECT_EQ(t.counters().dropped_unresolved, 1u);
}

TEST(Neighbours, RetriesThreeTimesThenDropsWhatWaited) {
  NeighbourTable t;
  std::vector<NeighbourTable::Request> requests;
  t.park(1, kRs1, std::vector<uint8_t>{1}, 0, requests);
  t.tick(999, requests);
  EXPECT_EQ(requests.size(), 1u);
  t.tick(1000, requests);
  t.tick(2000, requests);
  EXPECT_EQ(requests.size(), 3u);
  t.tick(3000, requests);
  EXPECT_EQ(requests.size(), 3u);
  EXPECT_EQ(t.counters().dropped_unresolved, 1u);
}

TEST(Neighbours, WantAsksOnceForAnUnknownHop) {
  NeighbourTable t;
  std::vector<NeighbourTable::Request> requests;
  t.want(2, kRs1, 0, requests);
  t.want(2, kRs1, 1, requests);
  EXPECT_EQ(requests.size(), 1u);
  std::vector<NeighbourTable::Parked> released;
  t.learn(2, kRs1, kRs1Mac, 2, released, NeighbourTable::Heard::Reply);
  t.want(2, kRs1, 3, requests);
  EXPECT_EQ(requests.size(), 1u);
}

TEST(Neighbours, PortsAreSeparate) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  t.learn(1, kRs1, kRs1Mac, 0, released, NeighbourTable::Heard::RequestNamingUs);
  EXPECT_FALSE(t.lookup(2, kRs1));
}

// More hops than lookups are remembered, so remembered slots are reused: each answer must
// still be its own hop's, and a MAC learnt anew replaces the old one at once.
TEST(Neighbours, EveryHopGetsItsOwnMacWhenManyAreAskedFor) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  auto hop = [](uint32_t i) { return Ipv4::from_octets(10, 1, uint8_t(i >> 8), uint8_t(i)); };
  auto mac_of = [](int port, uint32_t i, uint8_t generation) {
    return Mac{{0x02, generation, uint8_t(port), uint8_t(i >> 8), uint8_t(i), 0x01}};
  };
  constexpr uint32_t kHops = 300;
  for (int port = 0; port < 2; ++port)
    for (uint32_t i = 0; i < kHops; ++i)
      t.learn(port, hop(i), mac_of(port, i, 0), 0, released,
              NeighbourTable::Heard::RequestNamingUs);
  for (int round = 0; round < 2; ++round)
    for (uint32_t i = 0; i < kHops; ++i)
      for (int port = 0; port < 2; ++port) {
        const Mac* mac = t.lookup(port, hop(i));
        ASSERT_NE(mac, nullptr) << "port " << port << " hop " << i;
        EXPECT_EQ(*mac, mac_of(port, i, 0)) << "port " << port << " hop " << i;
      }
  t.learn(1, hop(7), mac_of(1, 7, 1), 10, released, NeighbourTable::Heard::Reply);
  ASSERT_NE(t.lookup(1, hop(7)), nullptr);
  EXPECT_EQ(*t.lookup(1, hop(7)), mac_of(1, 7, 1));
  EXPECT_EQ(*t.lookup(0, hop(7)), mac_of(0, 7, 0));
  EXPECT_FALSE(t.lookup(1, hop(kHops)));
}

// As the kernel with arp_accept=0: a reply about a neighbour nobody asked for makes no entry
// (200k spoofed replies once grew the table by 45 MB for good); the ones asked for still learn.
TEST(Neighbours, AnUnsolicitedReplyMakesNoEntry) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  for (uint32_t i = 0; i < 200000; ++i)
    t.learn(1, Ipv4::from_host(0x0a000000 + i), kRs1Mac, 0, released, NeighbourTable::Heard::Reply);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.counters().unsolicited, 200000u);
  std::vector<NeighbourTable::Request> requests;
  t.want(1, kRs1, 0, requests);
  t.learn(1, kRs1, kRs1Mac, 1, released, NeighbourTable::Heard::Reply);
  ASSERT_NE(t.lookup(1, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(1, kRs1), kRs1Mac);
}

// Requests that name us come from anyone: they fill the table only up to its bound, and a
// neighbour vsd needs past it takes the place of one it never used (they once locked it out).
TEST(Neighbours, TheTableStopsAtItsBoundAndANeededNeighbourStillGetsIn) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  const uint32_t spoofed = NeighbourTable::kMaxEntries + 1000;
  for (uint32_t i = 0; i < spoofed; ++i)
    t.learn(1, Ipv4::from_host(0x0a000000 + i), kRs1Mac, 0, released,
            NeighbourTable::Heard::RequestNamingUs);
  EXPECT_EQ(t.size(), NeighbourTable::kMaxEntries);
  EXPECT_EQ(t.counters().table_full, 1000u);
  std::vector<NeighbourTable::Request> requests;
  t.park(1, kRs1, std::vector<uint8_t>{1}, 0, requests);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(t.size(), NeighbourTable::kMaxEntries);
  EXPECT_EQ(t.counters().evicted, 1u);
  t.learn(1, kRs1, kRs1Mac, 1, released, NeighbourTable::Heard::Reply);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_NE(t.lookup(1, kRs1), nullptr);
}

// What a request naming us taught and vsd never used is forgotten after a minute; what vsd
// sent to stays (and is refreshed).
TEST(Neighbours, AnUnusedNeighbourIsForgottenAUsedOneKept) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  std::vector<NeighbourTable::Request> requests;
  const Ipv4 kRouter = Ipv4::from_octets(10, 0, 0, 254);
  t.learn(1, kRs1, kRs1Mac, 0, released, NeighbourTable::Heard::RequestNamingUs);
  t.learn(1, kRouter, kRs1Mac, 0, released, NeighbourTable::Heard::RequestNamingUs);
  ASSERT_NE(t.lookup(1, kRouter), nullptr);  // forwarded through
  t.tick(NeighbourTable::kPassiveLifetimeMs - 1, requests);
  EXPECT_EQ(t.size(), 2u);
  t.tick(NeighbourTable::kPassiveLifetimeMs, requests);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(1, kRs1), nullptr);
  EXPECT_NE(t.lookup(1, kRouter), nullptr);
  EXPECT_EQ(t.counters().forgotten, 1u);
}

// Timers are looked at only when one is due: a loop that calls tick() every time round costs
// a compare, however many neighbours there are (the table was once scanned on every loop).
TEST(Neighbours, TickLooksAtTheEntriesOnlyWhenATimerIsDue) {
  NeighbourTable t;
  std::vector<NeighbourTable::Parked> released;
  std::vector<NeighbourTable::Request> requests;
  for (uint32_t i = 0; i < 10000; ++i)
    t.learn(1, Ipv4::from_host(0x0a000000 + i), kRs1Mac, i / 100, released,
            NeighbourTable::Heard::RequestNamingUs);
  // A million loops over two minutes of a busy data plane.
  for (uint64_t loop = 0; loop < 1'000'000; ++loop) t.tick(loop * 120'000 / 1'000'000, requests);
  std::printf("1,000,000 ticks over 120 s with 10,000 neighbours: %llu passes over the table\n",
              (unsigned long long)t.counters().timer_passes);
  EXPECT_LE(t.counters().timer_passes, 1200u);  // at most one per 100 ms step of the grid
  EXPECT_EQ(t.size(), 0u);                      // none used: all forgotten
}

}  // namespace
}  // namespace vsd
