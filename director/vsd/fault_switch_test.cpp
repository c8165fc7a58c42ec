// vsd's test-fault switch: the names --test-fault takes, the wrr-off-by-one decorator against
// plain wrr, and what switching a fault on changes in the process. Expected sequences are
// worked out by hand from spec section 6, as in sched/wrr_test.cpp.
#include "vsd/fault_switch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "fwd/test_faults.h"
#include "sched/test_service.h"

namespace vsd {
namespace {

using sched_test::Picks;
using sched_test::TestService;

ctl::Result<std::vector<TestFault>> parse(std::vector<std::string> names) {
  return parse_test_faults(names);
}

TEST(ParseTestFaults, NoneNamedIsNoFault) {
  auto faults = parse({});
  ASSERT_TRUE(faults.ok());
  EXPECT_TRUE(faults.value().empty());
}

TEST(ParseTestFaults, TakesEveryKnownName) {
  auto faults = parse({"no-ttl-decrement", "wrr-off-by-one", "no-nat-reply-rewrite"});
  ASSERT_TRUE(faults.ok()) << faults.failure();
  EXPECT_EQ(faults.value(), (std::vector{TestFault::NoTtlDecrement, TestFault::WrrOffByOne,
                                         TestFault::NoNatReplyRewrite}));
}

// Twice would mean off by two for wrr: a repeat is the same fault once.
TEST(ParseTestFaults, ARepeatedNameCountsOnce) {
  auto faults = parse({"wrr-off-by-one", "no-ttl-decrement", "wrr-off-by-one"});
  ASSERT_TRUE(faults.ok()) << faults.failure();
  EXPECT_EQ(faults.value(), (std::vector{TestFault::WrrOffByOne, TestFault::NoTtlDecrement}));
}

TEST(ParseTestFaults, AnUnknownNameIsAUsageErrorThatListsTheKnownOnes) {
  auto faults = parse({"no-ttl-decrement", "wrr-off-by-two"});
  ASSERT_FALSE(faults.ok());
  EXPECT_EQ(faults.failure().exit_code, 2);
  EXPECT_EQ(faults.failure().message,
            "unknown test fault `wrr-off-by-two' (known: no-ttl-decrement, wrr-off-by-one, "
            "no-nat-reply-rewrite)");
}

TEST(ParseTestFaults, NamesAreExact) {
  EXPECT_FALSE(parse({"NO-TTL-DECREMENT"}).ok());
  EXPECT_FALSE(parse({""}).ok());
}

TEST(TestFaultNames, RoundTrip) {
  for (auto fault :
       {TestFault::NoTtlDecrement, TestFault::WrrOffByOne, TestFault::NoNatReplyRewrite}) {
    auto parsed = parse({std::string(name_of(fault))});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed.value(), std::vector{fault});
  }
}

TestService off_by_one_wrr() {
  return TestService(pick_one_after(make_scheduler("wrr", SchedulerOptions{})));
}

// List rs3 (w2), rs2 (w3), rs1 (w4); wrr's picks are in sched/wrr_test.cpp's
// WeightsFourThreeTwoGiveANineLongCycle: cw=1: rs3 rs2 rs1, then the cycle
// cw=4: rs1 | cw=3: rs2 rs1 | cw=2: rs3 rs2 rs1 | cw=1: rs3 rs2 rs1. One after each in list
// order: rs3 -> rs2, rs2 -> rs1, rs1 -> round to rs3.
TEST(WrrOffByOne, TakesTheDestinationAfterWrrsEveryTime) {
  TestService plain("wrr");
  plain.add(1, 4).add(2, 3).add(3, 2);
  TestService faulty = off_by_one_wrr();
  faulty.add(1, 4).add(2, 3).add(3, 2);

  EXPECT_EQ(plain.picks(3), (Picks{3, 2, 1}));
  EXPECT_EQ(faulty.picks(3), (Picks{2, 1, 3}));
  EXPECT_EQ(plain.picks(9), (Picks{1, 2, 1, 3, 2, 1, 3, 2, 1}));
  EXPECT_EQ(faulty.picks(9), (Picks{3, 1, 3, 2, 1, 3, 2, 1, 3}));
}

// rs3 (w2), rs2 (w0), rs1 (w4): di 2, mw 3, cw 1. wrr: cw=1: rs3 rs1 | cw=3: rs1 | again.
// Quiesced rs2 is stepped over: rs3 -> rs1, rs1 -> rs3.
TEST(WrrOffByOne, StepsOverWhatIsNotAvailable) {
  TestService plain("wrr");
  plain.add(1, 4).add(2, 0).add(3, 2);
  TestService faulty = off_by_one_wrr();
  faulty.add(1, 4).add(2, 0).add(3, 2);

  EXPECT_EQ(plain.picks(6), (Picks{3, 1, 1, 3, 1, 1}));
  EXPECT_EQ(faulty.picks(6), (Picks{1, 3, 3, 1, 3, 3}));
  faulty.dest(3).overloaded = true;
  EXPECT_EQ(faulty.picks(3), (Picks{1, 1, 1}));
}

TEST(WrrOffByOne, PicksNothingWhenWrrPicksNothing) {
  TestService faulty = off_by_one_wrr();
  faulty.add(1, 0).add(2, 0);
  EXPECT_EQ(faulty.picks(2), (Picks{0, 0}));
}

TEST(WrrOffByOne, CannotMissWithOneDestination) {
  TestService faulty = off_by_one_wrr();
  faulty.add(1, 5);
  EXPECT_EQ(faulty.picks(3), (Picks{1, 1, 1}));
}

// switch_on changes the process for good, as vsd means it to; each check runs in a child
// process of its own (exit 0: as expected) so that the other tests keep the product's
// behaviour.
int wrr_is_off_by_one_and_rr_is_not() {
  switch_on(TestFault::WrrOffByOne);
  TestService wrr("wrr");
  wrr.add(1, 4).add(2, 3).add(3, 2);
  TestService rr("rr");
  rr.add(1).add(2).add(3);
  const Picks got_wrr = wrr.picks(3), got_rr = rr.picks(3);
  std::cerr << "wrr picked " << ::testing::PrintToString(got_wrr) << ", rr picked "
            << ::testing::PrintToString(got_rr) << "\n";
  return got_wrr == Picks{2, 1, 3} && got_rr == Picks{3, 2, 1} ? 0 : 1;
}

int each_forwarding_fault_sets_its_own_field() {
  const auto& faults = fwd::test_faults;
  switch_on(TestFault::NoTtlDecrement);
  if (faults.ttl_decrement != 0 || faults.keep_nat_reply_source) return 1;
  switch_on(TestFault::NoNatReplyRewrite);
  return faults.ttl_decrement == 0 && faults.keep_nat_reply_source ? 0 : 1;
}

TEST(SwitchOnDeathTest, WrrOffByOneWrapsEveryWrrMadeAfterwardsAndNothingElse) {
  EXPECT_EXIT(std::exit(wrr_is_off_by_one_and_rr_is_not()), ::testing::ExitedWithCode(0), "");
}

TEST(SwitchOnDeathTest, EachForwardingFaultSetsItsOwnField) {
  EXPECT_EXIT(std::exit(each_forwarding_fault_sets_its_own_field()), ::testing::ExitedWithCode(0),
              "");
}

TEST(TestFaults, AreOffByDefault) {
  EXPECT_EQ(fwd::test_faults.ttl_decrement, 1);
  EXPECT_FALSE(fwd::test_faults.keep_nat_reply_source);
}

}  // namespace
}  // namespace vsd
