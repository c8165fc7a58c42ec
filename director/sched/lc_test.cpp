// lc, as spec sections 5 and 6: the available destination with the least overhead
// (active << 8) + inactive, ties to the first in list order (newest first); weights other than
// 0 do not count.
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Lc, TieGoesToTheNewest) {
  TestService svc("lc");
  svc.add(1).add(2);  // rs2, rs1, both idle
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Lc, AlternatesWhateverTheWeights) {
  // List rs2 (w1), rs1 (w100). Overheads (rs2, rs1) before each pick: (0, 0) tie -> rs2;
  // (256, 0) -> rs1; (256, 256) tie -> rs2; (512, 256) -> rs1.
  TestService svc("lc");
  svc.add(1, 100).add(2, 1);
  EXPECT_EQ(svc.picks(4), (Picks{2, 1, 2, 1}));
}

TEST(Lc, OneActiveConnectionOutweighs255Inactive) {
  TestService svc("lc");
  svc.add(1).add(2);
  svc.dest(2).active = 1;      // 256
  svc.dest(1).inactive = 255;  // 255
  EXPECT_EQ(svc.pick(), 1);
}

TEST(Lc, OneActiveConnectionEquals256InactiveAndTheTieGoesFirst) {
  TestService svc("lc");
  svc.add(1).add(2);
  svc.dest(2).active = 1;      // 256
  svc.dest(1).inactive = 256;  // 256
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Lc, NeverPicksWeightZeroOrOverloaded) {
  TestService svc("lc");
  svc.add(1).add(2).add(3).set_weight(3, 0);
  svc.dest(2).overloaded = true;
  svc.dest(1).active = 50;  // idle rs3 and rs2 still lose
  EXPECT_EQ(svc.picks(3), (Picks{1, 1, 1}));
}

TEST(Lc, AllUnavailablePicksNothing) {
  TestService svc("lc");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

}  // namespace
}  // namespace vsd::sched_test
