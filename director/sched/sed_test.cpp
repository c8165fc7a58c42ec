// sed, as spec section 6: wlc's rule (first available is the candidate, replaced only on a
// strictly smaller overhead per weight) with the overhead active + 1.
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Sed, WeightsOneThenTwoAllActive) {
  // List rs2 (w2), rs1 (w1). Overheads (rs2, rs1) before each pick, test rs2 * 1 > rs1 * 2:
  //   (1, 1) 1 > 2 no -> rs2;  (2, 1) 2 > 2 no -> rs2;  (3, 1) 3 > 2 -> rs1;
  //   (3, 2) 3 > 4 no -> rs2;  (4, 2) 4 > 4 no -> rs2;  (5, 2) 5 > 4 -> rs1
  TestService svc("sed");
  svc.add(1, 1).add(2, 2);
  EXPECT_EQ(svc.picks(6), (Picks{2, 2, 1, 2, 2, 1}));
}

TEST(Sed, InactiveConnectionsDoNotCount) {
  TestService svc("sed");
  svc.add(1).add(2);
  svc.dest(2).inactive = 5;  // still 0 + 1, a tie with rs1: the first wins
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Sed, EqualExpectedDelayStaysWithTheFirst) {
  TestService svc("sed");
  svc.add(1, 2).add(2, 1);  // rs2 (w1), rs1 (w2)
  svc.dest(1).active = 1;   // rs2: 1 / 1, rs1: 2 / 2: 1 * 2 > 2 * 1 is false
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Sed, AnIdleHeavierServerBeatsAnIdleLighterOne) {
  TestService svc("sed");
  svc.add(1, 3).add(2, 1);  // rs2 (w1), rs1 (w3), idle: 1 * 3 > 1 * 1
  EXPECT_EQ(svc.pick(), 1);
}

TEST(Sed, NeverPicksWeightZeroOrOverloaded) {
  TestService svc("sed");
  svc.add(1).add(2).add(3).set_weight(3, 0);
  svc.dest(2).overloaded = true;
  svc.dest(1).active = 50;
  EXPECT_EQ(svc.picks(3), (Picks{1, 1, 1}));
}

TEST(Sed, AllUnavailablePicksNothing) {
  TestService svc("sed");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
