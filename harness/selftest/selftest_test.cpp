// The harness checked on a plain Linux router (topologies/selftest.toml): every frame the
// client sends must arrive as RFC 1812 forwarding leaves it, and a wrong expectation must fail
// with a readable field diff and pcaps that tcpdump reads.
#include "selftest/selftest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "frames/frame_builder.h"
#include "topology/netns.h"

namespace vslab::selftest {
namespace {

const std::string kTopology = std::string(VSLAB_SOURCE_DIR) + "/topologies/selftest.toml";

std::string test_name() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

class Selftest : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                      "namespaces";
    bed_ = std::make_unique<SelftestBed>(kTopology, test_name());
  }
  void client_sends_udp_and_ignores_it() {
    auto frame = bed_->client_frame(Tins::UDP(9, 40100) / Tins::RawPDU("discard"));
    bed_->client_port().send(frame);
  }
  std::unique_ptr<SelftestBed> bed_;
};

#define EXPECT_CHECK(row)                                           \
  do {                                                              \
    auto r = (row);                                                 \
    EXPECT_TRUE(r.result.ok) << r.check << "\n" << r.result.report; \
  } while (0)

TEST_F(Selftest, TcpSynIsRoutedWithMacsRewrittenAndTtlDecremented) {
  EXPECT_CHECK(bed_->tcp_syn_is_routed());
}

TEST_F(Selftest, UdpIsRoutedWithMacsRewrittenAndTtlDecremented) {
  EXPECT_CHECK(bed_->udp_is_routed());
}

TEST_F(Selftest, UdpZeroChecksumStaysZero) {
  EXPECT_CHECK(bed_->udp_zero_checksum_stays_zero());
}

TEST_F(Selftest, IcmpEchoIsRoutedAndTheReplyComesBack) {
  EXPECT_CHECK(bed_->icmp_echo_is_routed());
  EXPECT_CHECK(bed_->echo_reply_comes_back());
}

TEST_F(Selftest, OnlyTheRoutedFramesReachTheServer) {
  EXPECT_CHECK(bed_->tcp_syn_is_routed());
  EXPECT_CHECK(bed_->udp_is_routed());
  EXPECT_CHECK(bed_->nothing_else_reaches_server());
}

TEST_F(Selftest, AnUnexpectedFrameIsReported) {
  // The client's UDP datagram makes the server answer with ICMP port unreachable, which the
  // client's port receives; no check claims it.
  client_sends_udp_and_ignores_it();
  auto r = bed_->checker().expect_no_other_frames({&bed_->client_port()}, std::chrono::seconds(2));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("client-eth0: 1 unexpected frame(s)"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("icmp.type = 3"), std::string::npos) << r.report;
}

TEST_F(Selftest, EveryReachabilityLineOfTheFileHolds) {
  auto rows = bed_->reachability();
  EXPECT_EQ(rows.size(), 4u);  // both ways, over IPv4 and IPv6
  for (const auto& r : rows) EXPECT_TRUE(r.result.ok) << r.check;
}

TEST_F(Selftest, ALinuxRouterForwardsIpv6AsRfc8200Says) {
  ASSERT_FALSE(bed_->client_ip6().empty()) << "topologies/selftest.toml is dual-stack";
  EXPECT_CHECK(bed_->tcp6_syn_is_routed());
  EXPECT_CHECK(bed_->udp6_fragment_is_routed());
  EXPECT_CHECK(bed_->echo6_reply_comes_back());
  EXPECT_CHECK(bed_->nothing_else_reaches_server());
}

TEST_F(Selftest, AWrongHopLimitIsAFailedIpv6Check) {
  // The router takes one off; an expectation that it took none must fail on ip6.hlim.
  auto sent =
      frames::frame()
          .eth(frames::Mac(bed_->client_port().mac()), frames::Mac(bed_->router_client_side_mac()))
          .ipv6(bed_->client_ip6(), bed_->server_ip6())
          .udp(40020, 53)
          .payload("hop")
          .pdu();
  bed_->client_port().send(sent);
  auto want = bed_->routed_to_server(sent);
  want.ttl(64);
  auto r = bed_->checker().expect_frame(bed_->server_port(), want, std::chrono::seconds(2));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("! ip6.hlim"), std::string::npos) << r.report;
}

TEST_F(Selftest, WrongExpectationFailsWithFieldDiffAndPcaps) {
  auto dir =
      std::filesystem::temp_directory_path() / ("vslab-mismatch-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  check::FrameChecker checker("Deliberate.Mismatch", {&bed_->client_port(), &bed_->server_port()},
                              dir);
  Tins::TCP syn(80, 41000);
  syn.flags(Tins::TCP::SYN);
  auto frame = bed_->client_frame(syn);
  bed_->client_port().send(frame);

  // Deliberately wrong: forgets the TTL decrement and names the wrong destination MAC.
  expect::FrameExpectation wrong(frame);
  wrong.eth_src(bed_->router_server_side_mac()).eth_dst("02:00:00:00:00:99");
  auto r = checker.expect_frame(bed_->server_port(), wrong, std::chrono::milliseconds(500));

  ASSERT_FALSE(r.ok);
  std::cout << "The report a failed check gives:\n" << r.report;
  EXPECT_NE(r.report.find("differs in 2 field(s)"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("! ip.ttl"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("! eth.dst"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("02:00:00:00:00:99"), std::string::npos) << r.report;
  // What the diff shows for the TTL: expected 64, captured 63.
  auto ttl_line = r.report.substr(r.report.find("! ip.ttl"));
  ttl_line = ttl_line.substr(0, ttl_line.find('\n'));
  EXPECT_NE(ttl_line.find("64"), std::string::npos) << ttl_line;
  EXPECT_NE(ttl_line.find("63"), std::string::npos) << ttl_line;

  auto case_dir = dir / "Deliberate.Mismatch";
  for (const char* name :
       {"in-client-eth0.pcap", "expect-server-eth0.pcap", "captured-server-eth0.pcap"}) {
    auto path = case_dir / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path << "\n" << r.report;
    auto read = topo::run_command({"tcpdump", "-n", "-r", path.string()});
    EXPECT_TRUE(read.ok()) << read.output;
    EXPECT_NE(read.output.find(bed_->client_ip() + ".41000 > " + bed_->server_ip() + ".80"),
              std::string::npos)
        << name << ":\n"
        << read.output;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vslab::selftest
