// dh, as ip_vs_dh.c: bucket = (VIP in host order * 2654435761) & 255; bucket b holds list
// position b mod N (one bucket per destination per round, whatever the weight); a bucket
// whose server is unavailable gives nothing. 2654435761 is 0x9E3779B1, so only the VIP's last
// octet x matters: bucket = (x * 0xB1) mod 256 = (x * 177) mod 256. By hand:
//   10.9.9.0 -> 0    10.9.9.1 -> 177    10.9.9.2 -> 354 - 256 = 98
//   10.9.9.4 -> 708 - 512 = 196    10.9.9.7 -> 1239 - 1024 = 215
// With rs1, rs2, rs3 added in that order the list is rs3, rs2, rs1 (positions 0, 1, 2):
//   0 % 3 = 0 -> rs3   177 % 3 = 0 -> rs3   98 % 3 = 2 -> rs1   196 % 3 = 1 -> rs2
//   215 % 3 = 2 -> rs1
#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

Ipv4 vip(uint8_t last) {
  return Ipv4::from_octets(10, 9, 9, last);
}

TEST(Dh, HashesTheDestinationAddressToABucketDealtRoundTheList) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_to(vip(0))), 3);
  EXPECT_EQ(svc.peek(tcp_to(vip(1))), 3);
  EXPECT_EQ(svc.peek(tcp_to(vip(2))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(4))), 2);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 1);
}

TEST(Dh, EveryClientOfOneVipGoesToTheSameServerHoweverLoaded) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  for (int i = 1; i <= 50; ++i)
    EXPECT_EQ(svc.pick(tcp_from(Ipv4::from_octets(10, 1, 1, uint8_t(i)), uint16_t(1000 + i))), 1);
  EXPECT_EQ(svc.dest(1).active, 50u);
}

TEST(Dh, WeightDoesNotRepeatEntries) {
  // rs3 w1, rs2 w5, rs1 w1: still 215 % 3 = 2 -> rs1. (Repeated by weight as sh does, the
  // round would be 7 long and 215 % 7 = 5 would land on rs2.)
  FlowService svc("dh");
  svc.add(1, 1).add(2, 5).add(3, 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(4))), 2);  // 196 % 3 = 1
}

TEST(Dh, AnUnavailableServerGivesNothingWithoutLookingFurther) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  svc.dest(1).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
  EXPECT_EQ(svc.pick(tcp_to(vip(4))), 2);
  svc.dest(1).overloaded = false;
  svc.set_weight(1, 0);  // quiesced: still holds its buckets
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
  EXPECT_EQ(svc.pick(tcp_to(vip(4))), 2);
}

TEST(Dh, DeletingAServerDealsTheTableAgain) {
  // rs3, rs1: 215 % 2 = 1 -> rs1; 196 % 2 = 0 -> rs3 (was rs2); 177 % 2 = 1 -> rs1 (was rs3,
  // which is still there: a deletion moves keys of other servers too).
  FlowService svc("dh");
  svc.add(1).add(2).add(3).remove(2);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(4))), 3);
  EXPECT_EQ(svc.peek(tcp_to(vip(1))), 1);
}

TEST(Dh, EmptyServicePicksNothing) {
  FlowService svc("dh");
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
  svc.add(1).remove(1);
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
}

}  // namespace
}  // namespace vsd::sched_test
