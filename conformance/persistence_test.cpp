// Persistence (spec section 7): with -p, every connection of a client (its address under the
// -M mask) goes to the destination its first connection went to, whatever the scheduler
// would pick, and the template shows in -L -n -c as state NONE with client port 0.
#include <gtest/gtest.h>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::FrameExpectation;

class Persistence : public ModeTest {
 protected:
  void start_nat(const std::string& service_line) {
    start("nat", service_line +
                     "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
                     "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
                     "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  }

  // A SYN from `client` (any address behind the router) to VIP:80, and the check that it
  // reaches real server `rs` rewritten as NAT rewrites it.
  void expect_syn_goes_to(const std::string& client, uint16_t cport, int rs) {
    auto s = bed_->client_frame().ip_src(client).tcp(cport, 80).flags(frames::SYN).pdu();
    bed_->client().port->send(s);
    FrameExpectation want(s);
    want.eth_src(bed_->mac("director", "eth1"))
        .eth_dst(bed_->rs(rs).mac)
        .ip_dst(bed_->rs(rs).ip)
        .ttl(62)
        .dport(8080);
    auto r = bed_->checker().expect_frame(*bed_->rs(rs).port, want);
    EXPECT_TRUE(r.ok) << client << ":" << cport << " should reach rs" << rs << "\n" << r.report;
  }
};

TEST_F(Persistence, EveryConnectionOfAClientGoesWhereItsFirstWent) {
  start_nat("-A -t 10.20.0.100:80 -s rr -p 360\n");
  // rr alone would give rs3, rs2, rs1 (spec 6).
  for (uint16_t port : {40000, 40001, 40002}) expect_syn_goes_to("10.10.0.2", port, 3);
  auto others = bed_->checker().expect_no_other_frames(bed_->rs_ports());
  EXPECT_TRUE(others.ok) << others.report;
}

TEST_F(Persistence, AnotherClientIsScheduledAndRrMovesOnAcrossTemplates) {
  start_nat("-A -t 10.20.0.100:80 -s rr -p 360\n");
  expect_syn_goes_to("10.10.0.2", 40000, 3);
  expect_syn_goes_to("10.10.0.3", 40000, 2);
  expect_syn_goes_to("10.10.0.2", 40001, 3);
  expect_syn_goes_to("10.10.0.4", 40000, 1);
}

TEST_F(Persistence, TheNetmaskGroupsClients) {
  start_nat("-A -t 10.20.0.100:80 -s rr -p 360 -M 255.255.255.0\n");
  expect_syn_goes_to("10.10.0.2", 40000, 3);
  expect_syn_goes_to("10.10.0.3", 40000, 3);
  expect_syn_goes_to("10.10.0.77", 40000, 3);
}

TEST_F(Persistence, TheTemplateIsListedWithClientPortZero) {
  start_nat("-A -t 10.20.0.100:80 -s rr -p 360\n");
  expect_syn_goes_to("10.10.0.2", 40000, 3);
  auto listing = bed_->admin({"-L", "-n", "-c"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  // Spec 9's column layout: state %-11s, source and virtual %-18s.
  EXPECT_NE(listing.output.find("NONE        10.10.0.2:0        10.20.0.100:80     "
                                "192.168.10.13:8080"),
            std::string::npos)
      << listing.output;
  EXPECT_NE(listing.output.find("SYN_RECV    10.10.0.2:40000    10.20.0.100:80     "
                                "192.168.10.13:8080"),
            std::string::npos)
      << listing.output;
}

}  // namespace
}  // namespace vslab::conformance
