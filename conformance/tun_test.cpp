// LVS-TUN on the wire (spec section 2, "TUN / IP-in-IP", and section 12): the packet, TTL
// already decremented, travels inside a new IPv4 header from the DIP to the RIP, whose TTL,
// TOS and DF come from the inner header; one too big for the tunnel with DF set is answered
// with fragmentation needed, next-hop MTU = egress MTU - 20.
#include <gtest/gtest.h>

#include <algorithm>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::Field;
using expect::FrameExpectation;

// topologies/tun.toml: VIP 10.40.0.100 and DIP 10.40.0.2 behind the router's eth1; the real
// servers 10.50.0.11-13 behind its eth2.
const char* kRules =
    "-A -t 10.40.0.100:80 -s rr\n"
    "-a -t 10.40.0.100:80 -r 10.50.0.11:80 -i -w 1\n"
    "-a -t 10.40.0.100:80 -r 10.50.0.12:80 -i -w 1\n"
    "-a -t 10.40.0.100:80 -r 10.50.0.13:80 -i -w 1\n";
const char* kDip = "10.40.0.2";

class TunMode : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (!IsSkipped()) start("tun", kRules);
  }
};

TEST_F(TunMode, SynIsEncapsulatedFromTheDipToTheRealServer) {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  auto s = bed_->from_client(syn);
  auto& sent_ip = s.rfind_pdu<Tins::IP>();
  sent_ip.tos(0x10);
  bed_->client().port->send(s);

  // Inner: as sent, TTL 64 - router - director = 62. Outer: DIP -> RIP, TTL = inner TTL, then
  // the router between the director and the real servers takes one off: 61. DF copied from
  // the inner header, and with DF the outer ID is 0. TOS copied.
  Tins::IP inner = sent_ip;
  inner.ttl(62);
  Tins::IP outer(bed_->rs(3).ip, kDip);
  outer.ttl(61);
  outer.id(0);
  outer.tos(0x10);
  outer.flags(Tins::IP::DONT_FRAGMENT);
  outer.protocol(4);
  FrameExpectation want(Tins::EthernetII(bed_->rs(3).mac, bed_->mac("router", "eth2")) / outer /
                        inner);
  auto r = bed_->checker().expect_frame(*bed_->rs(3).port, want);
  EXPECT_TRUE(r.ok) << r.report;
  auto others = bed_->checker().expect_no_other_frames(bed_->rs_ports());
  EXPECT_TRUE(others.ok) << others.report;
}

TEST_F(TunMode, TooBigWithDfGetsFragmentationNeededWithMtu1480) {
  Tins::TCP syn(80, 40001);
  syn.flags(Tins::TCP::SYN);
  // 1500 bytes of IP: fits the 1500-byte links to the director, not the tunnel (+20).
  auto s = bed_->from_client(syn / Tins::RawPDU(std::string(1500 - 20 - 20, 'x')));
  bed_->client().port->send(s);

  // Spec section 2: from the VIP, TOS 0xc0, next-hop MTU 1500 - 20, quoting the packet with
  // its TTL decremented (64 - router - director = 62); the router takes one off the reply.
  Tins::IP quoted = s.rfind_pdu<Tins::IP>();
  quoted.ttl(62);
  auto quoted_bytes = Tins::IP(quoted).serialize();
  Tins::ICMP frag_needed(Tins::ICMP::DEST_UNREACHABLE);
  frag_needed.code(4);
  frag_needed.mtu(1480);
  Tins::IP ip(bed_->client().ip, bed_->vip());
  ip.ttl(63);
  ip.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed_->client().mac, bed_->client_gateway_mac()) / ip /
                        frag_needed / Tins::RawPDU(quoted_bytes.data(), uint32_t(20 + 8)));
  // How much of the packet is quoted is the kernel's choice (icmp_send); the quoted header
  // fields are checked one by one.
  want.ignore(Field::IpId).ignore(Field::IpDf).ignore(Field::IpLength).ignore(Field::Payload);
  auto r = bed_->checker().expect_frame(*bed_->client().port, want);
  EXPECT_TRUE(r.ok) << r.report;
  auto others = bed_->checker().expect_no_other_frames(bed_->rs_ports());
  EXPECT_TRUE(others.ok) << others.report;
}

// Sends a SYN through the tunnel, then `error` (an ICMP message about the tunnelled packet,
// quoting it whole: 20 + 40 bytes) from rs3 to the DIP through its router, and checks that the
// client gets `expected` about the inner packet (spec section 2, TUN): from the VIP, a fresh
// ICMP error of the director's (TTL 64, TOS 0xc0) less one at the router, quoting the inner
// packet as it was inside the tunnel (TTL 62).
void expect_icmp_about_inner(ModeBed& bed, uint16_t cport, const Tins::ICMP& error,
                             const Tins::ICMP& expected) {
  auto is_ipip = [](const std::vector<uint8_t>& b) {
    return b.size() > 14 + 20 && b[12] == 0x08 && b[13] == 0x00 && b[14 + 9] == 4;
  };
  Tins::TCP syn(80, cport);
  syn.flags(Tins::TCP::SYN);
  bed.client().port->send(bed.from_client(syn));
  auto& rs3 = *bed.rs(3).port;
  ASSERT_TRUE(rs3.wait_until(
      [&](auto& frames) {
        return std::any_of(frames.begin(), frames.end(), [&](auto& f) { return is_ipip(f.bytes); });
      },
      std::chrono::seconds(5)));
  std::vector<uint8_t> tunnelled;
  for (const auto& f : rs3.captured())
    if (is_ipip(f.bytes)) tunnelled = f.bytes;

  Tins::IP ip(kDip, bed.rs(3).ip);
  ip.ttl(64);
  rs3.send(Tins::EthernetII(bed.mac("router", "eth2"), bed.rs(3).mac) / ip / error /
           Tins::RawPDU(tunnelled.data() + 14, uint32_t(tunnelled.size() - 14)));

  std::vector<uint8_t> inner(tunnelled.begin() + 14 + 20, tunnelled.end());
  Tins::IP back(bed.client().ip, bed.vip());
  back.ttl(63);
  back.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / back /
                        expected / Tins::RawPDU(inner.data(), uint32_t(inner.size())));
  want.ignore(Field::IpId).ignore(Field::IpDf);
  auto r = bed.checker().expect_frame(*bed.client().port, want);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST_F(TunMode, ProtocolUnreachableAboutTheTunnelReachesTheClientAboutTheInnerPacket) {
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(2);  // protocol 4 unreachable: a real server without IPIP
  expect_icmp_about_inner(*bed_, 40002, unreachable, unreachable);
}

TEST_F(TunMode, FragNeededAboutTheTunnelReachesTheClientWithTheMtuLessTwenty) {
  Tins::ICMP too_big(Tins::ICMP::DEST_UNREACHABLE);
  too_big.code(4);
  too_big.mtu(1400);  // a hop between the director and the real server
  Tins::ICMP expected(Tins::ICMP::DEST_UNREACHABLE);
  expected.code(4);
  expected.mtu(1380);
  expect_icmp_about_inner(*bed_, 40003, too_big, expected);
}

}  // namespace
}  // namespace vslab::conformance
