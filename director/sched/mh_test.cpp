// mh, as ip_vs_mh.c. The population and the weights-to-turns rule are checked on small cases
// worked by hand; the kernel's hash is SipHash-1-3 (checked in siphash_test.cpp), so which
// server a client lands on cannot be worked by hand, and the scheduler's tests check what the
// algorithm promises instead: stable keys, shares in proportion to weight, little movement
// when a server goes, none when one is quiesced (its last weight keeps its entries).
#include "sched/maglev.h"

#include <array>
#include <map>
#include <vector>

#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

TEST(MhTurns, WeightsDividedByTheirGcd) {
  const std::array<uint32_t, 3> weights{3, 6, 9};  // gcd 3
  EXPECT_EQ(maglev_turns(weights), (std::vector<int>{1, 2, 3}));
  const std::array<uint32_t, 2> with_zero{0, 4};  // gcd 4; weight 0 takes no turns
  EXPECT_EQ(maglev_turns(with_zero), (std::vector<int>{0, 1}));
  const std::array<uint32_t, 2> halves{128, 64};  // gcd 64
  EXPECT_EQ(maglev_turns(halves), (std::vector<int>{2, 1}));
}

TEST(MhTurns, LargeWeightsShiftedToSixBitsAndNoneBelowOne) {
  // gcd 1; 100 is 7 bits wide, one more than 12 / 2: shift 1 -> 50; 1 >> 1 = 0 -> 1.
  const std::array<uint32_t, 2> hundred{100, 1};
  EXPECT_EQ(maglev_turns(hundred), (std::vector<int>{50, 1}));
  // 200 is 8 bits wide: shift 2 -> 50; 3 >> 2 = 0 -> 1.
  const std::array<uint32_t, 2> two_hundred{200, 3};
  EXPECT_EQ(maglev_turns(two_hundred), (std::vector<int>{50, 1}));
  // 64 is exactly 7 bits wide, 63 six: 63 stays, 64 -> 32 with 1 -> 1.
  const std::array<uint32_t, 2> sixty_three{63, 1};
  EXPECT_EQ(maglev_turns(sixty_three), (std::vector<int>{63, 1}));
  const std::array<uint32_t, 2> sixty_four{64, 1};
  EXPECT_EQ(maglev_turns(sixty_four), (std::vector<int>{32, 1}));
}

TEST(MhTurns, NoPositiveWeightNoTurns) {
  const std::array<uint32_t, 2> zeros{0, 0};
  EXPECT_EQ(maglev_turns(zeros), (std::vector<int>{0, 0}));
}

// A 7-entry table. A: offset 3, skip 2 -> prefers 3 5 0 2 4 6 1; B: offset 0, skip 3 ->
// prefers 0 3 6 2 5 1 4.
constexpr MaglevPreference kA{3, 2, 1};
constexpr MaglevPreference kB{0, 3, 1};

TEST(MhPopulate, TakesTurnsAlongEachPermutation) {
  // Round 1: A 3, B 0. Round 2: A 5 (3 taken), B 6 (0, 3 taken). Round 3: A 2 (5, 0 taken),
  // B 1 (6, 2, 5 taken). Round 4: A 4 (2 taken): all 7 filled.
  const std::array<MaglevPreference, 2> prefs{kA, kB};
  std::array<int, 7> table{};
  maglev_populate(prefs, table);
  EXPECT_EQ(table, (std::array<int, 7>{1, 1, 0, 0, 0, 0, 1}));
}

TEST(MhPopulate, TurnsAreEntriesPerRound) {
  // A with 2 turns. Round 1: A 3, A 5, B 0. Round 2: A 2 (5, 0 taken), A 4 (2 taken), B 6
  // (0, 3 taken). Round 3: A 1 (4, 6 taken): all filled.
  MaglevPreference a = kA;
  a.turns = 2;
  const std::array<MaglevPreference, 2> prefs{a, kB};
  std::array<int, 7> table{};
  maglev_populate(prefs, table);
  EXPECT_EQ(table, (std::array<int, 7>{1, 0, 0, 0, 0, 0, 1}));
}

TEST(MhPopulate, DestinationsWithoutTurnsAreSkipped) {
  const std::array<MaglevPreference, 3> prefs{kA, MaglevPreference{5, 1, 0}, kB};
  std::array<int, 7> table{};
  maglev_populate(prefs, table);
  EXPECT_EQ(table, (std::array<int, 7>{2, 2, 0, 0, 0, 0, 2}));
}

TEST(MhPopulate, NobodyWithTurnsLeavesTheTableEmpty) {
  const std::array<MaglevPreference, 1> prefs{MaglevPreference{1, 1, 0}};
  std::array<int, 7> table{};
  table.fill(0);
  maglev_populate(prefs, table);
  EXPECT_EQ(table, (std::array<int, 7>{-1, -1, -1, -1, -1, -1, -1}));
}

TEST(MhTable, HasTheDefaultConfigSize) {
  // CONFIG_IP_VS_MH_TAB_INDEX defaults to 12 (Kconfig): primes[12 - 8] = 4093.
  EXPECT_EQ(kMaglevTableSize, 4093u);
}

Ipv4 client(int i) {
  return Ipv4::from_host(0x0a010000u + uint32_t(i));  // 10.1.x.y
}

// Which server (by number) each of the first count clients lands on, without load.
std::vector<int> landing(FlowService& svc, int count) {
  std::vector<int> servers;
  for (int i = 0; i < count; ++i) servers.push_back(svc.peek(tcp_from(client(i))));
  return servers;
}

TEST(Mh, AClientStaysOnOneServerHoweverLoaded) {
  FlowService svc("mh");
  svc.add(1).add(2).add(3);
  const int first = svc.pick(tcp_from(client(42), 1000));
  ASSERT_NE(first, 0);
  for (uint16_t port = 1001; port < 1050; ++port)
    EXPECT_EQ(svc.pick(tcp_from(client(42), port)), first);
}

TEST(Mh, SharesFollowWeights) {
  // 4093 entries dealt 1 : 3 (turns 1 and 3 a round): about a quarter and three quarters.
  FlowService svc("mh");
  svc.add(1, 1).add(2, 3);
  std::map<int, int> count;
  const int clients = 20000;
  for (int server : landing(svc, clients)) count[server]++;
  EXPECT_NEAR(count[1], clients / 4, clients * 0.04);
  EXPECT_NEAR(count[2], clients * 3 / 4, clients * 0.04);
}

TEST(Mh, RemovingOneOfFiveMovesLittleBeyondItsOwnKeys) {
  FlowService svc("mh");
  for (int n = 1; n <= 5; ++n) svc.add(n);
  const int clients = 20000;
  const std::vector<int> before = landing(svc, clients);
  svc.remove(3);
  const std::vector<int> after = landing(svc, clients);
  int moved = 0, on_others = 0, kept = 0;
  for (int i = 0; i < clients; ++i) {
    EXPECT_NE(after[i], 3);
    EXPECT_NE(after[i], 0);
    if (before[i] != after[i]) ++moved;
    if (before[i] != 3) {
      ++on_others;
      if (before[i] == after[i]) ++kept;
    }
  }
  // About 1/5 of the keys were on rs3 and must move; Maglev moves few others (NSDI 2016, 5.3).
  EXPECT_LE(moved, clients * (0.2 + 0.05));
  EXPECT_GE(kept, on_others * 0.95);
}

TEST(Mh, QuiescingAServerKeepsTheTable) {
  // Weight 0 on an edit keeps the last weight (ip_vs_ctl.c), so every entry stays where it was:
  // rs2's keys get nothing, every other key the same server as before.
  FlowService svc("mh");
  svc.add(1).add(2).add(3);
  const int clients = 3000;
  const std::vector<int> before = landing(svc, clients);
  svc.set_weight(2, 0);
  const std::vector<int> after = landing(svc, clients);
  for (int i = 0; i < clients; ++i) EXPECT_EQ(after[i], before[i] == 2 ? 0 : before[i]) << i;
}

TEST(Mh, FallbackSendsKeysOfAnUnavailableServerElsewhereOnly) {
  FlowService svc("mh", {"mh-fallback"});
  svc.add(1).add(2).add(3);
  const int clients = 3000;
  const std::vector<int> before = landing(svc, clients);
  svc.dest(2).overloaded = true;
  const std::vector<int> after = landing(svc, clients);
  int moved = 0;
  for (int i = 0; i < clients; ++i) {
    if (before[i] == 2) {
      EXPECT_TRUE(after[i] == 1 || after[i] == 3) << i;
      ++moved;
    } else {
      EXPECT_EQ(after[i], before[i]) << i;
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(Mh, AnUnavailableServerGivesNothingWithoutFallback) {
  FlowService svc("mh");
  svc.add(1).add(2);
  svc.dest(1).overloaded = true;
  svc.dest(2).overloaded = true;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(svc.peek(tcp_from(client(i))), 0);
  svc.dest(2).overloaded = false;
  int on_two = 0;
  for (int server : landing(svc, 200)) {
    EXPECT_TRUE(server == 0 || server == 2);
    on_two += server == 2;
  }
  EXPECT_GT(on_two, 0);
  EXPECT_LT(on_two, 200);  // rs1's keys stay with the overloaded rs1
}

TEST(Mh, AServerAddedWithWeightZeroTakesNoEntries) {
  FlowService svc("mh", {"mh-fallback"});
  svc.add(1).add(2);
  const std::vector<int> before = landing(svc, 3000);
  svc.add(3, 0);
  EXPECT_EQ(landing(svc, 3000), before);
}

TEST(Mh, PortCountsOnlyWithMhPort) {
  FlowService without("mh");
  without.add(1).add(2).add(3);
  std::map<int, int> seen;
  const int first = without.peek(tcp_from(client(7), 1000));
  for (uint16_t port = 1000; port < 1200; ++port)
    EXPECT_EQ(without.peek(tcp_from(client(7), port)), first);

  FlowService with_port("mh", {"mh-port"});
  with_port.add(1).add(2).add(3);
  for (uint16_t port = 1000; port < 1200; ++port) seen[with_port.peek(tcp_from(client(7), port))]++;
  EXPECT_EQ(seen.size(), 3u);  // 200 ports spread over all three servers
  FlowKey icmp = tcp_from(client(7), 1000);
  icmp.proto = Proto::Icmp;
  const int icmp_server = with_port.peek(icmp);
  icmp.client.port = 1001;
  EXPECT_EQ(with_port.peek(icmp), icmp_server);  // no ports for ICMP
}

TEST(Mh, NoPositiveWeightOrNoServerPicksNothing) {
  FlowService svc("mh", {"mh-fallback"});
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 0);
  svc.add(1, 0).add(2, 0);  // added at weight 0: last weight 0, gcd 0, an empty table
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 0);
}

}  // namespace
}  // namespace vsd::sched_test
