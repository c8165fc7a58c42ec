// twos, as ip_vs_twos.c (spec section 6): T = 1 + the available weight; two draws r in
// [0, T); walking the list, each available weight is taken off r, and the destination that
// brings it to 0 or below is the draw's choice (so the first available destination also has
// r = 0: one chance in T more than its weight). Choice 1 stays unless weight2 * overhead1 >
// weight1 * overhead2. The walks below are worked by hand from those rules.
#include "sched/twos.h"

#include <map>
#include <random>
#include <vector>

#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

// List rs3 (w1), rs2 (w2), rs1 (w3), idle: T = 7; r 0 1 -> rs3, 2 3 -> rs2, 4 5 6 -> rs1.
std::vector<SchedDest> one_two_three() {
  std::vector<SchedDest> dests(3);
  for (int i = 0; i < 3; ++i) {
    dests[i].addr = rs(3 - i);
    dests[i].weight = uint32_t(i + 1);
  }
  return dests;
}

TEST(TwosWalk, EachDrawLandsWhereTheWeightRunsOut) {
  const auto dests = one_two_three();
  // Idle: overheads 0, so choice 1 always stays.
  EXPECT_EQ(twos_choose(dests, 0, 6), 0);   // 0 - 1 <= 0 at rs3
  EXPECT_EQ(twos_choose(dests, 1, 6), 0);   // 1 - 1 = 0 at rs3
  EXPECT_EQ(twos_choose(dests, 2, 0), 1);   // 2 - 1 = 1, 1 - 2 < 0 at rs2
  EXPECT_EQ(twos_choose(dests, 3, 0), 1);   // 3 - 1 = 2, 2 - 2 = 0 at rs2
  EXPECT_EQ(twos_choose(dests, 4, 0), 2);   // 3, 1, then rs1
  EXPECT_EQ(twos_choose(dests, 6, 0), 2);   // 5, 3, 0 at rs1
  EXPECT_EQ(twos_choose(dests, 7, 0), 0);   // 7 mod 7 = 0
  EXPECT_EQ(twos_choose(dests, 13, 0), 2);  // 13 mod 7 = 6
}

TEST(TwosWalk, TheSecondWinsOnlyWithLessOverheadPerWeight) {
  auto dests = one_two_three();
  dests[0].active = 1;  // rs3: 256 / 1
  // r1 0 -> rs3, r2 4 -> rs1 idle: 3 * 256 > 1 * 0 -> rs1.
  EXPECT_EQ(twos_choose(dests, 0, 4), 2);
  dests[2].active = 3;  // rs1: 768 / 3, as loaded per weight as rs3: 3 * 256 > 1 * 768 no
  EXPECT_EQ(twos_choose(dests, 0, 4), 0);
  dests[2].inactive = 1;  // 769 / 3 -> rs3 still; the other way round rs1 gives way to rs3
  EXPECT_EQ(twos_choose(dests, 0, 4), 0);
  EXPECT_EQ(twos_choose(dests, 4, 0), 0);
}

TEST(TwosWalk, UnavailableDestinationsAreNotOnTheWalk) {
  auto dests = one_two_three();
  dests[1].overloaded = true;  // T = 1 + 1 + 3 = 5: r 0 1 -> rs3, 2 3 4 -> rs1
  EXPECT_EQ(twos_choose(dests, 1, 1), 0);
  EXPECT_EQ(twos_choose(dests, 2, 2), 2);
  EXPECT_EQ(twos_choose(dests, 5, 5), 0);  // 5 mod 5 = 0
  dests[0].weight = 0;                     // T = 4: every r -> rs1
  EXPECT_EQ(twos_choose(dests, 0, 3), 2);
  dests[2].overloaded = true;
  EXPECT_EQ(twos_choose(dests, 0, 3), -1);
}

TEST(Twos, ASeededSchedulerDrawsTwoWordsPerPick) {
  // List rs2, rs1 (w1), idle: T = 3, r mod 3 in {0, 1} -> rs2, 2 -> rs1; the first draw decides.
  std::vector<SchedDest> dests(2);
  dests[0].addr = rs(2);
  dests[1].addr = rs(1);
  auto scheduler = make_seeded_twos(7);
  scheduler->on_change(dests);
  std::mt19937 replay(7);
  for (int i = 0; i < 100; ++i) {
    const uint32_t first = replay();
    replay();
    EXPECT_EQ(scheduler->pick(dests, FlowKey{}, 0), first % 3 < 2 ? 0 : 1) << i;
  }
}

TEST(Twos, IdleSharesFollowWeights) {
  // Idle servers (each connection closed at once): the first draw decides, so the shares are
  // rs3 2/7, rs2 2/7, rs1 3/7.
  const auto dests = one_two_three();
  auto scheduler = make_scheduler("twos", SchedulerOptions{});
  ASSERT_NE(scheduler, nullptr);
  scheduler->on_change(dests);
  std::map<int, int> count;
  const int draws = 70000;
  for (int i = 0; i < draws; ++i) count[scheduler->pick(dests, FlowKey{}, 0)]++;
  EXPECT_NEAR(count[0], 20000, 1500);
  EXPECT_NEAR(count[1], 20000, 1500);
  EXPECT_NEAR(count[2], 30000, 1500);
}

TEST(Twos, ALoadedServerGetsFewer) {
  // rs3, rs2, rs1 all w1, rs1 far more loaded: T = 4, rs1 is drawn with r = 3 only, and then
  // wins only if the other draw is rs1 too: 1/16 of picks, against its idle 1/4.
  std::vector<SchedDest> dests(3);
  for (int i = 0; i < 3; ++i) dests[i].addr = rs(3 - i);
  dests[2].active = 1000;
  auto scheduler = make_scheduler("twos", SchedulerOptions{});
  scheduler->on_change(dests);
  int loaded = 0;
  const int draws = 40000;
  for (int i = 0; i < draws; ++i) loaded += scheduler->pick(dests, FlowKey{}, 0) == 2;
  EXPECT_NEAR(loaded, draws / 16, draws / 50);
}

TEST(Twos, PicksStayInBalanceAsConnectionsStay) {
  // Every connection stays active: two choices keep the counts close (weights 1 each).
  TestService svc("twos");
  svc.add(1).add(2).add(3);
  std::map<int, int> count;
  for (int server : svc.picks(3000)) count[server]++;
  for (int n = 1; n <= 3; ++n) EXPECT_NEAR(count[n], 1000, 100) << "rs" << n;
}

TEST(Twos, NothingAvailablePicksNothing) {
  TestService svc("twos");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
