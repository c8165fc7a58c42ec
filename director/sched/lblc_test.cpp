// lblc, as ip_vs_lblc.c (spec section 6): the packet's destination address (the VIP) keeps the
// server it was given while that server is in the list with weight > 0 and not "overloaded":
// active > weight while some destination has 2 * active < weight. Otherwise wlc picks (overhead
// (active << 8) + inactive, ties to the first in list order) and the record is replaced.
// Every sequence below is worked by hand from those rules.
#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

const Ipv4 kVip = Ipv4::from_octets(10, 9, 9, 7);
const Ipv4 kOtherVip = Ipv4::from_octets(10, 9, 9, 8);

TEST(Lblc, StaysWithTheRecordedServerUntilItIsOverloaded) {
  // List rs2, rs1 (w1 each). Active (rs2, rs1) before each pick:
  //   (0,0) no record: wlc, tie -> rs2, recorded
  //   (1,0) rs2: 1 > 1 no -> rs2
  //   (2,0) rs2: 2 > 1 and rs1 has 0 < 1 -> overloaded; wlc: 512 * 1 > 0 * 1 -> rs1, recorded
  //   (2,1) rs1: 1 > 1 no -> rs1
  //   (2,2) rs1: 2 > 1, but nobody has 2 * active < 1 -> not overloaded -> rs1, and so on
  FlowService svc("lblc");
  svc.add(1).add(2);
  for (int expected : {2, 2, 1, 1, 1, 1, 1}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);
}

TEST(Lblc, ClientsDoNotMatterOnlyTheDestinationAddress) {
  FlowService svc("lblc");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_from(Ipv4::from_octets(10, 1, 1, 1), 1000, kVip)), 2);
  EXPECT_EQ(svc.pick(tcp_from(Ipv4::from_octets(10, 1, 1, 2), 2000, kVip)), 2);
  // Another destination address has its own record: wlc, rs2 has 512 -> rs1.
  EXPECT_EQ(svc.pick(tcp_to(kOtherVip)), 1);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);  // 2 > 1, but rs1 is at 1: 2 < 1 no -> kept
}

TEST(Lblc, AQuiescedRecordedServerIsReplacedForGood) {
  FlowService svc("lblc");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  svc.set_weight(2, 0);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);  // wlc over rs1 only
  svc.set_weight(2, 1);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);  // the record is rs1 now: 1 > 1 no
}

TEST(Lblc, ADeletedRecordedServerIsReplaced) {
  FlowService svc("lblc");
  svc.add(1).add(2).add(3);  // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
  svc.remove(3);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);  // rs2, rs1 idle: tie -> rs2
}

TEST(Lblc, ARecordSurvivesTheServerBeingDeletedAndAddedBack) {
  // The kernel's record holds the destination, which comes back from the trash when the same
  // address and port are added again. List after: rs2, rs3, rs1 -> wlc would take rs2.
  FlowService svc("lblc");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
  svc.dest(3).active = 0;
  svc.remove(3).add(3).remove(2).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
}

TEST(Lblc, TheThresholdFlagDoesNotStopTheRecordedServer) {
  // ip_vs_lblc_schedule checks the recorded server's weight and lblc's own overload rule only,
  // not IP_VS_DEST_F_OVERLOAD (spec section 8's flag). For a new record, wlc skips it.
  FlowService svc("lblc");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  EXPECT_EQ(svc.pick(tcp_to(kOtherVip)), 1);
}

TEST(Lblc, HigherWeightsAllowMoreActiveBeforeMoving) {
  // rs2 w3, rs1 w1: list rs2, rs1. rs2 is first and least loaded (0), then keeps the VIP while
  // active <= 3; at 4 > 3, rs1 (0 * 2 < 1) makes it overloaded: wlc 1024 * 1 > 0 * 3 -> rs1.
  FlowService svc("lblc");
  svc.add(1, 1).add(2, 3);
  for (int expected : {2, 2, 2, 2, 1}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);
}

TEST(Lblc, NothingAvailablePicksNothing) {
  FlowService svc("lblc");
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 0);
  svc.add(1, 0).add(2);
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 0);
}

}  // namespace
}  // namespace vsd::sched_test
