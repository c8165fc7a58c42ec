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

// The handshake through the director, shared by the tests: each step checked field by field.
class FullnatTest : public ModeTest {
 protected:
  // Sends the client's `syn` (to VIP:80 from port 40000) and expects it at rs`rs` from
  // LIP:lport; returns the lport the director chose.
  uint16_t syn_reaches(int rs, const Tins::TCP& syn) {
    auto s = bed_->from_client(syn);
    bed_->client().port->send(s);
    FrameExpectation want(s);
    want.eth_src(bed_->mac("director", "eth1"))
        .eth_dst(bed_->rs(rs).mac)
        .ip_src(kLip)
        .ip_dst(bed_->rs(rs).ip)
        .ttl(62)
        .dport(8080)
        .in_range(Field::SrcPort, 1024, 65535);
    auto r = bed_->checker().expect_frame(*bed_->rs(rs).port, want);
    EXPECT_TRUE(r.ok) << r.report;
    uint16_t lport = 0;
    for (const auto& f : bed_->rs(rs).port->captured())
      if (f.claimed)
        lport = Tins::EthernetII(f.bytes.data(), f.bytes.size()).rfind_pdu<Tins::TCP>().sport();
    return lport;
  }

  // rs`rs` answers LIP:lport with SYN-ACK seq 5000; the client receives it from VIP:80.
  bool synack_reaches_client(int rs, uint16_t lport) {
    Tins::TCP synack(lport, 8080);
    synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
    synack.seq(5000);
    synack.ack_seq(1001);
    Tins::IP ip(kLip, bed_->rs(rs).ip);
    ip.ttl(64);
    auto reply = Tins::EthernetII(bed_->mac("director", "eth1"), bed_->rs(rs).mac) / ip / synack;
    bed_->rs(rs).port->send(reply);
    FrameExpectation back(reply);
    back.eth_src(bed_->client_gateway_mac())
        .eth_dst(bed_->client().mac)
        .ip_src(bed_->vip())
        .ip_dst(bed_->client().ip)
        .ttl(62)
        .sport(80)
        .dport(40000);
    auto r = bed_->checker().expect_frame(*bed_->client().port, back);
    EXPECT_TRUE(r.ok) << r.report;
    return r.ok;
  }

  static Tins::TCP client_syn() {
    Tins::TCP syn(80, 40000);
    syn.flags(Tins::TCP::SYN);
    syn.seq(1000);
    return syn;
  }
};

class FullnatMode : public FullnatTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (!IsSkipped()) start("fullnat", kRules);
  }
};

TEST_F(FullnatMode, BothAddressesAreRewrittenAndTheReplyMapsBack) {
  // rr over rs1..rs3 added in that order scans rs3 first (spec 4).
  uint16_t lport = syn_reaches(3, client_syn());
  ASSERT_NE(lport, 0);
  synack_reaches_client(3, lport);
}

// TOA (spec section 2 FULLNAT, [dpvs, unverified]): with the service's --toa, the client's
// handshake ACK reaches the real server carrying kind 254, length 8, the client's port then
// address, before its own options; the SYN and later segments carry none.
class FullnatToa : public FullnatTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (!IsSkipped())
      start("fullnat",
            "-A -t 10.60.0.100:80 -s rr --toa\n"
            "-a -t 10.60.0.100:80 -r 192.168.60.11:8080 -b\n"
            "--add-laddr -z 192.168.60.200 -t 10.60.0.100:80\n");
  }

  // What rs1 receives for the client's `sent` segment: both ends rewritten, two hops.
  FrameExpectation at_rs1(const Tins::EthernetII& sent, uint16_t lport) {
    FrameExpectation want(sent);
    want.eth_src(bed_->mac("director", "eth1"))
        .eth_dst(bed_->rs(1).mac)
        .ip_src(kLip)
        .ip_dst(bed_->rs(1).ip)
        .ttl(62)
        .sport(lport)
        .dport(8080);
    return want;
  }
};

TEST_F(FullnatToa, TheHandshakeAckCarriesTheClientAddressAndNothingElseDoes) {
  auto syn = client_syn();
  syn.mss(1460);
  uint16_t lport = syn_reaches(1, syn);  // the SYN's options as sent: MSS only
  ASSERT_NE(lport, 0);
  ASSERT_TRUE(synack_reaches_client(1, lport));

  Tins::TCP ack(80, 40000);
  ack.flags(Tins::TCP::ACK);
  ack.seq(1001);
  ack.ack_seq(5001);
  auto a = bed_->from_client(ack);
  bed_->client().port->send(a);
  auto want_ack = at_rs1(a, lport);
  // 40000 = 0x9c40, 10.10.0.2 = 0a0a0002; 8 more bytes of IP, checksums valid (the default).
  want_ack.expect_text(Field::TcpOptions, "fe089c400a0a0002").expect_text(Field::IpLength, "48");
  auto r = bed_->checker().expect_frame(*bed_->rs(1).port, want_ack);
  EXPECT_TRUE(r.ok) << r.report;

  Tins::TCP data(80, 40000);
  data.flags(Tins::TCP::PSH | Tins::TCP::ACK);
  data.seq(1001);
  data.ack_seq(5001);
  auto d = bed_->from_client(data / Tins::RawPDU("GET / HTTP/1.0\r\n\r\n"));
  bed_->client().port->send(d);
  auto r2 = bed_->checker().expect_frame(*bed_->rs(1).port, at_rs1(d, lport));
  EXPECT_TRUE(r2.ok) << r2.report;
}

}  // namespace
}  // namespace vslab::conformance
