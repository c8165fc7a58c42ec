// lblcr, as ip_vs_lblcr.c (spec section 6): the packet's destination address (the VIP) keeps a
// set of servers, newest member first. A connection goes to the member with the least overhead
// per weight (members gone from the list, quiesced or flagged overloaded skipped; ties to the
// earlier member); when there is none, or it is "overloaded" (active > weight while some
// destination has 2 * active < weight), wlc picks from the whole list and the pick joins the
// set. Every sequence below is worked by hand from those rules.
#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

const Ipv4 kVip = Ipv4::from_octets(10, 9, 9, 7);
const Ipv4 kOtherVip = Ipv4::from_octets(10, 9, 9, 8);

TEST(Lblcr, GrowsTheSetThenSpreadsOverIt) {
  // List rs2, rs1 (w1). Active (rs2, rs1) before each pick:
  //   (0,0) no set: wlc tie -> rs2; set {rs2}
  //   (1,0) member rs2: 1 > 1 no -> rs2
  //   (2,0) rs2: 2 > 1 and rs1 0 < 1: overloaded; wlc -> rs1 joins: set {rs1, rs2}
  //   (2,1) members rs1 256, rs2 512: rs1; 1 > 1 no -> rs1
  //   (2,2) 512, 512: tie -> rs1; 2 > 1 but nobody below half -> rs1
  //   (2,3) 768, 512: rs2 -> rs2
  //   (3,3) 768, 768: rs1 -> rs1
  FlowService svc("lblcr");
  svc.add(1).add(2);
  for (int expected : {2, 2, 1, 1, 1, 2, 1, 2}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);
}

TEST(Lblcr, AnIdleNewServerJoinsWhenTheMembersAreOverloaded) {
  FlowService svc("lblcr");
  svc.add(1).add(2);
  for (int expected : {2, 2, 1, 1, 1}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);
  // Active (rs2 2, rs1 3). rs3 added idle: the least loaded member rs2 has 2 > 1 and rs3 is
  // below half: wlc over rs3, rs2, rs1 -> rs3 (0) joins. Then rs3 1 is the least member.
  svc.add(3);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
  // rs3 2: members rs3 512, rs2 512, rs1 768: rs3 (newest member, tie). Nobody below half.
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);
}

TEST(Lblcr, UnfitMembersAreSkipped) {
  FlowService svc("lblcr");
  svc.add(1).add(2).add(3);              // rs3, rs2, rs1
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 3);  // set {rs3}
  svc.set_weight(3, 0);
  // No fit member: wlc over rs2, rs1 -> rs2 joins: {rs2, rs3}.
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  svc.set_weight(3, 1);
  // Members rs2 (256), rs3 (256): rs2 first and tied -> rs2. 1 > 1 no.
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  // Members rs2 512, rs3 256 would give rs3; deleted, it is skipped: rs2, 2 > 1 with rs1
  // idle -> wlc over rs2, rs1 -> rs1 joins.
  svc.remove(3);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST(Lblcr, AMemberDeletedAndAddedBackIsAMemberAgain) {
  FlowService svc("lblcr");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);  // {rs2}
  svc.remove(2).add(2);
  svc.dest(2).active = 0;
  svc.dest(1).active = 0;
  svc.remove(1).add(1);  // list rs1, rs2: wlc would take rs1
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

TEST(Lblcr, EachDestinationAddressHasItsOwnSet) {
  FlowService svc("lblcr");
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  EXPECT_EQ(svc.pick(tcp_to(kOtherVip)), 1);  // no set: wlc, rs2 has 256
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);       // {rs2}: 1 > 1 no
}

TEST(Lblcr, NothingAvailablePicksNothing) {
  FlowService svc("lblcr");
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 0);
  svc.add(1).add(2);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
  svc.dest(1).overloaded = true;
  svc.dest(2).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 0);
}

}  // namespace
}  // namespace vsd::sched_test
