// The SIP persistence engine (--pe sip, the kernel's ip_vs_pe_sip; docs/ipvs.md section 7,
// "The SIP persistence engine") on the NAT topology, against the DUT VSLAB_DUT names (builtin
// when unset; ctest also runs it against qemu-kernel, label qemu). Expectations come from
// the kernel's rules as docs/ipvs.md gives them:
// - a persistent UDP service's template is keyed by the client's address under -M, the
//   service, and the datagram's Call-ID: the same call from another client port or another
//   client address of the same -M network goes where the call went first;
// - another call is scheduled on its own (rr moves on);
// - under the default mask, the same Call-ID from another client address is another template;
// - a datagram with no Call-ID is dropped, and the scheduler does not move;
// - TCP is dropped, silently;
// - without -p the engine changes nothing;
// - a real server's own first datagram to a client makes the connection (and template) the
//   client's answers then follow (the engine's conn_out);
// - -L lists "pe sip" (only with -p), -S "--pe sip", -L -c --persistent-conn ends the
//   template's line with "sip" and the Call-ID.
// Each case has a service of its own (a port of its own), so one bed serves them all: a
// qemu-kernel guest boots once.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::FrameExpectation;

// topologies/nat.toml: VIP 10.20.0.100, clients behind the router, real servers
// 192.168.10.11-13 added as rs1, rs2, rs3, so rr's order is rs3, rs2, rs1 (spec 6).
std::string service(uint16_t port, const std::string& persistence, uint16_t rport = 5060) {
  const std::string vs = "10.20.0.100:" + std::to_string(port);
  std::string rules = "-A -u " + vs + " -s rr " + persistence + " --pe sip\n";
  for (const char* rs : {"192.168.10.11", "192.168.10.12", "192.168.10.13"})
    rules += "-a -u " + vs + " -r " + rs + ":" + std::to_string(rport) + " -m\n";
  return rules;
}

constexpr uint16_t kSameCall = 5060;    // -M 255.255.255.0
constexpr uint16_t kPerAddress = 5061;  // default mask
constexpr uint16_t kNoCallId = 5062;    // -M 255.255.255.0
constexpr uint16_t kListing = 5063;
constexpr uint16_t kTcp = 5064;            // TCP, -p 60
constexpr uint16_t kNotPersistent = 5065;  // -M 255.255.255.0
// -p 60 -M 255.255.255.0, real servers on a port no other service names: the destination a
// real server's own datagram comes from is then this service's alone.
constexpr uint16_t kConnOut = 5066;
constexpr uint16_t kConnOutServerPort = 5070;

std::string invite(const std::string& call_id) {
  return "INVITE sip:bob@10.20.0.100 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.10.0.2:5060;branch=z9hG4bK776asdhds\r\n"
         "Max-Forwards: 70\r\n"
         "To: Bob <sip:bob@10.20.0.100>\r\n"
         "From: Alice <sip:alice@10.10.0.2>;tag=1928301774\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 314159 INVITE\r\n"
         "Content-Length: 0\r\n\r\n";
}

class PeSip : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!can_build_topologies()) return;
    try {
      bed_ = std::make_unique<ModeBed>("nat", "PeSip", true, dut_from_environment());
      bed_->restore(service(kSameCall, "-p 60 -M 255.255.255.0") + service(kPerAddress, "-p 60") +
                    service(kNoCallId, "-p 60 -M 255.255.255.0") +
                    service(kListing, "-p 60 -M 255.255.255.0") +
                    "-A -t 10.20.0.100:5064 -s rr -p 60 --pe sip\n"
                    "-a -t 10.20.0.100:5064 -r 192.168.10.11:5060 -m\n" +
                    service(kNotPersistent, "") +
                    service(kConnOut, "-p 60 -M 255.255.255.0", kConnOutServerPort));
    } catch (const dut::DutUnavailable& e) {
      unavailable_ = e.what();
      bed_.reset();
    } catch (const std::exception& e) {
      failed_ = e.what();
      bed_.reset();
    }
  }
  static void TearDownTestSuite() { bed_.reset(); }

  void SetUp() override {
    if (!can_build_topologies())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                      "namespaces";
    if (!unavailable_.empty()) GTEST_SKIP() << unavailable_;
    ASSERT_TRUE(bed_) << "the bed did not come up: " << failed_;
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    bed_->begin_case(std::string("PeSip.") + info->name());
  }
  void TearDown() override {
    if (HasFailure() && bed_) std::cerr << "DUT log:\n" << bed_->dut_log();
  }

  Tins::EthernetII datagram(const std::string& client, uint16_t cport, uint16_t vport,
                            const std::string& payload) {
    return bed_->client_frame().ip_src(client).udp(cport, vport).payload(payload).pdu();
  }

  // Sends the datagram and says which real server got it, NAT-rewritten field by field
  // (spec 2: TTL - 2, RIP:rport, the director's inner MAC); 0 when none did within a second.
  int served_by(const Tins::EthernetII& sent, uint16_t rport = 5060) {
    bed_->client().port->send(sent);
    return bed_->claiming_server([&](int rs) { return bed_->nat_at_real_server(sent, rs, rport); },
                                 std::chrono::seconds(1));
  }

  void expect_no_other_frames() {
    auto r = bed_->checker().expect_no_other_frames(bed_->rs_ports());
    EXPECT_TRUE(r.ok) << r.report;
  }

  static std::unique_ptr<ModeBed> bed_;
  static std::string unavailable_;
  static std::string failed_;
};

std::unique_ptr<ModeBed> PeSip::bed_;
std::string PeSip::unavailable_;
std::string PeSip::failed_;

TEST_F(PeSip, OneCallStaysOnOneServerFromAnyPortAndAddressOfTheMaskedNetwork) {
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5060, kSameCall, invite("call-a@10.10.0.2"))), 3);
  // Another client port: a new connection, scheduled through call A's template.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5070, kSameCall, invite("call-a@10.10.0.2"))), 3);
  // Another client address in the same /24: the same template.
  EXPECT_EQ(served_by(datagram("10.10.0.3", 5060, kSameCall, invite("call-a@10.10.0.2"))), 3);
  // Another call from the first client: a template of its own, and rr moves on.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5080, kSameCall, invite("call-b@10.10.0.2"))), 2);
  // Call B in the compact form and lower case, from yet another port: still call B.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5090, kSameCall,
                               "BYE sip:bob@10.20.0.100 SIP/2.0\r\ni: call-b@10.10.0.2\r\n\r\n")),
            2);
  EXPECT_EQ(served_by(datagram("10.10.0.3", 5100, kSameCall, invite("call-c@10.10.0.3"))), 1);
  expect_no_other_frames();
}

TEST_F(PeSip, TheClientsAddressStaysPartOfTheKey) {
  // ct_match compares the client's address (under -M) before the Call-ID.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5060, kPerAddress, invite("shared-call"))), 3);
  EXPECT_EQ(served_by(datagram("10.10.0.3", 5060, kPerAddress, invite("shared-call"))), 2);
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5070, kPerAddress, invite("shared-call"))), 3);
  expect_no_other_frames();
}

TEST_F(PeSip, ADatagramWithoutACallIdIsDroppedAndSchedulesNothing) {
  const std::string no_call_id =
      "OPTIONS sip:bob@10.20.0.100 SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5060, kNoCallId, no_call_id)), 0);
  // A value that is not a word followed by the line's end is no Call-ID either.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5061, kNoCallId, invite("two words"))), 0);
  // rr did not move: the first call still gets rs3.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5062, kNoCallId, invite("first-call"))), 3);
  expect_no_other_frames();
}

TEST_F(PeSip, TcpIsDroppedSilently) {
  auto syn = bed_->client_frame().tcp(40000, kTcp).flags(frames::SYN).pdu();
  bed_->client().port->send(syn);
  auto r = bed_->checker().expect_no_other_frames({bed_->client().port, bed_->rs(1).port});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST_F(PeSip, WithoutPersistenceTheEngineChangesNothing) {
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5060, kNotPersistent, invite("one-call"))), 3);
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5070, kNotPersistent, invite("one-call"))), 2);
  auto services = bed_->admin({"-L", "-n", "-u", "10.20.0.100:" + std::to_string(kNotPersistent)});
  ASSERT_TRUE(services.ok()) << services.output;
  // ipvsadm names the engine on -L only within the persistence part; -S saves it anyway, and
  // the kernel kept it (seen on Linux 6.1).
  EXPECT_NE(services.output.find("UDP  10.20.0.100:5065 rr\n"), std::string::npos)
      << services.output;
  auto saved = bed_->admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_NE(saved.output.find("-A -u 10.20.0.100:5065 -s rr --pe sip\n"), std::string::npos)
      << saved.output;
}

TEST_F(PeSip, ListingsNameTheEngineAndTheTemplatesCallId) {
  EXPECT_EQ(served_by(datagram("10.10.0.2", 5060, kListing, invite("listed-call@host"))), 3);
  auto services = bed_->admin({"-L", "-n", "-u", "10.20.0.100:" + std::to_string(kListing)});
  ASSERT_TRUE(services.ok()) << services.output;
  EXPECT_NE(services.output.find("UDP  10.20.0.100:5063 rr persistent 60 mask 255.255.255.0 "
                                 "pe sip\n"),
            std::string::npos)
      << services.output;
  auto conns = bed_->admin({"-L", "-n", "-c", "--persistent-conn"});
  ASSERT_TRUE(conns.ok()) << conns.output;
  // ipvsadm's print_conn: "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s"; the template's client
  // port is 0 and its address the client's under -M.
  EXPECT_NE(conns.output.find(" NONE        10.10.0.0:0        10.20.0.100:5063   "
                              "192.168.10.13:5060 sip                listed-call@host\n"),
            std::string::npos)
      << conns.output;
  // A connection's line has no engine columns, not even their blanks.
  EXPECT_NE(conns.output.find(" UDP         10.10.0.2:5060     10.20.0.100:5063   "
                              "192.168.10.13:5060\n"),
            std::string::npos)
      << conns.output;
  auto saved = bed_->admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_NE(saved.output.find("-A -u 10.20.0.100:5063 -s rr -p 60 -M 255.255.255.0 --pe sip\n"),
            std::string::npos)
      << saved.output;
}

TEST_F(PeSip, ARealServersOwnCallMakesItsConnectionAndTemplate) {
  // rs2 calls the client first, from RIP:5070 to CIP:40100. The engine's conn_out makes the
  // connection the datagram would be a reply of, and it leaves as one: VIP:5066 -> CIP:40100,
  // TTL less one at the director and one at the router.
  const std::string call = invite("server-call@192.168.10.12");
  Tins::IP ip("10.10.0.2", "192.168.10.12");
  ip.ttl(64);
  Tins::EthernetII first = Tins::EthernetII(bed_->mac("director", "eth1"), bed_->rs(2).mac) / ip /
                           Tins::UDP(40100, kConnOutServerPort) / Tins::RawPDU(call);
  bed_->rs(2).port->send(first);
  FrameExpectation want(first);
  want.eth_src(bed_->client_gateway_mac())
      .eth_dst(bed_->client().mac)
      .ip_src("10.20.0.100")
      .ttl(62)
      .sport(kConnOut);
  auto r = bed_->checker().expect_frame(*bed_->client().port, want, std::chrono::seconds(1));
  EXPECT_TRUE(r.ok) << r.report;
  // The client's answer on that flow belongs to the connection: rs2.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 40100, kConnOut, call), kConnOutServerPort), 2);
  // The same call from another client port goes by the template to rs2, where rr on this
  // fresh service would have chosen rs3.
  EXPECT_EQ(served_by(datagram("10.10.0.2", 40101, kConnOut, call), kConnOutServerPort), 2);
  auto conns = bed_->admin({"-L", "-n", "-c", "--persistent-conn"});
  ASSERT_TRUE(conns.ok()) << conns.output;
  // A UDP connection's reply assures its template (udp_state_transition), and the datagram
  // went out as one.
  EXPECT_NE(conns.output.find(" ASSURED     10.10.0.0:0        10.20.0.100:5066   "
                              "192.168.10.12:5070 sip                server-call@192.168.10.12\n"),
            std::string::npos)
      << conns.output;
  expect_no_other_frames();
}

}  // namespace
}  // namespace vslab::conformance
