// The IPv6 neighbour cache: frames wait for an advertisement, solicitations are retried, an
// unanswered neighbour's frames are dropped, and nobody's advertisement makes no entry. The
// answers kept in front of the map follow a MAC that changes and an entry that goes.
#include "io/neighbours6.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

const Ip6 kRs1{0xfd, 0, 0x01, 0x68, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
const Ip6 kOther{0xfd, 0, 0x01, 0x68, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99};
const Mac kRs1Mac = *Mac::parse("02:76:73:04:01:00");

TEST(Neighbours6, AFrameWaitsForTheAdvertisement) {
  Neighbour6Table t;
  std::vector<Neighbour6Table::Solicit> solicits;
  const std::vector<uint8_t> frame{1, 2, 3};
  t.park(1, kRs1, frame, 0, solicits);
  t.park(1, kRs1, frame, 10, solicits);  // one solicitation out is enough
  ASSERT_EQ(solicits.size(), 1u);
  EXPECT_EQ(solicits[0].target, kRs1);
  EXPECT_EQ(t.lookup(1, kRs1), nullptr);
  std::vector<Neighbour6Table::Parked> released;
  t.learn(1, kRs1, kRs1Mac, 20, released);
  ASSERT_EQ(released.size(), 2u);
  EXPECT_EQ(released[0].frame, frame);
  ASSERT_NE(t.lookup(1, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(1, kRs1), kRs1Mac);
  EXPECT_EQ(t.lookup(2, kRs1), nullptr);  // per port
}

TEST(Neighbours6, AnUnaskedAdvertisementTeachesNothing) {
  Neighbour6Table t;
  std::vector<Neighbour6Table::Parked> released;
  t.learn(1, kOther, kRs1Mac, 0, released);
  EXPECT_EQ(t.lookup(1, kOther), nullptr);
  EXPECT_EQ(t.counters().unsolicited, 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(Neighbours6, ThreeUnansweredSolicitationsDropTheFrames) {
  Neighbour6Table t;
  std::vector<Neighbour6Table::Solicit> solicits;
  t.park(0, kRs1, std::vector<uint8_t>{9}, 0, solicits);
  for (uint64_t now = 100; now <= 4000; now += 100) t.tick(now, solicits);
  EXPECT_EQ(solicits.size(), std::size_t(Neighbour6Table::kMaxSolicits));
  EXPECT_EQ(t.counters().dropped_unresolved, 1u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(Neighbours6, AKnownNeighbourIsAskedAgainAfterTheRefreshTime) {
  Neighbour6Table t;
  std::vector<Neighbour6Table::Solicit> solicits;
  t.want(0, kRs1, 0, solicits);
  std::vector<Neighbour6Table::Parked> released;
  t.learn(0, kRs1, kRs1Mac, 5, released);
  solicits.clear();
  t.tick(5 + Neighbour6Table::kRefreshMs - 1, solicits);
  EXPECT_TRUE(solicits.empty());
  t.tick(5 + Neighbour6Table::kRefreshMs, solicits);
  EXPECT_EQ(solicits.size(), 1u);
  EXPECT_NE(t.lookup(0, kRs1), nullptr);  // still used while the answer is awaited
}

// Learns `mac` for (port, addr), asking for it first as vsd would.
void resolve(Neighbour6Table& t, int port, const Ip6& addr, const Mac& mac, uint64_t now_ms) {
  std::vector<Neighbour6Table::Solicit> solicits;
  std::vector<Neighbour6Table::Parked> released;
  t.want(port, addr, now_ms, solicits);
  t.learn(port, addr, mac, now_ms, released);
}

TEST(Neighbours6, ALookupFollowsAMacThatChanges) {
  Neighbour6Table t;
  resolve(t, 1, kRs1, kRs1Mac, 0);
  ASSERT_NE(t.lookup(1, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(1, kRs1), kRs1Mac);  // now kept in front of the map
  const Mac moved = *Mac::parse("02:76:73:04:01:99");
  std::vector<Neighbour6Table::Parked> released;
  t.learn(1, kRs1, moved, 10, released);
  ASSERT_NE(t.lookup(1, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(1, kRs1), moved);
}

TEST(Neighbours6, ALookupOfAForgottenNeighbourFindsNothing) {
  Neighbour6Table t;
  resolve(t, 0, kRs1, kRs1Mac, 0);
  ASSERT_NE(t.lookup(0, kRs1), nullptr);
  // The refresh goes unanswered three times: the entry and its MAC go.
  std::vector<Neighbour6Table::Solicit> solicits;
  for (uint64_t now = 100; now <= Neighbour6Table::kRefreshMs + 4000; now += 100)
    t.tick(now, solicits);
  ASSERT_EQ(t.size(), 0u);
  EXPECT_EQ(t.lookup(0, kRs1), nullptr);
  // Asked for again, it is a new entry: the lookup reads that one.
  const Mac again = *Mac::parse("02:76:73:04:01:42");
  resolve(t, 0, kRs1, again, 50000);
  ASSERT_NE(t.lookup(0, kRs1), nullptr);
  EXPECT_EQ(*t.lookup(0, kRs1), again);
}

// More neighbours than the lookups kept in front of the map, on two ports: each lookup gets
// its own neighbour's MAC, however their keys share the slots.
TEST(Neighbours6, EveryNeighbourGetsItsOwnMac) {
  Neighbour6Table t;
  auto addr = [](int i) {
    Ip6 a = kRs1;
    a[14] = uint8_t(i >> 8), a[15] = uint8_t(i);
    return a;
  };
  auto mac = [](int port, int i) {
    return Mac{{0x02, uint8_t(port), 0, 0, uint8_t(i >> 8), uint8_t(i)}};
  };
  for (int port = 0; port < 2; ++port)
    for (int i = 0; i < 200; ++i) resolve(t, port, addr(i), mac(port, i), 0);
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 200; ++i)
      for (int port = 0; port < 2; ++port) {
        const Mac* found = t.lookup(port, addr(i));
        ASSERT_NE(found, nullptr) << i;
        EXPECT_EQ(*found, mac(port, i)) << i;
      }
  EXPECT_EQ(t.lookup(0, addr(999)), nullptr);
}

}  // namespace
}  // namespace vsd
