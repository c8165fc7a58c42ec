// Firewall-mark services on the NAT topology (spec 4 "-f MARK", spec 7 persistence, spec 3 for
// what no service takes): one mark for TCP 10.20.0.100 ports 80-81, persistent, real servers
// given with port 0.
//
// How packets get the mark is the DUT's business: kernel IPVS takes it from netfilter
// (`iptables -t mangle -A PREROUTING -p tcp -d 10.20.0.100/32 --dport 80:81 -j MARK
// --set-mark 1` in the director's namespace); the built-in director has its own classifier,
// set with `vsadm --add-mark`. mark_tcp_80_81() is the one place that knows.
#include <gtest/gtest.h>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::Field;
using expect::FrameExpectation;

// topologies/nat.toml: VIP 10.20.0.100 behind the router, real servers 192.168.10.11-13.
// rs1 then rs2 are added, so rs2 is the head of the list and rr's first pick (spec 4, 6).
const char* kRules =
    "-A -f 1 -s rr -p 360\n"
    "-a -f 1 -r 192.168.10.11:0 -m -w 1\n"
    "-a -f 1 -r 192.168.10.12:0 -m -w 1\n";

#define EXPECT_OK(check)             \
  do {                               \
    auto r_ = (check);               \
    EXPECT_TRUE(r_.ok) << r_.report; \
  } while (0)

class FwmarkNat : public ModeTest {
 protected:
  void start_with(const std::string& rules) {
    start("nat", rules);
    mark_tcp_80_81();
    director_int_mac_ = bed_->mac("director", "eth1");
  }

  void mark_tcp_80_81() {
    auto r = bed_->admin({"--add-mark", "-f", "1", "--proto", "tcp", "--dest", "10.20.0.100/32",
                          "--dport", "80:81"});
    ASSERT_TRUE(r.ok()) << r.output;
  }

  Tins::EthernetII syn(uint16_t vport, uint16_t cport, const std::string& client = "") {
    auto frame = bed_->client_frame();
    if (!client.empty()) frame.ip_src(client);
    return frame.tcp(cport, vport).flags(frames::SYN).seq(1000).window(64240).pdu();
  }

  // NAT towards real server rs (spec 2): two hops (router, director), so TTL - 2; the
  // destination address becomes the RIP, and the port is `rport`.
  FrameExpectation at_real_server(const Tins::EthernetII& sent, int rs, uint16_t rport) {
    return bed_->nat_at_real_server(sent, rs, rport);
  }

  std::string director_int_mac_;
};

TEST_F(FwmarkNat, PersistenceSendsBothPortsOfTheMarkToOneRealServer) {
  start_with(kRules);
  // Spec 7: one template per client for the whole mark, whichever port opened it; rr alone
  // would alternate rs2, rs1.
  auto to_80 = syn(80, 40000);
  bed_->client().port->send(to_80);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(to_80, 2, 80)));
  auto to_81 = syn(81, 40001);
  bed_->client().port->send(to_81);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(to_81, 2, 81)));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(FwmarkNat, AnotherClientIsScheduledOnItsOwn) {
  start_with(kRules);
  auto first = syn(81, 40000);
  bed_->client().port->send(first);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(first, 2, 81)));
  // Another address behind the router: no template yet, so rr moves on to rs1 (spec 7).
  auto other = syn(80, 40000, "10.10.0.3");
  bed_->client().port->send(other);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(1).port, at_real_server(other, 1, 80)));
}

TEST_F(FwmarkNat, ARealServerGivenPortZeroReceivesTheOriginalPort) {
  // Without persistence, so that only the destination's port 0 decides (spec 4).
  start_with(
      "-A -f 1 -s rr\n"
      "-a -f 1 -r 192.168.10.13:0 -m -w 1\n");
  for (uint16_t vport : {81, 80}) {
    auto s = syn(vport, static_cast<uint16_t>(41000 + vport));
    bed_->client().port->send(s);
    EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(3).port, at_real_server(s, 3, vport)));
  }
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(FwmarkNat, WithoutPersistenceARealServersOwnPortIsUsed) {
  // NAT rewrites VIP:vport to RIP:rport (spec 2); only rport 0 keeps the port (spec 4).
  start_with(
      "-A -f 1 -s rr\n"
      "-a -f 1 -r 192.168.10.13:8080 -m -w 1\n");
  auto s = syn(81, 40006);
  bed_->client().port->send(s);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(3).port, at_real_server(s, 3, 8080)));
}

TEST_F(FwmarkNat, WithPersistenceThePacketsPortIsKeptWhateverTheRealServersPort) {
  // [src: ip_vs_core.c ip_vs_sched_persist] the connection takes the destination's port only
  // when the packet's port is the service's, and a fwmark service's port is 0: so a persistent
  // fwmark service forwards to the port the client asked for.
  start_with(
      "-A -f 1 -s rr -p 360\n"
      "-a -f 1 -r 192.168.10.13:8080 -m -w 1\n");
  auto s = syn(81, 40007);
  bed_->client().port->send(s);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(3).port, at_real_server(s, 3, 81)));
}

TEST_F(FwmarkNat, APortOutsideTheMarkedRangeGetsRstLikeAPortWithoutService) {
  start_with(kRules);
  auto s = syn(82, 40002);
  bed_->client().port->send(s);
  // Spec 3, a SYN to a VIP port with no service: RST+ACK from VIP:vport, seq 0, ack = the
  // SYN's seq + 1, TTL 64 (63 after the router), DF, ID 0.
  Tins::TCP rst(40002, 82);
  rst.flags(Tins::TCP::RST | Tins::TCP::ACK);
  rst.seq(0);
  rst.ack_seq(1001);
  rst.window(0);
  FrameExpectation want(bed_->vip_stack_segment_at_client(rst));
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(FwmarkNat, UdpToAMarkedTcpPortGetsPortUnreachableLikeAPortWithoutService) {
  start_with(kRules);
  auto dgram = bed_->from_client(Tins::UDP(80, 41000) / Tins::RawPDU("query"));
  bed_->client().port->send(dgram);
  // Spec 3: ICMP port unreachable from the VIP, TOS 0xc0, TTL 64 (63 after the router),
  // quoting the datagram as the director received it (TTL already one less).
  Tins::IP quoted = dgram.rfind_pdu<Tins::IP>();
  quoted.ttl(63);
  const auto quoted_bytes = quoted.serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  Tins::IP ip(bed_->client().ip, bed_->vip());
  ip.ttl(63);
  ip.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed_->client().mac, bed_->client_gateway_mac()) / ip /
                        unreachable /
                        Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.ignore(Field::IpId).ignore(Field::IpDf);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(FwmarkNat, AMarkedPacketGoesToTheMarkServiceBeforeAnAddressService) {
  // ip_vs_service_find looks the mark up first and the address only without a match [src:
  // ip_vs_ctl.c].
  start_with(std::string(kRules) +
             "-A -t 10.20.0.100:80 -s rr\n"
             "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  auto s = syn(80, 40003);
  bed_->client().port->send(s);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(s, 2, 80)));
  EXPECT_OK(bed_->checker().expect_no_other_frames(bed_->rs_ports()));
}

TEST_F(FwmarkNat, RepliesComeBackFromTheVipAndTheOriginalPort) {
  start_with(kRules);
  auto s = syn(81, 40004);
  bed_->client().port->send(s);
  ASSERT_TRUE(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(s, 2, 81)).ok);

  Tins::TCP synack(40004, 81);
  synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
  synack.seq(5000);
  synack.ack_seq(1001);
  Tins::IP ip(bed_->client().ip, bed_->rs(2).ip);
  ip.ttl(64);
  auto reply = Tins::EthernetII(director_int_mac_, bed_->rs(2).mac) / ip / synack;
  bed_->rs(2).port->send(reply);
  // Spec 2, NAT server to client: source RIP -> VIP, port unchanged here (rport = vport 81).
  FrameExpectation want(reply);
  want.eth_src(bed_->client_gateway_mac()).eth_dst(bed_->client().mac).ip_src(bed_->vip()).ttl(62);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->client().port, want));
}

TEST_F(FwmarkNat, ListingsShowTheMarkServiceAndItsTemplate) {
  start_with(kRules);
  auto s = syn(80, 40005);
  bed_->client().port->send(s);
  ASSERT_TRUE(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(s, 2, 80)).ok);

  // Spec 9's layout: "FWM  MARK sched flags", destinations "  -> %-28s %-7s %-6d %-10d %-10d".
  auto listing = bed_->admin({"-L", "-n"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("FWM  1 rr persistent 360\n"
                                "  -> 192.168.10.11:0              Masq    1      0          0  "
                                "       \n"
                                "  -> 192.168.10.12:0              Masq    1      1          0  "
                                "       \n"),
            std::string::npos)
      << listing.output;

  // Spec 7 and the kernel's key for a fwmark template (ip_vs_sched_persist): protocol
  // IPPROTO_IP, which /proc and so ipvsadm name "IP" (ip_vs_proto_name), the mark in place of
  // the VIP, and port 0 on every side since the packet's port is not the service's.
  auto conns = bed_->admin({"-L", "-n", "-c"});
  ASSERT_TRUE(conns.ok()) << conns.output;
  EXPECT_NE(conns.output.find("NONE        10.10.0.2:0        0.0.0.1:0          192.168.10.12:0"),
            std::string::npos)
      << conns.output;
  EXPECT_NE(conns.output.find("\nIP  "), std::string::npos) << conns.output;
  EXPECT_NE(conns.output.find("SYN_RECV    10.10.0.2:40005    10.20.0.100:80     "
                              "192.168.10.12:80"),
            std::string::npos)
      << conns.output;

  // -S stays what ipvsadm -S prints, so ipvsadm -R can load it (spec 9).
  auto saved = bed_->admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output,
            "-A -f 1 -s rr -p 360\n"
            "-a -f 1 -r 192.168.10.11:0 -m -w 1\n"
            "-a -f 1 -r 192.168.10.12:0 -m -w 1\n");
}

// The built-in director's saved form (director/README.md): -S --marks appends the classifier
// as --add-mark lines, and feeding that back after -C gives the same rules, byte for byte.
TEST_F(FwmarkNat, SaveWithMarksRestoresExactlyAfterClear) {
  start_with(kRules);
  auto saved = bed_->admin({"-S", "-n", "--marks"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output, std::string(kRules) +
                              "--add-mark -f 1 --proto tcp --dest 10.20.0.100/32 --dport 80:81\n");
  ASSERT_TRUE(bed_->admin({"-C"}).ok());
  EXPECT_EQ(bed_->admin({"-S", "-n", "--marks"}).output, "");
  bed_->restore(saved.output);
  EXPECT_EQ(bed_->admin({"-S", "-n", "--marks"}).output, saved.output);
  // And the restored classifier marks again: port 81 reaches the mark service.
  auto s = syn(81, 40008);
  bed_->client().port->send(s);
  EXPECT_OK(bed_->checker().expect_frame(*bed_->rs(2).port, at_real_server(s, 2, 81)));
}

}  // namespace
}  // namespace vslab::conformance
