// ovf, as spec section 6: the highest-weight available destination with active <= weight, ties
// to the first in list order (newest first); a weight-w server takes w + 1 active connections.
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Ovf, FillsTheHeaviestThenOverflowsToTheNext) {
  // rs2 (w2), rs1 (w3): rs1 takes active 0..3, then rs2 takes 0..2, then nothing is left.
  TestService svc("ovf");
  svc.add(1, 3).add(2, 2);
  EXPECT_EQ(svc.picks(8), (Picks{1, 1, 1, 1, 2, 2, 2, 0}));
}

TEST(Ovf, TieGoesToTheNewest) {
  TestService svc("ovf");
  svc.add(1, 2).add(2, 2);
  EXPECT_EQ(svc.picks(7), (Picks{2, 2, 2, 1, 1, 1, 0}));
}

TEST(Ovf, InactiveConnectionsDoNotCount) {
  TestService svc("ovf");
  svc.add(1, 1);
  svc.dest(1).inactive = 100;
  EXPECT_EQ(svc.picks(3), (Picks{1, 1, 0}));
}

TEST(Ovf, NeverPicksWeightZeroOrOverloaded) {
  TestService svc("ovf");
  svc.add(1, 1).add(2, 5).add(3, 0);  // rs3 (w0, idle: 0 <= 0 but quiesced), rs2, rs1
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.picks(3), (Picks{1, 1, 0}));
}

TEST(Ovf, AllUnavailablePicksNothing) {
  TestService svc("ovf");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
