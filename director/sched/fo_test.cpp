// fo, as spec section 6: the available destination with the highest weight, ties to the first
// in list order (newest first), however loaded it is.
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Fo, TheHeaviestTakesEveryConnection) {
  TestService svc("fo");
  svc.add(1, 3).add(2, 5).add(3, 1);  // rs3 (1), rs2 (5), rs1 (3)
  EXPECT_EQ(svc.picks(4), (Picks{2, 2, 2, 2}));
}

TEST(Fo, TieGoesToTheNewest) {
  TestService svc("fo");
  svc.add(1, 5).add(2, 5);
  EXPECT_EQ(svc.picks(2), (Picks{2, 2}));
}

TEST(Fo, FailsOverByWeightWhenOverloadedOrQuiesced) {
  TestService svc("fo");
  svc.add(1, 3).add(2, 5).add(3, 1);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 1);
  svc.set_weight(1, 0);
  EXPECT_EQ(svc.pick(), 3);
  svc.dest(2).overloaded = false;
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Fo, AllUnavailablePicksNothing) {
  TestService svc("fo");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
