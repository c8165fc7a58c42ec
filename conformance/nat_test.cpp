// LVS-NAT on the wire (spec section 2, "NAT / masquerading", and section 12): the director
// rewrites VIP:vport to RIP:rport towards the real server and back on the replies, takes one
// off the TTL each way and keeps every other field; what belongs to no connection is answered
// by the director itself (section 3).
#include <gtest/gtest.h>

#include "mode_bed.h"
#include "port/fragments.h"

namespace vslab::conformance {
namespace {

using expect::Field;
using expect::FrameExpectation;

// topologies/nat.toml: VIP 10.20.0.100, real servers 192.168.10.11-13 behind director eth1.
const char* kRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n"
    "-A -u 10.20.0.100:53 -s rr\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.11:5353 -m -w 1\n";

class NatMode : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (IsSkipped()) return;
    start("nat", kRules);
    director_int_mac_ = bed_->mac("director", "eth1");
  }

  Tins::EthernetII syn(uint16_t cport, uint32_t seq = 1000) {
    return bed_->client_frame().tcp(cport, 80).flags(frames::SYN).seq(seq).window(64240).pdu();
  }

  // What the real server receives for a frame the client sent: two hops (router, director),
  // so TTL - 2; DNAT to RIP:rport; MACs of the director's inner port and the server.
  FrameExpectation at_real_server(const Tins::EthernetII& sent, int rs, uint16_t rport) {
    return bed_->nat_at_real_server(sent, rs, rport);
  }

  std::string director_int_mac_;
};

#define EXPECT_OK(check)             \
  do {                               \
    auto r_ = (check);               \
    EXPECT_TRUE(r_.ok) << r_.report; \
  } while (0)

TEST_F(NatMode, SynIsRewrittenToTheRealServerRrPicksTheNewestFirst) {
  auto s = syn(40000);
  bed_->client().port->send(s);
  // rr starts at the head of the list, and the last one added is the head (spec 4, 6).
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(3).port, at_real_server(s, 3, 8080)));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(NatMode, ReplyIsRewrittenBackToTheVip) {
  auto s = syn(40001);
  bed_->client().port->send(s);
  ASSERT_TRUE(bed_->checker().expect_frame(*bed_->rs(3).port, at_real_server(s, 3, 8080)).ok);

  Tins::TCP synack(40001, 8080);
  synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
  synack.seq(5000);
  synack.ack_seq(1001);
  Tins::IP ip(bed_->client().ip, bed_->rs(3).ip);
  ip.ttl(64);
  ip.id(0x777);
  auto reply = Tins::EthernetII(director_int_mac_, bed_->rs(3).mac) / ip / synack;
  bed_->rs(3).port->send(reply);

  FrameExpectation want(reply);
  want.eth_src(bed_->client_gateway_mac())
      .eth_dst(bed_->client().mac)
      .ip_src(bed_->vip())
      .ttl(62)
      .sport(80);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
}

TEST_F(NatMode, UdpIsRewrittenBothWays) {
  auto dgram = bed_->from_client(Tins::UDP(53, 41000) / Tins::RawPDU("query"));
  bed_->client().port->send(dgram);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(1).port, at_real_server(dgram, 1, 5353)));

  Tins::IP ip(bed_->client().ip, bed_->rs(1).ip);
  ip.ttl(64);
  auto answer = Tins::EthernetII(director_int_mac_, bed_->rs(1).mac) / ip / Tins::UDP(41000, 5353) /
                Tins::RawPDU("answer");
  bed_->rs(1).port->send(answer);
  FrameExpectation want(answer);
  want.eth_src(bed_->client_gateway_mac())
      .eth_dst(bed_->client().mac)
      .ip_src(bed_->vip())
      .ttl(62)
      .sport(53);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
}

TEST_F(NatMode, SuccessiveConnectionsFollowRoundRobin) {
  // rs3, rs2, rs1 in list order: rr walks it from the head (spec 6).
  for (int i = 0; i < 3; ++i) {
    auto s = syn(static_cast<uint16_t>(42000 + i));
    bed_->client().port->send(s);
    int rs = 3 - i;
    EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(rs).port, at_real_server(s, rs, 8080)));
  }
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(NatMode, EchoToTheVipIsAnsweredByTheDirector) {
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x1234);
  echo.sequence(7);
  bed_->client().port->send(bed_->from_client(echo / Tins::RawPDU("ping")));

  // Section 3: the director answers from the VIP (TTL 64), the router takes one off.
  Tins::ICMP reply(Tins::ICMP::ECHO_REPLY);
  reply.id(0x1234);
  reply.sequence(7);
  Tins::IP ip(bed_->client().ip, bed_->vip());
  ip.ttl(63);
  FrameExpectation want(Tins::EthernetII(bed_->client().mac, bed_->client_gateway_mac()) / ip /
                        reply / Tins::RawPDU("ping"));
  want.ignore(Field::IpId).ignore(Field::IpDf);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(NatMode, AckForAnUnknownFlowGetsRstFromTheVip) {
  Tins::TCP ack(80, 43000);
  ack.flags(Tins::TCP::ACK);
  ack.seq(777);
  ack.ack_seq(999);
  bed_->client().port->send(bed_->from_client(ack));

  // Section 3: RST from VIP:vport, seq = the segment's ack, TTL 64, DF, ID 0; router -1.
  Tins::TCP rst(43000, 80);
  rst.flags(Tins::TCP::RST);
  rst.seq(999);
  rst.window(0);
  FrameExpectation want(bed_->vip_stack_segment_at_client(rst));
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(NatMode, ListingShowsTheRulesAsIpvsadmDoes) {
  auto listing = bed_->admin({"-L", "-n"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("TCP  10.20.0.100:80 rr\n"), std::string::npos) << listing.output;
  EXPECT_NE(listing.output.find(
                "  -> 192.168.10.13:8080           Masq    1      0          0         \n"),
            std::string::npos)
      << listing.output;
}

TEST_F(NatMode, AFragmentedDatagramIsReassembledRewrittenAndFragmentedAgain) {
  // Spec 3: reassembled before scheduling; sent on fragmented again at the size of the
  // largest fragment received (1500 here), same IP ID, ports rewritten in the first
  // fragment, TTL - 1 on each (and the router's - 1 before).
  auto dgram = bed_->from_client(Tins::UDP(53, 41001) / Tins::RawPDU(std::string(2000, 'f')));
  dgram.rfind_pdu<Tins::IP>().flags(Tins::IP::Flags(0));
  for (const auto& piece : port::fragments_of(dgram, 1500)) bed_->client().port->send(piece);

  auto rewritten = dgram;
  rewritten.dst_addr(bed_->rs(1).mac);
  rewritten.src_addr(director_int_mac_);
  rewritten.rfind_pdu<Tins::IP>().dst_addr(bed_->rs(1).ip);
  rewritten.rfind_pdu<Tins::IP>().ttl(62);
  rewritten.rfind_pdu<Tins::UDP>().dport(5353);
  auto want = port::fragments_of(rewritten, 1500);
  ASSERT_EQ(want.size(), 2u);
  for (const auto& piece : want)
    EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(1).port, FrameExpectation(piece)));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

}  // namespace
}  // namespace vslab::conformance
