// The deterministic schedulers on the DR topology (spec sections 4, 5, 6): which real server
// each new connection reaches, each sequence derived by hand from the spec beside it, every
// frame checked as DR rewrites it, and the ActiveConn/InActConn that `-L -n` shows afterwards.
// The real servers never answer, so a connection stays active (SYN_RECV) unless the client
// takes it to CLOSE with ACK then RST (spec 5, input-only table: DR sees one direction).
#include <gtest/gtest.h>

#include "dr_scheduling.h"

namespace vslab::conformance {
namespace {

class DrScheduler : public DrScheduling {};

TEST_F(DrScheduler, RrTakesTheServersInScanOrderStartingAtTheHead) {
  restore(dr_rules("-s rr", {"-w 1", "-w 1", "-w 1"}));
  // Spec 6: the cursor starts at the list head, which is rs3, the last added (spec 4).
  expect_picks({3, 2, 1, 3, 2, 1, 3});
  expect_listed_counts({{1, {2, 0}}, {2, {2, 0}}, {3, {3, 0}}});
}

TEST_F(DrScheduler, WrrStepsTheCurrentWeightByTheGcdOfTheWeights) {
  restore(dr_rules("-s wrr", {"-w 2", "-w 4", "-w 6"}));
  // Spec 6, state after each add (cursor back to the head each time):
  //   + rs1 w2: di = 2, mw = 2 - 1 = 1; cw == 0 -> cw = mw = 1
  //   + rs2 w4: di = gcd(2,4) = 2, mw = 4 - 1 = 3; cw = 1 is neither > 3 nor 0 and di > 1:
  //             cw = (1 / 2) * 2 + 1 = 1
  //   + rs3 w6: di = 2, mw = 6 - 1 = 5; likewise cw = 1
  // Scan rs3(6), rs2(4), rs1(2), taking weight >= cw; at the end cw -= 2, and <= 0 -> mw:
  //   cw 1: rs3, rs2, rs1 | cw -1 -> 5: rs3 | cw 3: rs3, rs2 | cw 1: rs3, rs2, rs1 |
  //   cw 5: rs3 | cw 3: rs3, rs2
  expect_picks({3, 2, 1, 3, 3, 2, 3, 2, 1, 3, 3, 2});
  expect_listed_counts({{1, {2, 0}}, {2, {4, 0}}, {3, {6, 0}}});
}

TEST_F(DrScheduler, LcCountsAConnectionTheClientResetAsInactive) {
  restore(dr_rules("-s lc", {"-w 1", "-w 1", "-w 1"}));
  // All idle: the first of scan order rs3, rs2, rs1, then the others.
  expect_picks({3, 2, 1});
  // Spec 5: SYN_RECV + ACK -> ESTABLISHED, + RST -> CLOSE, inactive: rs3's overhead is 1.
  reset_connection("10.10.0.2", 40000, 3);
  // Overheads (active << 8) + inactive, least wins, ties to the first:
  //   rs3 1,   rs2 256, rs1 256 -> rs3
  //   rs3 257, rs2 256, rs1 256 -> rs2
  //   rs3 257, rs2 512, rs1 256 -> rs1
  //   rs3 257, rs2 512, rs1 512 -> rs3
  expect_picks({3, 2, 1, 3}, 40003);
  expect_listed_counts({{1, {2, 0}}, {2, {2, 0}}, {3, {2, 1}}});
}

TEST_F(DrScheduler, WlcSkipsAQuiescentHeadAndWeighsTheRest) {
  restore(dr_rules("-s wlc", {"-w 3", "-w 1", "-w 0"}));
  // Scan rs3(w0), rs2(w1), rs1(w3): rs3 is unavailable (spec 6), so rs2 is the first
  // candidate C; D replaces it when oh(C) * w(D) > oh(D) * w(C), oh = active * 256:
  //   1: rs2 0,   rs1 0:    0 > 0 no           -> rs2
  //   2: rs2 256, rs1 0:    768 > 0            -> rs1
  //   3: rs2 256, rs1 256:  768 > 256          -> rs1
  //   4: rs2 256, rs1 512:  768 > 512          -> rs1
  //   5: rs2 256, rs1 768:  768 > 768 no (tie) -> rs2
  //   6-9: the same cycle from rs2 512:        -> rs1, rs1, rs1, rs2
  expect_picks({2, 1, 1, 1, 2, 1, 1, 1, 2});
  expect_listed_counts({{1, {6, 0}}, {2, {3, 0}}, {3, {0, 0}}});
}

TEST_F(DrScheduler, SedWeighsActiveConnectionsPlusOne) {
  restore(dr_rules("-s sed", {"-w 1", "-w 2", "-w 3"}));
  // Scan rs3(w3), rs2(w2), rs1(w1); oh = active + 1; D replaces C when
  // oh(C) * w(D) > oh(D) * w(C). Overheads rs3, rs2, rs1 before each pick:
  //   1: 1 1 1: rs2 1*2 > 1*3 no; rs1 1*1 > 1*3 no         -> rs3
  //   2: 2 1 1: rs2 2*2 > 1*3 -> C rs2; rs1 1*1 > 1*2 no    -> rs2
  //   3: 2 2 1: rs2 2*2 > 2*3 no; rs1 2*1 > 1*3 no         -> rs3
  //   4: 3 2 1: rs2 3*2 > 2*3 no; rs1 3*1 > 1*3 no         -> rs3
  //   5: 4 2 1: rs2 4*2 > 2*3 -> C rs2; rs1 2*1 > 1*2 no    -> rs2
  //   6: 4 3 1: rs2 4*2 > 3*3 no; rs1 4*1 > 1*3            -> rs1
  //   7: 4 3 2: rs2 8 > 9 no; rs1 4*1 > 2*3 no             -> rs3
  //   8: 5 3 2: rs2 5*2 > 3*3 -> C rs2; rs1 3*1 > 2*2 no    -> rs2
  expect_picks({3, 2, 3, 3, 2, 1, 3, 2});
  expect_listed_counts({{1, {1, 0}}, {2, {3, 0}}, {3, {4, 0}}});
}

TEST_F(DrScheduler, NqTakesEachIdleServerFirstThenWeighsActivePlusOne) {
  restore(dr_rules("-s nq", {"-w 1", "-w 2", "-w 3"}));
  // Scan rs3(w3), rs2(w2), rs1(w1). The first server with no active connection wins at once:
  //   1-3: rs3, rs2, rs1
  // then as sed; overheads (active + 1) rs3, rs2, rs1 before each pick:
  //   4: 2 2 2: rs2 2*2 > 2*3 no; rs1 2*1 > 2*3 no         -> rs3
  //   5: 3 2 2: rs2 3*2 > 2*3 no; rs1 3*1 > 2*3 no         -> rs3
  //   6: 4 2 2: rs2 4*2 > 2*3 -> C rs2; rs1 2*1 > 2*2 no    -> rs2
  //   7: 4 3 2: rs2 4*2 > 3*3 no; rs1 4*1 > 2*3 no         -> rs3
  //   8: 5 3 2: rs2 5*2 > 3*3 -> C rs2; rs1 3*1 > 2*2 no    -> rs2
  expect_picks({3, 2, 1, 3, 3, 2, 3, 2});
  expect_listed_counts({{1, {1, 0}}, {2, {3, 0}}, {3, {4, 0}}});
}

TEST_F(DrScheduler, FoFollowsTheHighestWeightWhenAWeightChanges) {
  restore(dr_rules("-s fo", {"-w 1", "-w 5", "-w 2"}));
  // Spec 6: the available server with the highest weight, whatever its connections: rs2 (5).
  expect_picks({2, 2, 2});
  admin_ok({"-e", "-t", "10.30.0.100:80", "-r", "10.30.0.13:80", "-g", "-w", "7"});
  // Now rs3 (7) is the heaviest.
  expect_picks({3, 3}, 40003);
  expect_listed_counts({{1, {0, 0}}, {2, {3, 0}}, {3, {2, 0}}});
}

TEST_F(DrScheduler, OvfFillsEachServerToItsWeightPlusOneThenDrops) {
  restore(dr_rules("-s ovf", {"-w 1", "-w 2", "-w 1"}));
  // Scan rs3(1), rs2(2), rs1(1). Candidates have active <= weight; the highest weight wins,
  // ties to the first:
  //   1-3: rs2 (active 0, 1, 2 <= 2); then 3 > 2
  //   4-5: rs3 (0, 1 <= 1), first of the weight-1 tie; then 2 > 1
  //   6-7: rs1 (0, 1)
  //   8: nobody is a candidate: dropped, and no entry is made (spec 6)
  expect_picks({2, 2, 2, 3, 3, 1, 1});
  expect_syn_dropped("10.10.0.2", 40007);
  expect_listed_counts({{1, {2, 0}}, {2, {3, 0}}, {3, {2, 0}}});
}

TEST_F(DrScheduler, LblcKeepsTheVipsServerUntilItIsOverloaded) {
  restore(dr_rules("-s lblc", {"-w 1", "-w 1", "-w 1"}));
  // Spec 6: one key (the VIP). The recorded server is kept unless overloaded: active >
  // weight and some server has 2 * active < weight (here: some server has no active one).
  // Otherwise wlc (oh = active * 256) picks and is recorded. Actives rs3, rs2, rs1:
  //   1: none recorded; wlc over 0 0 0                     -> rs3
  //   2: rs3 1 > 1 no                                      -> rs3
  //   3: rs3 2 > 1 and rs2 has 0: overloaded; wlc 2 0 0    -> rs2
  //   4: rs2 1 > 1 no                                      -> rs2
  //   5: rs2 2 > 1 and rs1 has 0; wlc 2 2 0                -> rs1
  //   6: rs1 1                                             -> rs1
  //   7-8: rs1 2, 3 > 1 but no server has 2 * active < 1   -> rs1, rs1
  expect_picks({3, 3, 2, 2, 1, 1, 1, 1});
  expect_listed_counts({{1, {4, 0}}, {2, {2, 0}}, {3, {2, 0}}});
}

TEST_F(DrScheduler, LblcForgetsTheServerItMovedAwayFrom) {
  restore(dr_rules("-s lblc", {"-w 1", "-w 1", "-w 1"}));
  // As above: rs3, rs3, then rs2 is recorded, rs2.
  expect_picks({3, 3, 2, 2});
  // rs3's two connections go to CLOSE: rs3 active 0, inactive 2 (overhead 2).
  reset_connection("10.10.0.2", 40000, 3);
  reset_connection("10.10.0.2", 40001, 3);
  // Overheads rs3, rs2, rs1 = 2, 512, 0:
  //   5: recorded rs2: 2 > 1 and rs3 has 0 active: overloaded; wlc: C rs3 (2); rs2
  //      2*1 > 512 no; rs1 2*1 > 0 -> rs1, recorded
  //   6: rs1 1 > 1 no                                                      -> rs1
  //   7: rs1 2 > 1 and rs3 has 0 active; wlc over 2, 512, 512: rs3 stays C  -> rs3
  expect_picks({1, 1, 3}, 40004);
  expect_listed_counts({{1, {2, 0}}, {2, {2, 0}}, {3, {1, 2}}});
}

TEST_F(DrScheduler, LblcrReturnsToTheLeastLoadedServerOfItsSet) {
  restore(dr_rules("-s lblcr", {"-w 1", "-w 1", "-w 1"}));
  // Spec 6: the VIP's set starts as {rs3}; its least loaded member is used unless
  // overloaded (as lblc), in which case wlc picks a server that joins the set:
  //   1: rs3; 2: rs3 (1 > 1 no); 3: rs3 overloaded, wlc -> rs2 joins; 4: rs2 (256 < 512)
  expect_picks({3, 3, 2, 2});
  reset_connection("10.10.0.2", 40000, 3);
  reset_connection("10.10.0.2", 40001, 3);
  // Overheads rs3, rs2, rs1 = 2, 512, 0; the set is {rs3, rs2}:
  //   5: least of the set rs3 (2); 0 > 1 no                             -> rs3 (258)
  //   6: rs3 258 < rs2 512; 1 > 1 no                                    -> rs3 (514)
  //   7: rs2 512 < rs3 514; rs2 2 > 1 and rs1 has 0: wlc over all -> rs1 joins
  // lblc would have gone to rs1 at 5 instead (the test above).
  expect_picks({3, 3, 1}, 40004);
  expect_listed_counts({{1, {1, 0}}, {2, {2, 0}}, {3, {2, 2}}});
}

}  // namespace
}  // namespace vslab::conformance
