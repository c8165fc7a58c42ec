// The rate estimator blends each 2-second rate into the average with weight 1/4, as the
// kernel's ip_vs_est.c does, so --rate climbs towards a steady rate instead of jumping.
#include <gtest/gtest.h>

#include "vsd/services.h"

namespace vsd {
namespace {

TEST(RateEstimator, BlendsEachIntervalWithWeightOneQuarter) {
  RateEstimator e;
  // 2000 connections and 4000 packets of 100 bytes in 2 s: 1000 cps, 2000 pps, 200000 Bps.
  e.estimate({2000, 4000, 0, 400000, 0}, 2000);
  // 0 + (1000 - 0) / 4 = 250; 0 + 2000 / 4 = 500; 0 + 200000 / 4 = 50000.
  EXPECT_EQ(e.rates(), (Counters{250, 500, 0, 50000, 0}));
  e.estimate({4000, 8000, 0, 800000, 0}, 2000);
  // 250 + (1000 - 250) / 4 = 437.5 -> 438; 500 + 1500 / 4 = 875; 50000 + 150000 / 4 = 87500.
  EXPECT_EQ(e.rates(), (Counters{438, 875, 0, 87500, 0}));
  e.estimate({4000, 8000, 0, 800000, 0}, 2000);
  // Idle: 437.5 - 437.5 / 4 = 328.125 -> 328.
  EXPECT_EQ(e.rates().conns, 328u);
}

}  // namespace
}  // namespace vsd
