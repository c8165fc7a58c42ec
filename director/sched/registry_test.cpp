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

// Picks the first available destination; registered for the decoration test alone, so that
// decorating it changes no scheduler another test makes.
class FirstAvailable final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest>) override {}
  int pick(std::span<const SchedDest> dests, const FlowKey&, uint64_t) override {
    for (std::size_t i = 0; i < dests.size(); ++i)
      if (dests[i].available()) return int(i);
    return -1;
  }
};
VSD_REGISTER_SCHEDULER("test-first-available", FirstAvailable);

// Stands in for a test fault: whatever the scheduler picks, the last destination is taken.
class TakesTheLast final : public Scheduler {
 public:
  explicit TakesTheLast(std::unique_ptr<Scheduler> inner) : inner_(std::move(inner)) {}
  void on_change(std::span<const SchedDest> dests) override { inner_->on_change(dests); }
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) override {
    return inner_->pick(dests, flow, now_ms) < 0 ? -1 : int(dests.size()) - 1;
  }

 private:
  std::unique_ptr<Scheduler> inner_;
};

TEST(SchedulerRegistry, ADecoratedSchedulerIsMadeWrapped) {
  TestService before("test-first-available");
  before.add(1).add(2);  // rs2, rs1
  EXPECT_EQ(before.picks(2), (Picks{2, 2}));

  ASSERT_TRUE(decorate_scheduler("test-first-available", [](std::unique_ptr<Scheduler> inner) {
    return std::make_unique<TakesTheLast>(std::move(inner));
  }));
  TestService after("test-first-available");
  after.add(1).add(2);
  EXPECT_EQ(after.picks(2), (Picks{1, 1}));
  EXPECT_EQ(before.picks(1), (Picks{2}));  // one made before keeps what it was
}

TEST(SchedulerRegistry, OnlyARegisteredNameCanBeDecorated) {
  EXPECT_FALSE(decorate_scheduler("nope", [](std::unique_ptr<Scheduler> inner) { return inner; }));
  EXPECT_EQ(make_scheduler("nope", SchedulerOptions{}), nullptr);
}

}  // namespace
}  // namespace vsd::sched_test
