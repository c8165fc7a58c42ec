// wlc, as spec section 6: the first available destination is the candidate C; a later one D
// replaces it when overhead(C) * weight(D) > overhead(D) * weight(C), strictly, with overhead
// (active << 8) + inactive.
#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Wlc, SpecExampleWeightsOneThenTwoAllActive) {
  // List rs2 (w2), rs1 (w1). Overheads (rs2, rs1) before each pick, then the test
  // 256*rs2_active... written as rs2_overhead * 1 > rs1_overhead * 2:
  //   (0, 0)       0 > 0 no      -> rs2
  //   (256, 0)     256 > 0       -> rs1
  //   (256, 256)   256 > 512 no  -> rs2
  //   (512, 256)   512 > 512 no  -> rs2
  //   (768, 256)   768 > 512     -> rs1
  //   (768, 512)   768 > 1024 no -> rs2
  //   (1024, 512)  1024 > 1024 no -> rs2
  //   (1280, 512)  1280 > 1024   -> rs1
  TestService svc("wlc");
  svc.add(1, 1).add(2, 2);
  EXPECT_EQ(svc.picks(8), (Picks{2, 1, 2, 2, 1, 2, 2, 1}));
}

TEST(Wlc, EqualLoadPerWeightStaysWithTheFirst) {
  TestService svc("wlc");
  svc.add(1, 2).add(2, 1);  // rs2 (w1), rs1 (w2)
  svc.dest(2).active = 1;   // 256 / 1
  svc.dest(1).active = 2;   // 512 / 2: 256 * 2 > 512 * 1 is false
  EXPECT_EQ(svc.pick(), 2);
}

TEST(Wlc, InactiveConnectionsCount) {
  TestService svc("wlc");
  svc.add(1).add(2);
  svc.dest(2).inactive = 1;  // 1 * 1 > 0 * 1
  EXPECT_EQ(svc.pick(), 1);
}

TEST(Wlc, NeverPicksWeightZeroEvenWhenIdle) {
  TestService first_quiesced("wlc");
  first_quiesced.add(1).add(2, 0);  // rs2 (w0, idle), rs1 (busy)
  first_quiesced.dest(1).active = 10;
  EXPECT_EQ(first_quiesced.pick(), 1);

  TestService later_quiesced("wlc");
  later_quiesced.add(1, 0).add(2);  // rs2 (busy), rs1 (w0, idle)
  later_quiesced.dest(2).active = 10;
  EXPECT_EQ(later_quiesced.pick(), 2);
}

TEST(Wlc, NeverPicksOverloaded) {
  TestService svc("wlc");
  svc.add(1).add(2);
  svc.dest(2).overloaded = true;
  svc.dest(1).active = 5;
  EXPECT_EQ(svc.picks(2), (Picks{1, 1}));
}

TEST(Wlc, AllUnavailablePicksNothing) {
  TestService svc("wlc");
  EXPECT_EQ(svc.pick(), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(), 0);
}

TEST(Wlc, LargeWeightsAndCountsCompareWithoutWrapping) {
  // rs2 overhead 65538, rs1 65537, both w65535: 65538 * 65535 > 65537 * 65535, so rs1. Both
  // products are past 2^32 (65537 * 65535 = 2^32 - 1), so 32-bit products would get it wrong.
  TestService svc("wlc");
  svc.add(1, 65535).add(2, 65535);
  svc.dest(2).active = 256;
  svc.dest(2).inactive = 2;
  svc.dest(1).active = 256;
  svc.dest(1).inactive = 1;
  EXPECT_EQ(svc.pick(), 1);
}

}  // namespace
}  // namespace vsd::sched_test
