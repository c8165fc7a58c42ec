// sh, as Linux 6.1's ip_vs_sh.c: bucket = (offset + hash_32(port + client address, 8)) & 255,
// the port 0 unless -b sh-port and the offset 0 for the first look; hash_32(v, 8) is the top
// byte of v * 0x61C88647 mod 2^32. Worked by hand for clients 10.1.1.x (0x0A0101xx), no port:
//   x=1: 0x0A010101 * 0x61C88647 = 0x7695CD47 -> 0x76 = 118
//   x=2: 0xD85E538E -> 216     x=3: 0x3A26D9D5 -> 58     x=4: 0x9BEF601C -> 155
//   x=5: 0xFDB7E663 -> 253     x=10: 0xE6A285C6 -> 230   x=15: 0xCF8D2529 -> 207
// (the product's low 32 bits; each step of x adds 0x61C88647). The table is dealt over the
// list (newest first), each server taking max(weight, 1) buckets in a row, round and round:
// with weights all 1 and list rs3, rs2, rs1, bucket b is position b % 3:
//   118 -> 1 rs2   216 -> 0 rs3   58 -> 1 rs2   155 -> 2 rs1   253 -> 1 rs2
// The 22 sh cells of `vslab diff --against qemu-kernel` agree with this function; the older
// kernels' low byte of address * 2654435761 does not.
#include "sched/flow_test_service.h"
#include "sched/golden_ratio_hash.h"

namespace vsd::sched_test {
namespace {

Ipv4 client(uint8_t last) {
  return Ipv4::from_octets(10, 1, 1, last);
}

TEST(Sh, BucketsComeFromTheTopByteOfTheGoldenRatioProduct) {
  EXPECT_EQ(golden_ratio_hash(0x0A010101, 8), 118u);  // 0x7695CD47
  EXPECT_EQ(golden_ratio_hash(0x0A010105, 8), 253u);  // 0xFDB7E663
  // lblc's 10 bits of the same product: 0x7695CD47 >> 22 = 0x1DA.
  EXPECT_EQ(golden_ratio_hash(0x0A010101, 10), 0x1DAu);
}

TEST(Sh, HashesTheClientAddressToABucketDealtRoundTheList) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(3))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(4))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(5))), 2);
}

TEST(Sh, OneClientStaysOnOneServerAcrossPortsAndLoad) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  for (uint16_t port = 1000; port < 1040; ++port) EXPECT_EQ(svc.pick(tcp_from(client(1), port)), 2);
}

TEST(Sh, WeightRepeatsEntries) {
  // rs1 w1, rs2 w2, rs3 w3: list rs3 (w3), rs2 (w2), rs1 (w1), a round of 6 buckets:
  // 0 1 2 -> rs3, 3 4 -> rs2, 5 -> rs1.
  //   118 % 6 = 4 -> rs2   216 % 6 = 0 -> rs3   155 % 6 = 5 -> rs1   253 % 6 = 1 -> rs3
  FlowService svc("sh");
  svc.add(1, 1).add(2, 2).add(3, 3);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(4))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(5))), 3);
}

TEST(Sh, AWeightZeroServerStillHoldsABucketPerRound) {
  // list rs3 (w0), rs2 (w2), rs1 (w1), a round of 4: 0 -> rs3, 1 2 -> rs2, 3 -> rs1.
  //   118 % 4 = 2 -> rs2   155 % 4 = 3 -> rs1   216 % 4 = 0 -> rs3, quiesced: nothing
  FlowService svc("sh");
  svc.add(1, 1).add(2, 2).add(3, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 2);
  EXPECT_EQ(svc.peek(tcp_from(client(4))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 0);
}

TEST(Sh, AnUnavailableServerGivesNothingWithoutFallback) {
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  svc.dest(3).overloaded = true;
  EXPECT_EQ(svc.pick(tcp_from(client(2))), 0);
  EXPECT_EQ(svc.pick(tcp_from(client(1))), 2);
}

TEST(Sh, FallbackStartsFromTwiceTheBucket) {
  // Client x=2, bucket 216 -> rs3, overloaded. ip_vs_sh_get_fallback adds the offsets
  // (216 + k) mod 256 to the hash again, so it tries buckets (2 * 216 + k) mod 256 = 176, 177,
  // 178, ...: 176 % 3 = 2 -> rs1 (the next bucket, 217 % 3 = 1, would have given rs2).
  FlowService svc("sh", {"sh-fallback"});
  svc.add(1).add(2).add(3);
  svc.dest(3).overloaded = true;
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 1);
  // rs1 unavailable too: 176 rs1 no, 177 (% 3 = 0) rs3 no, 178 (% 3 = 1) rs2.
  svc.set_weight(1, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 2);
  // Client x=1: bucket 118 -> rs2; rs2 quiesced: from 236, 236 % 3 = 2 -> rs1, also quiesced;
  // 237 % 3 = 0 -> rs3, overloaded; 238 % 3 = 1 -> rs2 no; ... nothing is available.
  svc.set_weight(2, 0);
  EXPECT_EQ(svc.peek(tcp_from(client(1))), 0);
  // An available server is used as it is, fallback or not.
  svc.dest(3).overloaded = false;
  EXPECT_EQ(svc.peek(tcp_from(client(2))), 3);
}

TEST(Sh, PortCountsOnlyWithShPort) {
  // With sh-port the port is added to the address before hashing: 10.1.1.1 port 1 hashes as
  // 0x0A010102 -> 216 -> rs3; port 2 as 0x0A010103 -> 58 -> rs2; port 3 as 0x0A010104 -> 155
  // -> rs1; port 256 as 0x0A010201: 0x3F1C1447 -> 63 -> rs3.
  FlowService with_port("sh", {"sh-port"});
  with_port.add(1).add(2).add(3);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 1)), 3);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 2)), 2);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 3)), 1);
  EXPECT_EQ(with_port.peek(tcp_from(client(1), 256)), 3);
  // ICMP has no ports: 0 is used, 118 -> rs2.
  FlowKey icmp = tcp_from(client(1), 1);
  icmp.proto = Proto::Icmp;
  EXPECT_EQ(with_port.peek(icmp), 2);

  FlowService without("sh");
  without.add(1).add(2).add(3);
  EXPECT_EQ(without.peek(tcp_from(client(1), 1)), 2);
  EXPECT_EQ(without.peek(tcp_from(client(1), 3)), 2);
}

TEST(Sh, DeletingAServerMovesKeysOfOthersToo) {
  // List rs3, rs1 after the delete, a round of 2: 207 % 2 = 1 -> rs1, though the client was on
  // rs3 (207 % 3 = 0), which is still there; 230 % 3 = 2 was rs1, now 230 % 2 = 0 -> rs3.
  FlowService svc("sh");
  svc.add(1).add(2).add(3);
  EXPECT_EQ(svc.peek(tcp_from(client(15))), 3);
  EXPECT_EQ(svc.peek(tcp_from(client(10))), 1);
  svc.remove(2);
  EXPECT_EQ(svc.peek(tcp_from(client(15))), 1);
  EXPECT_EQ(svc.peek(tcp_from(client(10))), 3);
}

TEST(Sh, EmptyServicePicksNothing) {
  FlowService svc("sh", {"sh-fallback"});
  EXPECT_EQ(svc.pick(tcp_from(client(1))), 0);
}

}  // namespace
}  // namespace vsd::sched_test
