// dh, as Linux 6.1's ip_vs_dh.c: bucket = hash_32(VIP in host order, 8), the top byte of
// VIP * 0x61C88647 mod 2^32; bucket b holds list position b mod N (one bucket per destination
// per round, whatever the weight); a bucket whose server is unavailable gives nothing.
// Worked by hand for 10.9.9.x (0x0A0909xx; each step of x adds 0x61C88647 to the product):
//   x=0: 0x0A090900 * 0x61C88647 = 0x8B377F00 -> 139   x=1: 0xED000547 -> 237
//   x=3: 0xB09111D5 -> 176   x=5: 0x74221E63 -> 116   x=7: 0x37B32AF1 -> 55
// With rs1, rs2, rs3 added in that order the list is rs3, rs2, rs1 (positions 0, 1, 2):
//   139 % 3 = 1 -> rs2   237 % 3 = 0 -> rs3   176 % 3 = 2 -> rs1   116 % 3 = 2 -> rs1
//   55 % 3 = 1 -> rs2
#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

Ipv4 vip(uint8_t last) {
  return Ipv4::from_octets(10, 9, 9, last);
}

TEST(Dh, HashesTheDestinationAddressToABucketDealtRoundTheList) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_to(vip(0))), 2);
  EXPECT_EQ(svc.peek(tcp_to(vip(1))), 3);
  EXPECT_EQ(svc.peek(tcp_to(vip(3))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(5))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 2);
}

TEST(Dh, EveryClientOfOneVipGoesToTheSameServerHoweverLoaded) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  for (int i = 1; i <= 50; ++i)
    EXPECT_EQ(svc.pick(tcp_from(Ipv4::from_octets(10, 1, 1, uint8_t(i)), uint16_t(1000 + i))), 2);
  EXPECT_EQ(svc.dest(2).active, 50u);
}

TEST(Dh, WeightDoesNotRepeatEntries) {
  // rs3 w1, rs2 w5, rs1 w1: still 116 % 3 = 2 -> rs1. (Repeated by weight as sh does, the
  // round would be 7 long and 116 % 7 = 4 would land on rs2.)
  FlowService svc("dh");
  svc.add(1, 1).add(2, 5).add(3, 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(5))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 2);  // 55 % 3 = 1
}

TEST(Dh, AnUnavailableServerGivesNothingWithoutLookingFurther) {
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  svc.dest(1).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_to(vip(5))), 0);
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 2);
  svc.dest(1).overloaded = false;
  svc.set_weight(1, 0);  // quiesced: still holds its buckets
  EXPECT_EQ(svc.pick(tcp_to(vip(5))), 0);
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 2);
}

TEST(Dh, DeletingAServerDealsTheTableAgain) {
  // rs3, rs1: 116 % 2 = 0 -> rs3 (was rs1); 55 % 2 = 1 -> rs1 (was rs2); 237 % 2 = 1 -> rs1
  // (was rs3, which is still there: a deletion moves keys of other servers too).
  FlowService svc("dh");
  svc.add(1).add(2).add(3).remove(2);
  EXPECT_EQ(svc.peek(tcp_to(vip(5))), 3);
  EXPECT_EQ(svc.peek(tcp_to(vip(7))), 1);
  EXPECT_EQ(svc.peek(tcp_to(vip(1))), 1);
}

TEST(Dh, AfterADeleteTheTopologiesVipsGoWhereTheKernelSentThem) {
  // Seen in the guest (`vslab diff --against qemu-kernel`, the weight0 kind): rs3 is deleted
  // from rs3, rs2, rs1 and a new connection to the NAT VIP 10.20.0.100 reaches rs1 on Linux
  // 6.1; one to the DR VIP 10.30.0.100 reaches rs2. By hand: 0x0A140064 * 0x61C88647 =
  // 0x75E073BC -> 117, 117 % 2 = 1 -> rs1; 0x0A1E0064 -> 0xB4A673BC -> 180, even -> rs2.
  // The old low-byte formula put both in bucket 36 (even), so NAT went to rs2.
  FlowService svc("dh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_to(Ipv4::from_octets(10, 20, 0, 100))), 3);  // 117 % 3 = 0
  svc.remove(3);
  EXPECT_EQ(svc.peek(tcp_to(Ipv4::from_octets(10, 20, 0, 100))), 1);
  EXPECT_EQ(svc.peek(tcp_to(Ipv4::from_octets(10, 30, 0, 100))), 2);
}

TEST(Dh, EmptyServicePicksNothing) {
  FlowService svc("dh");
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
  svc.add(1).remove(1);
  EXPECT_EQ(svc.pick(tcp_to(vip(7))), 0);
}

}  // namespace
}  // namespace vsd::sched_test
