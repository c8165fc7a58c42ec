// A case written by write_case() (as `vslab conform` will write a failing cell) replays on the
// built-in director: it passes on a correct director, and on one that is wrong on purpose (vsd
// --test-fault no-ttl-decrement) it fails with the field diff and writes the failure pcaps.
#include <gtest/gtest.h>
#include <tins/tins.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "frames/frame_builder.h"
#include "replay/case.h"
#include "replay/record.h"
#include "replay/roles.h"
#include "replay/run.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::replay {
namespace {

const std::filesystem::path kTopologies = std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies";

class ReplayOnBuiltin : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
    dir_ = std::filesystem::temp_directory_path() /
           ("vslab-replay-test-" + std::to_string(getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto parsed = topo::parse_topology_file((kTopologies / "nat.toml").string());
    ASSERT_TRUE(parsed.ok());
    topology_ = std::move(*parsed.topology);
    write_case(dir_ / "nat-syn", syn_case());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // The client's SYN to VIP:80 and, from spec 2 (NAT) and spec 4/6 (rr scans rs3 first),
  // what rs3 receives: MACs of director:eth1 and rs3, RIP:8080, TTL 64 - router - director.
  // `client`: the source address, the client's own when empty.
  CaseToWrite syn_case(const std::string& client = "") {
    Roles roles(topology_);
    auto mac = [&](const std::string& r) { return frames::Mac(roles.find(r)->mac); };
    auto ip = [&](const std::string& r) { return frames::Ipv4(roles.find(r)->ip); };
    const frames::Ipv4 source = client.empty() ? ip("client") : frames::Ipv4(client);
    auto sent = frames::frame()
                    .eth(mac("client"), mac("gateway"))
                    .ipv4(source, ip("vip"))
                    .ttl(64)
                    .id(0x4242)
                    .tcp(40000, 80)
                    .flags(frames::SYN)
                    .seq(1000)
                    .pdu();
    auto want = frames::frame()
                    .eth(mac("director:eth1"), mac("rs3"))
                    .ipv4(source, ip("rs3"))
                    .ttl(62)
                    .id(0x4242)
                    .tcp(40000, 8080)
                    .flags(frames::SYN)
                    .seq(1000)
                    .pdu();

    CaseToWrite c;
    c.description = "A NAT SYN reaches rs3 rewritten (written by replay_netns_test).";
    c.topology = "nat";
    c.rules =
        "-A -t 10.20.0.100:80 -s rr\n"
        "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
        "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
        "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n";
    c.inputs = {{"client", {sent.serialize(), {}}}};
    CaseToWrite::Expected x;
    x.ports = {"rs3"};
    x.frame = want.serialize();
    x.masks = {{"l4.csum", Mask::Kind::Text, {"valid"}, 0, 0}};
    x.timeout_ms = 3000;
    c.expected = {x};
    return c;
  }

  ReplayOutcome replay(std::vector<std::string> vsd_args) {
    auto loaded = load_case(dir_ / "nat-syn", kTopologies);
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
    if (!loaded.ok()) return {};
    ReplayOptions o;
    o.dut.kind = "builtin";
    o.dut.vsd_binary = VSLAB_VSD_BINARY;
    o.dut.vsadm_binary = VSLAB_VSADM_BINARY;
    o.dut.vsd_args = std::move(vsd_args);
    o.pcap_dir = dir_ / "failures";
    return replay_case(*loaded.value, o);
  }

  std::filesystem::path dir_;
  topo::Topology topology_;
};

// A client address the topology does not give the client (a scenario's second client, as the
// thresholds kind sends from): rs3's answer comes back to it only if the replay holds the
// address on the client, where the router's ARP for it is answered.
TEST_F(ReplayOnBuiltin, ACaseFromASecondClientAddressGetsItsAnswerBack) {
  Roles roles(topology_);
  auto mac = [&](const std::string& r) { return frames::Mac(roles.find(r)->mac); };
  auto ip = [&](const std::string& r) { return frames::Ipv4(roles.find(r)->ip); };
  const frames::Ipv4 second("10.10.0.77");
  CaseToWrite c = syn_case("10.10.0.77");
  c.description = "rs3's SYN-ACK reaches a second client address (written by replay_netns_test).";
  auto syn_ack = frames::frame()
                     .eth(mac("rs3"), mac("director:eth1"))
                     .ipv4(ip("rs3"), second)
                     .ttl(64)
                     .id(0x4343)
                     .tcp(8080, 40000)
                     .flags(frames::SYN | frames::ACK)
                     .seq(5000)
                     .ack(1001)
                     .pdu();
  auto at_client = frames::frame()
                       .eth(mac("gateway"), mac("client"))
                       .ipv4(ip("vip"), second)
                       .ttl(62)
                       .id(0x4343)
                       .tcp(80, 40000)
                       .flags(frames::SYN | frames::ACK)
                       .seq(5000)
                       .ack(1001)
                       .pdu();
  c.inputs.push_back({"rs3", {syn_ack.serialize(), {}}});
  c.expected.front().after_input = 1;
  CaseToWrite::Expected back;
  back.ports = {"client"};
  back.frame = at_client.serialize();
  back.masks = {{"l4.csum", Mask::Kind::Text, {"valid"}, 0, 0}};
  back.timeout_ms = 3000;
  c.expected.push_back(back);
  write_case(dir_ / "nat-syn", c);
  auto r = replay({});
  EXPECT_EQ(r.kind, ReplayOutcome::Kind::Pass) << r.line << "\n" << r.report;
}

TEST_F(ReplayOnBuiltin, AWrittenCasePassesOnACorrectDirector) {
  auto r = replay({});
  EXPECT_EQ(r.kind, ReplayOutcome::Kind::Pass) << r.line << "\n" << r.report;
  EXPECT_EQ(r.line, "PASS nat-syn");
}

TEST_F(ReplayOnBuiltin, AWrittenCaseFailsOnTheTtlFaultWithTheFieldDiffAndPcaps) {
  auto r = replay({"--test-fault", "no-ttl-decrement"});
  EXPECT_EQ(r.kind, ReplayOutcome::Kind::Fail) << r.line;
  EXPECT_EQ(r.line.rfind("FAIL nat-syn: ", 0), 0u) << r.line;
  EXPECT_NE(r.line.find("rs3: ip.ttl want 62 got 63"), std::string::npos) << r.line;
  EXPECT_EQ(r.line.find('\n'), std::string::npos);
  auto failed = dir_ / "failures" / "nat-syn";
  EXPECT_TRUE(std::filesystem::exists(failed / "in-client.pcap"));
  EXPECT_TRUE(std::filesystem::exists(failed / "expect-rs3.pcap"));
  EXPECT_TRUE(std::filesystem::exists(failed / "captured-rs3.pcap"));

  // The failure folder is a case: it replays as it is, and fails the same way.
  auto again = load_case(failed, kTopologies);
  ASSERT_TRUE(again.ok()) << again.errors.front();
  ReplayOptions o;
  o.dut.kind = "builtin";
  o.dut.vsd_binary = VSLAB_VSD_BINARY;
  o.dut.vsadm_binary = VSLAB_VSADM_BINARY;
  o.dut.vsd_args = {"--test-fault", "no-ttl-decrement"};
  o.pcap_dir = dir_ / "failures-again";
  auto r2 = replay_case(*again.value, o);
  EXPECT_EQ(r2.kind, ReplayOutcome::Kind::Fail);
  EXPECT_EQ(r2.line, r.line) << "the same failure, the same diff";
}

// Real traffic recorded: the client connects to VIP:80, rs1's kernel refuses (RST, no listener);
// the case holds what each host sent and received, and replays as it was recorded.
TEST_F(ReplayOnBuiltin, ARecordedCaseReplays) {
  RecordOptions o;
  o.topology = "nat";
  o.topologies_dir = kTopologies;
  o.rules =
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n";
  o.out = dir_ / "recorded";
  o.command = {"bash", "-c", "exec 3<>/dev/tcp/10.20.0.100/80"};
  o.dut.kind = "builtin";
  o.dut.vsd_binary = VSLAB_VSD_BINARY;
  o.dut.vsadm_binary = VSLAB_VSADM_BINARY;
  auto r = record_case(o);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_NE(r.command_exit, 0) << "nothing listens on rs1:8080, so the connection is refused";

  auto loaded = load_case(o.out, kTopologies);
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front();
  const Case& c = *loaded.value;
  EXPECT_NE(c.description.find("Recorded by `vslab record`"), std::string::npos);
  // The client's SYN, then rs1's RST; the SYN arrived at rs1 and the RST at the client.
  ASSERT_EQ(c.inputs.size(), 2u);
  EXPECT_EQ(c.inputs[0].port, "client");
  EXPECT_EQ(c.inputs[1].port, "rs1");
  ASSERT_EQ(c.expectations.size(), 2u);
  EXPECT_EQ(c.expectations[0].ports, std::vector<std::string>{"rs1"});
  EXPECT_EQ(c.expectations[1].ports, std::vector<std::string>{"client"});

  ReplayOptions ro;
  ro.dut = o.dut;
  ro.pcap_dir = dir_ / "failures";
  auto replayed = replay_case(c, ro);
  EXPECT_EQ(replayed.kind, ReplayOutcome::Kind::Pass) << replayed.line << "\n" << replayed.report;
}

// With a server started on rs1 for the recording (--serve), curl's request gets a real HTTP
// answer through the DUT: the case holds the GET that reached rs1 and the 200 that reached the
// client, and the server saw the run's names in its environment.
TEST_F(ReplayOnBuiltin, ARecordingWithAServerHoldsRealHttp) {
  if (access("/usr/bin/busybox", X_OK) != 0 || access("/usr/bin/curl", X_OK) != 0)
    GTEST_SKIP() << "needs busybox (httpd) and curl (scripts/setup.sh test)";
  RecordOptions o;
  o.topology = "nat";
  o.topologies_dir = kTopologies;
  o.rules =
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m -w 1\n";
  o.out = dir_ / "recorded-http";
  o.command = {"curl", "-s", "--max-time", "5", "http://10.20.0.100/"};
  o.serve = {
      {"rs1",
       "echo \"served by $VSLAB_NODE in $VSLAB_NETNS (rs2: $VSLAB_NETNS_RS2)\" > index.html; "
       "exec busybox httpd -f -p 80"}};
  o.dut.kind = "builtin";
  o.dut.vsd_binary = VSLAB_VSD_BINARY;
  o.dut.vsadm_binary = VSLAB_VSADM_BINARY;
  auto r = record_case(o);
  ASSERT_TRUE(r.ok) << r.message << "\n" << r.command_output;
  EXPECT_EQ(r.command_exit, 0) << r.command_output;
  // The run's prefix is the owner's pid and a sequence number; rs1's namespace ends in -rs1.
  const std::string prefix = "vsl-" + std::to_string(getpid()) + "-";
  EXPECT_NE(r.command_output.find("served by rs1 in " + prefix), std::string::npos)
      << r.command_output;
  EXPECT_NE(r.command_output.find("-rs1 (rs2: " + prefix), std::string::npos) << r.command_output;

  auto loaded = load_case(o.out, kTopologies);
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front();
  const Case& c = *loaded.value;
  const auto holds = [](const std::vector<uint8_t>& frame, const std::string& text) {
    return std::search(frame.begin(), frame.end(), text.begin(), text.end()) != frame.end();
  };
  bool get_at_rs1 = false, ok_at_client = false;
  for (const auto& x : c.expectations) {
    if (x.ports == std::vector<std::string>{"rs1"} && holds(x.base, "GET / HTTP/1.1"))
      get_at_rs1 = true;
    if (x.ports == std::vector<std::string>{"client"} && holds(x.base, "200 OK"))
      ok_at_client = true;
  }
  EXPECT_TRUE(get_at_rs1) << "the request never reached rs1 through the DUT";
  EXPECT_TRUE(ok_at_client) << "no HTTP answer reached the client";
}

// A server that never listens is an error that says so, not a recording of RSTs.
TEST_F(ReplayOnBuiltin, AServerThatDoesNotListenStopsTheRecording) {
  RecordOptions o;
  o.topology = "nat";
  o.topologies_dir = kTopologies;
  o.rules = "-A -t 10.20.0.100:80 -s rr\n";
  o.out = dir_ / "never";
  o.command = {"true"};
  o.serve = {{"rs1", "echo giving up; exit 3"}};
  o.dut.kind = "builtin";
  o.dut.vsd_binary = VSLAB_VSD_BINARY;
  o.dut.vsadm_binary = VSLAB_VSADM_BINARY;
  auto r = record_case(o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("--serve rs1='echo giving up; exit 3' exited (3) before it served"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("giving up"), std::string::npos) << r.message;
  EXPECT_FALSE(std::filesystem::exists(o.out / "case.toml"));
}

}  // namespace
}  // namespace vslab::replay
