// rr, as spec section 6: a cursor scans forward from the last pick, wrapping, over the list in
// IPVS order (newest first). Expected sequences are worked out by hand from that rule.
#include <random>
#include <vector>

#include "sched/test_service.h"

namespace vsd::sched_test {
namespace {

TEST(Rr, StartsWithTheNewestAndAlternates) {
  // Spec example: add rs1, rs2; the list is rs2, rs1 and the cursor starts at the head.
  TestService svc("rr");
  svc.add(1).add(2);
  EXPECT_EQ(svc.picks(6), (Picks{2, 1, 2, 1, 2, 1}));
}

TEST(Rr, EmptyServicePicksNothing) {
  TestService svc("rr");
  EXPECT_EQ(svc.pick(), 0);
}

TEST(Rr, AddingDoesNotMoveTheCursor) {
  TestService svc("rr");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(), 2);  // cursor on rs2
  svc.add(3);                // list rs3, rs2, rs1: after rs2 comes rs1, then round to rs3
  EXPECT_EQ(svc.picks(4), (Picks{1, 3, 2, 1}));
}

TEST(Rr, AddingBeforeTheFirstPickPutsTheNewestFirst) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // cursor still at the head
  EXPECT_EQ(svc.picks(4), (Picks{3, 2, 1, 3}));
}

TEST(Rr, DeletingTheDestinationUnderTheCursorContinuesWithItsSuccessor) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.picks(2), (Picks{3, 2}));
  svc.remove(2);  // rs3, rs1: rs2's successor rs1 is next, not the one after it
  EXPECT_EQ(svc.picks(3), (Picks{1, 3, 1}));
}

TEST(Rr, DeletingTheFirstDestinationUnderTheCursorRestartsAtTheHead) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(), 3);
  svc.remove(3);  // rs2, rs1: rs3's successor rs2 is next
  EXPECT_EQ(svc.picks(3), (Picks{2, 1, 2}));
}

TEST(Rr, DeletingTheLastDestinationUnderTheCursorWrapsToTheHead) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.picks(3), (Picks{3, 2, 1}));
  svc.remove(1);  // rs3, rs2: rs1 had no successor, the scan wraps to rs3
  EXPECT_EQ(svc.picks(3), (Picks{3, 2, 3}));
}

TEST(Rr, DeletingTwoInARowFollowsEachSuccessor) {
  TestService svc("rr");
  svc.add(1).add(2).add(3).add(4);  // rs4, rs3, rs2, rs1
  EXPECT_EQ(svc.picks(2), (Picks{4, 3}));
  svc.remove(3);  // rs4, rs2, rs1: next would be rs2
  svc.remove(4);  // rs2, rs1: rs4 was the cursor's stand-in; next is still rs2
  EXPECT_EQ(svc.picks(3), (Picks{2, 1, 2}));
}

TEST(Rr, DeletingAnotherDestinationKeepsTheCursor) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.picks(2), (Picks{3, 2}));
  svc.remove(3);  // rs2, rs1, cursor on rs2
  EXPECT_EQ(svc.picks(3), (Picks{1, 2, 1}));
}

TEST(Rr, EditingAWeightKeepsTheCursor) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(), 3);
  svc.set_weight(1, 5);
  EXPECT_EQ(svc.picks(3), (Picks{2, 1, 3}));
}

TEST(Rr, NeverPicksWeightZeroOrOverloaded) {
  TestService svc("rr");
  svc.add(1).add(2).add(3).set_weight(3, 0);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.picks(3), (Picks{1, 1, 1}));
}

TEST(Rr, AllUnavailablePicksNothingAndKeepsTheCursor) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(), 3);
  svc.overload_all(true);
  EXPECT_EQ(svc.pick(), 0);
  svc.overload_all(false);
  EXPECT_EQ(svc.picks(2), (Picks{2, 1}));  // still after rs3
}

TEST(Rr, TheCursorItselfIsTriedLast) {
  TestService svc("rr");
  svc.add(1).add(2);  // rs2, rs1
  EXPECT_EQ(svc.pick(), 2);
  svc.set_weight(1, 0);
  EXPECT_EQ(svc.picks(2), (Picks{2, 2}));
}

TEST(Rr, AQuiescedServerIsSkippedAndTheRoundGoesOn) {
  TestService svc("rr");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(), 3);
  svc.set_weight(2, 0);
  EXPECT_EQ(svc.picks(3), (Picks{1, 3, 1}));
  svc.set_weight(2, 1);  // cursor on rs1: round to rs3, then rs2
  EXPECT_EQ(svc.picks(3), (Picks{3, 2, 1}));
}

// The kernel's cursor as a position in the list, moved along by each change as a list pointer
// is: an add at the head shifts it, deleting a destination before it shifts it back, deleting
// the destination under it leaves it on the predecessor (or the head). rr.cpp keeps the cursor
// by identity instead; this model checks it on random histories.
class PositionalRr {
 public:
  void added() { cursor_ = cursor_ < 0 ? cursor_ : cursor_ + 1; }
  void deleted(int at) { cursor_ = at <= cursor_ ? cursor_ - 1 : cursor_; }
  int pick(const std::vector<SchedDest>& dests) {
    const int count = int(dests.size());
    for (int step = 1; step <= count; ++step) {
      const int at = (cursor_ + step) % count;
      if (dests[at].available()) return cursor_ = at;
    }
    return -1;
  }

 private:
  int cursor_ = -1;  // -1: the list head
};

TEST(Rr, KeepingTheCursorByIdentityPicksAsAListPointerDoes) {
  std::mt19937 random(20261125);
  for (int history = 0; history < 200; ++history) {
    auto scheduler = make_scheduler("rr", SchedulerOptions{});
    PositionalRr model;
    std::vector<SchedDest> dests;
    int next_rs = 1;
    for (int step = 0; step < 300; ++step) {
      const auto roll = random() % 20;
      const int some = dests.empty() ? -1 : int(random() % dests.size());
      if (roll < 3 || dests.empty()) {
        SchedDest dest;
        dest.addr = rs(next_rs++ % 250 + 1);
        dest.weight = random() % 4;
        dests.insert(dests.begin(), dest);
        model.added();
        scheduler->on_change(dests);
      } else if (roll < 6) {
        dests.erase(dests.begin() + some);
        model.deleted(some);
        scheduler->on_change(dests);
      } else if (roll < 8) {
        dests[some].weight = random() % 4;
        scheduler->on_change(dests);
      } else if (roll < 10) {
        dests[some].overloaded = !dests[some].overloaded;
      } else {
        ASSERT_EQ(scheduler->pick(dests, FlowKey{}, 0), model.pick(dests))
            << "history " << history << " step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace vsd::sched_test
