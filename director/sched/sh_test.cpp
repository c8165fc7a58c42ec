// sh, as ip_vs_sh.c: bucket = (offset + (port + client address) * 2654435761) & 255 with port
// 0 unless -b sh-port and offset 0 for the first look. 2654435761 is 0x9E3779B1, so only the
// low byte x of (address + port) matters: bucket = (x * 177) mod 256. By hand, for clients
// 10.1.1.x and no port:
//   x=1 -> 177   x=2 -> 98   x=3 -> 531 - 512 = 19   x=4 -> 196   x=5 -> 885 - 768 = 117
//   x=7 -> 1239 - 1024 = 215
// The table is dealt over the list (newest first), each server taking max(weight, 1) buckets
// in a row, round and round: with weights all 1 and list rs3, rs2, rs1, bucket b is position
// b % 3:  177 -> 0 rs3,  98 -> 2 rs1,  19 -> 1 rs2,  196 -> 1 rs2,  117 -> 0 rs3.
#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

Ipv4 client(uint8_t last) {
  return Ipv4::from_octets(10, 1, 1, last);
}

TEST(Sh, HashesTheClientAddressToABucketDealtRoundTheList) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(3))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(4))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(5))), 3);
}

TEST(Sh, OneClientStaysOnOneServerAcrossPortsAndLoad) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  for (uint16_t port = 1000; port < 1040; ++port) EXPECT_EQ(svc.pick(tcp_from(client(1), port)), 3);
}

TEST(Sh, WeightRepeatsEntries) {
  // rs1 w1, rs2 w2, rs3 w3: list rs3 (w3), rs2 (w2), rs1 (w1), a round of 6 buckets:
  // 0 1 2 -> rs3, 3 4 -> rs2, 5 -> rs1.
  //   177 % 6 = 3 -> rs2   98 % 6 = 2 -> rs3   19 % 6 = 1 -> rs3   215 % 6 = 5 -> rs1
  FlowService svc("sh");
  svc.add(1, 1).add(2, 2).add(3, 3);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(3))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(7))), 1);
}

TEST(Sh, AWeightZeroServerStillHoldsABucketPerRound) {
  // list rs3 (w0), rs2 (w2), rs1 (w1), a round of 4: 0 -> rs3, 1 2 -> rs2, 3 -> rs1.
  //   177 % 4 = 1 -> rs2   19 % 4 = 3 -> rs1   196 % 4 = 0 -> rs3, quiesced: nothing
  FlowService svc("sh");
  svc.add(1, 1).add(2, 2).add(3, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(3))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(4))), 0);
}

TEST(Sh, AnUnavailableServerGivesNothingWithoutFallback) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  svc.dest(3).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_from(client(1))), 0);
  EXPECT_EQ(svc.pick(tcp_from(client(2))), 1);
}

TEST(Sh, FallbackStartsFromTwiceTheBucket) {
  // ip_vs_sh_get_fallback hashes again with offset (177 + k) mod 256, so it tries buckets
  // (2 * 177 + k) mod 256 = 98, 99, 100, ...: 98 % 3 = 2 -> rs1 (the next bucket, 178 % 3 = 1,
  // would have given rs2).
  FlowService svc("sh", {"sh-fallback"});
  svc.add(1).add(2).add(3);
  svc.dest(3).overloaded = true;
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 1);
  // rs1 unavailable too: 98 rs1 no, 99 (% 3 = 0) rs3 no, 100 (% 3 = 1) rs2.
  svc.set_weight(1, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  // Client x=3: bucket 19 -> rs2; rs2 quiesced: from 38, 38 % 3 = 2 -> rs1, also quiesced;
  // 39 % 3 = 0 -> rs3, overloaded; 40 % 3 = 1 -> rs2 no; ... nothing is available.
  svc.set_weight(2, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(3))), 0);
  // An available server is used as it is, fallback or not.
  svc.dest(3).overloaded = false;
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 3);
}

TEST(Sh, PortCountsOnlyWithShPort) {
  // With sh-port the port is added to the address before hashing: 10.1.1.1 port 1 -> low byte
  // 2 -> 98 -> rs1; port 2 -> 3 -> 19 -> rs2; port 256 -> low byte 1 again -> 177 -> rs3.
  FlowService with_port("sh", {"sh-port"});
  with_port.add(1).add(2).add(3);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 1)), 1);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 2)), 2);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 256)), 3);
  // ICMP has no ports: 0 is used.
  FlowKey icmp = tcp_from(client(1), 1);
  icmp.proto = Proto::Icmp;
  EXPECT_EQ(with_port.peek(icmp), 3);

  FlowService without("sh");
  without.add(1).add(2).add(3);
  EXPECT_EQ(without.peek(tcp_from(client(1), 1)), 3);
  EXPECT_EQ(without.peek(tcp_from(client(1), 2)), 3);
}

TEST(Sh, DeletingAServerMovesKeysOfOthersToo) {
  // rs3, rs1: 177 % 2 = 1 -> rs1, though it was on rs3, which is still there (spec: [run]).
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 3);
  svc.remove(2);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 3);  // 98 % 2 = 0
}

TEST(Sh, EmptyServicePicksNothing) {
  FlowService svc("sh", {"sh-fallback"});
  EXPECT_EQ(svc.pick(tcp_from(client(1))), 0);
}

}  // namespace
}  // namespace vsd::sched_test
