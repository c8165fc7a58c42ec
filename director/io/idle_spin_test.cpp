// IdleSpin: it returns as soon as a frame is waiting, gives up once its budget has passed,
// and a budget of 0 never looks at all.
#include "io/idle_spin.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

TEST(IdleSpin, ReturnsAtTheFirstLookThatFindsAFrame) {
  const IdleSpin spin{std::chrono::seconds(60)};
  int looks = 0;
  EXPECT_TRUE(spin.wait([&] { return ++looks == 40; }));
  EXPECT_EQ(looks, 40);
}

TEST(IdleSpin, GivesUpWhenTheBudgetHasPassed) {
  const IdleSpin spin{std::chrono::microseconds(300)};
  int looks = 0;
  const auto start = IdleSpin::Clock::now();
  EXPECT_FALSE(spin.wait([&] {
    ++looks;
    return false;
  }));
  EXPECT_GE(IdleSpin::Clock::now() - start, std::chrono::microseconds(300));
  EXPECT_GT(looks, 1);
}

TEST(IdleSpin, ABudgetOfZeroNeverLooks) {
  const IdleSpin spin{std::chrono::microseconds(0)};
  int looks = 0;
  EXPECT_FALSE(spin.wait([&] { return ++looks > 0; }));
  EXPECT_EQ(looks, 0);
}

}  // namespace
}  // namespace vsd
