// FULLNAT on the wire (spec section 2, "FULLNAT", and section 12): towards the real server
// both ends change, CIP:cport -> LIP:lport and VIP:vport -> RIP:rport; the reply to LIP:lport
// leaves as VIP:vport -> CIP:cport. TTL and checksums as NAT.
#include <gtest/gtest.h>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::Field;
using expect::FrameExpectation;

// topologies/fullnat.toml: VIP 10.60.0.100, real servers 192.168.60.11-13, LIP pool
// 192.168.60.200 (one address, so the test knows which one is used).
const char* kRules =
    "-A -t 10.60.0.100:80 -s rr\n"
    "-a -t 10.60.0.100:80 -r 192.168.60.11:8080 -b -w 1\n"
    "-a -t 10.60.0.100:80 -r 192.168.60.12:8080 -b -w 1\n"
    "-a -t 10.60.0.100:80 -r 192.168.60.13:8080 -b -w 1\n"
    "--add-laddr -z 192.168.60.200 -t 10.60.0.100:80\n";
const char* kLip = "192.168.60.200";

class FullnatMode : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (!IsSkipped()) start("fullnat", kRules);
  }
};

TEST_F(FullnatMode, BothAddressesAreRewrittenAndTheReplyMapsBack) {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  auto s = bed_->from_client(syn);
  bed_->client().port->send(s);

  FrameExpectation want(s);
  want.eth_src(bed_->mac("director", "eth1"))
      .eth_dst(bed_->rs(3).mac)
      .ip_src(kLip)
      .ip_dst(bed_->rs(3).ip)
      .ttl(62)
      .dport(8080)
      .in_range(Field::SrcPort, 1024, 65535);
  auto r = bed_->checker().expect_frame(*bed_->rs(3).port, want);
  ASSERT_TRUE(r.ok) << r.report;

  // The local port the director chose, from the frame that arrived.
  uint16_t lport = 0;
  for (const auto& f : bed_->rs(3).port->captured())
    if (f.claimed)
      lport = Tins::EthernetII(f.bytes.data(), f.bytes.size()).rfind_pdu<Tins::TCP>().sport();
  ASSERT_NE(lport, 0);

  Tins::TCP synack(lport, 8080);
  synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
  synack.seq(5000);
  synack.ack_seq(1001);
  Tins::IP ip(kLip, bed_->rs(3).ip);
  ip.ttl(64);
  auto reply = Tins::EthernetII(bed_->mac("director", "eth1"), bed_->rs(3).mac) / ip / synack;
  bed_->rs(3).port->send(reply);

  FrameExpectation back(reply);
  back.eth_src(bed_->client_gateway_mac())
      .eth_dst(bed_->client().mac)
      .ip_src(bed_->vip())
      .ip_dst(bed_->client().ip)
      .ttl(62)
      .sport(80)
      .dport(40000);
  auto r2 = bed_->checker().expect_frame(*bed_->client().port, back);
  EXPECT_TRUE(r2.ok) << r2.report;
}

}  // namespace
}  // namespace vslab::conformance
