// lblcr, as ip_vs_lblcr.c (spec section 6): the packet's destination address (the VIP) keeps a
// set of servers, newest member first. A connection goes to the member with the least overhead
// per weight (members gone from the list, quiesced or flagged overloaded skipped; ties to the
// earlier member); when there is none, or it is "overloaded" (active > weight while some
// destination has 2 * active < weight), wlc picks from the whole list and the pick joins the
// set. A set with more than one member that has not changed for more than lblcr_expiration (a
// day) loses its most loaded member (overhead per weight, ties to the earlier member, the
// threshold flag ignored) when it is next used; the member chosen for that use was chosen
// before. Every sequence below is worked by hand from those rules. How whole sets are
// forgotten, which lblcr shares with lblc, is in locality_table_test.cpp.
#include <chrono>

#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

const Ipv4 kVip = Ipv4::from_octets(10, 9, 9, 7);
const Ipv4 kOtherVip = Ipv4::from_octets(10, 9, 9, 8);

using namespace std::chrono_literals;

// At 0 s kVip's set grows to {rs1, rs2} (picks 2, 2, 1 as in GrowsTheSetThenSpreadsOverIt) and
// last changes; at 12 h it is used without changing (rs1 256 < rs2 512: rs1), so that the day
// of the set, not of the record, is what runs out first. Active after: rs2 2, rs1 2.
FlowService two_member_set() {
  FlowService svc("lblcr");
  svc.add(1).add(2);
  for (int expected : {2, 2, 1}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);
  svc.advance(12h);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  return svc;
}

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

TEST(Lblcr, ASetUnchangedForMoreThanADayLosesItsMostLoadedMember) {
  FlowService svc = two_member_set();
  svc.advance(12h + 1s);
  svc.dest(2).active = 3;
  svc.dest(1).active = 0;
  // Least loaded member rs1 (0 against 768); then, a day and a second unchanged, the set loses
  // its most loaded member, rs2. rs1 is not overloaded: rs1.
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  // rs2 idle would be the least loaded member (0 against rs1's 256), but it is one no more;
  // rs1 at 1 is not overloaded.
  svc.dest(2).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST(Lblcr, ASetUnchangedForExactlyADayKeepsItsMembers) {
  // time_after(now, lastmod + expiration) is strict.
  FlowService svc = two_member_set();
  svc.advance(12h);
  svc.dest(2).active = 3;
  svc.dest(1).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  svc.dest(2).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);  // rs2 0 against rs1 256
}

TEST(Lblcr, AJoiningMemberStartsTheSetsDayAgain) {
  FlowService svc("lblcr");
  svc.add(1).add(2);
  for (int expected : {2, 2}) EXPECT_EQ(svc.pick(tcp_to(kVip)), expected);  // {rs2}
  svc.advance(12h);
  // rs2 at 2 > 1 while rs1 is idle: overloaded; wlc takes rs1, which joins at 12 h.
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  svc.advance(12h + 1s);
  svc.dest(2).active = 3;
  svc.dest(1).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  svc.dest(2).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);  // still a member
}

TEST(Lblcr, WithEqualLoadsTheMemberRemovedIsTheOneReturned) {
  // One active connection each: both ip_vs_dest_set_min and ip_vs_dest_set_max keep the first
  // member on a tie, rs1. The connection goes to rs1, which has just left the set.
  FlowService svc = two_member_set();
  svc.advance(12h + 1s);
  svc.dest(1).active = 1;
  svc.dest(2).active = 1;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  // Were rs1 a member, idle it would be the least loaded; the set is {rs2}, at 1 not overloaded.
  svc.dest(1).active = 0;
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
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
