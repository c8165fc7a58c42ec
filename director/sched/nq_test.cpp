// nq, as spec section 6: the first available destination with no active connection wins at
// once; when there is none, sed's rule (least (active + 1) / weight, ties to the first).
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Nq, TheFirstIdleServerWinsWhateverItsWeight) {
  TestService svc("nq");
  svc.add(1, 10).add(2, 1);  // rs2 (w1), rs1 (w10), idle; sed would take rs1
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Nq, AnIdleServerLaterInTheListBeatsABusyOne) {
  TestService svc("nq");
  svc.add(1, 1).add(2, 10);  // rs2 (w10), rs1 (w1)
  svc.dest(2).active = 1;    // sed would keep rs2: 2 * 1 > 1 * 10 is false
  EXPECT_EQ(svc.pick(), 1);
}

TEST(Nq, InactiveConnectionsDoNotMakeAServerBusy) {
  TestService svc("nq");
  svc.add(1).add(2);
  svc.dest(2).inactive = 50;
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Nq, WithNoIdleServerFallsBackToSed) {
  // List rs2 (w2), rs1 (w1), all active. Active counts (rs2, rs1) before each pick:
  //   (0, 0) rs2 idle -> rs2;  (1, 0) rs1 idle -> rs1;
  //   (1, 1) sed: 2 * 1 > 2 * 2 no -> rs2;  (2, 1) 3 > 4 no -> rs2;  (3, 1) 4 > 4 no -> rs2;
  //   (4, 1) 5 > 4 -> rs1;  (4, 2) 5 > 6 no -> rs2
  TestService svc("nq");
  svc.add(1, 1).add(2, 2);
  EXPECT_EQ(svc.picks(7), (Picks{2, 1, 2, 2, 2, 1, 2}));
}

TEST(Nq, NeverPicksAnIdleServerOfWeightZeroOrOverloaded) {
  TestService svc("nq");
  svc.add(1).add(2).add(3).set_weight(3, 0);  // rs3 (w0), rs2, rs1, all idle
  svc.dest(2).overloaded = true;
  svc.dest(1).active = 3;
  EXPECT_EQ(svc.picks(2), (Picks{1, 1}));
}

TEST(Nq, AllUnavailablePicksNothing) {
  TestService svc("nq");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
