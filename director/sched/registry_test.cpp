// Every scheduler registers itself by its ipvsadm name (-s); what all of them share: nothing
// is picked when nothing is available (spec section 6), and only available ones are picked.
#include <algorithm>
#include <string>

#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

class EveryScheduler : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryScheduler, IsMadeByItsName) {
  EXPECT_NE(make_scheduler(GetParam(), SchedulerOptions{}), nullptr);
  const auto names = scheduler_names();
  EXPECT_NE(std::find(names.begin(), names.end(), GetParam()), names.end());
}

TEST_P(EveryScheduler, PicksNothingFromAnEmptyService) {
  auto scheduler = make_scheduler(GetParam(), SchedulerOptions{});
  ASSERT_NE(scheduler, nullptr);
  scheduler->on_change({});
  EXPECT_EQ(scheduler->pick({}, FlowKey{}, 0), -1);
}

TEST_P(EveryScheduler, PicksNothingWhenEveryDestinationIsQuiescedOrOverloaded) {
  TestService svc(GetParam());
  svc.add(1, 0).add(2, 3).add(3, 0);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.picks(2), (Picks{0, 0}));
}

TEST_P(EveryScheduler, PicksTheOnlyAvailableDestination) {
  TestService svc(GetParam());
  svc.add(1, 0).add(2, 5).add(3, 1).add(4, 0);  // rs4 (w0), rs3, rs2, rs1 (w0)
  svc.dest(3).overloaded = true;
  EXPECT_EQ(svc.picks(3), (Picks{2, 2, 2}));  // ovf: rs2 takes up to 6 active
}

INSTANTIATE_TEST_SUITE_P(Sched, EveryScheduler,
                         ::testing::Values("rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf"),
                         [](const auto& info) { return info.param; });

TEST(SchedulerRegistry, UnknownNamesMakeNothing) {
  EXPECT_EQ(make_scheduler("nope", SchedulerOptions{}), nullptr);
  EXPECT_EQ(make_scheduler("", SchedulerOptions{}), nullptr);
  EXPECT_EQ(make_scheduler("RR", SchedulerOptions{}), nullptr);  // the kernel's names are exact
}

}  // namespace
}  // namespace vsd::sched_test
