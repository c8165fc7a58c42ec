// LVS-DR on the wire (spec section 2, "DR", and section 12): only the Ethernet header changes
// (the real server's MAC, the director's as source) and the TTL goes down by one; the VIP
// stays the destination and the port stays the service port.
#include <gtest/gtest.h>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::FrameExpectation;

// topologies/dr.toml: VIP 10.30.0.100; director and rs1..rs3 (10.30.0.11-13) on one segment.
const char* kRules =
    "-A -t 10.30.0.100:80 -s rr\n"
    "-a -t 10.30.0.100:80 -r 10.30.0.11:80 -g -w 1\n"
    "-a -t 10.30.0.100:80 -r 10.30.0.12:80 -g -w 1\n"
    "-a -t 10.30.0.100:80 -r 10.30.0.13:80 -g -w 1\n";

class DrMode : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (!IsSkipped()) start("dr", kRules);
  }
};

TEST_F(DrMode, OnlyTheMacsAndTheTtlChange) {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  auto s = bed_->from_client(syn);
  bed_->client().port->send(s);

  FrameExpectation want(s);
  want.eth_src(bed_->mac("director", "eth0")).eth_dst(bed_->rs(3).mac).ttl(62);
  auto r = bed_->checker().expect_frame(*bed_->rs(3).port, want);
  EXPECT_TRUE(r.ok) << r.report;
  auto others = bed_->checker().expect_no_other_frames(bed_->rs_ports());
  EXPECT_TRUE(others.ok) << others.report;
}

TEST_F(DrMode, LaterSegmentsOfTheConnectionGoToTheSameServer) {
  Tins::TCP syn(80, 40001);
  syn.flags(Tins::TCP::SYN);
  bed_->client().port->send(bed_->from_client(syn));
  Tins::TCP ack(80, 40001);
  ack.flags(Tins::TCP::ACK);
  ack.seq(1);
  ack.ack_seq(1);
  auto a = bed_->from_client(ack / Tins::RawPDU("GET / HTTP/1.0\r\n\r\n"));
  bed_->client().port->send(a);

  FrameExpectation want(a);
  want.eth_src(bed_->mac("director", "eth0")).eth_dst(bed_->rs(3).mac).ttl(62);
  auto r = bed_->checker().expect_frame(*bed_->rs(3).port, want);
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace
}  // namespace vslab::conformance
