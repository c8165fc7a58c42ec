// `vslab diff` on two builtin DUTs: vsd against itself differs nowhere; vsd against a vsd that
// is wrong on purpose (--test-fault through --against-config) differs in exactly the cells
// that exercise the fault, and the DIFF line names the field with both values. Runs the real
// vslab binary on a few matrix cells and on a case of fixtures/pcap.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "topology/netns.h"
#include "vslab_process.h"

namespace vslab::matrix {
namespace {

struct Diff {
  Output output;
  std::map<std::string, std::string> result;  // id -> same, diff, skip, error
  std::map<std::string, std::string> line;    // id -> its line
  std::map<std::string, std::string> dir;     // id -> its diff folder (a DIFF)
};

// `vslab diff --dut builtin --against builtin [--against-config FAULT] ARGS`, its JSON read.
Diff diff(const std::string& args, const std::string& fault = "") {
  const std::string tag = std::to_string(getpid()) + "-" + (fault.empty() ? "none" : fault);
  const std::string json = testing::TempDir() + "vslab-diff-" + tag + ".json";
  const std::string out = testing::TempDir() + "vslab-diff-out-" + tag;
  std::filesystem::remove_all(out);
  std::string cmd = std::string(VSLAB_BINARY) + " diff --dut builtin --against builtin --json " +
                    json + " --out " + out + " " + args;
  if (!fault.empty()) cmd += " --against-config " + fault_config(fault);
  Diff d;
  d.output = run(cmd);
  std::ifstream in(json);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return d;
  for (const auto& c : j["cells"]) {
    d.result[c["id"]] = c["result"];
    d.line[c["id"]] = c["line"];
    d.dir[c["id"]] = c["dir"];
  }
  std::remove(json.c_str());
  return d;
}

class VslabDiff : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs root to build topologies";
  }
};

TEST_F(VslabDiff, TheBuiltinDirectorAgainstItselfDiffersNowhere) {
  // Every mode's rewrite (fullnat: the lport B chooses is patched into rs's reply) and a
  // whole NAT connection.
  for (const auto* filter : {"*/rr/rewrite/tcp", "nat/rr/connection/tcp"}) {
    SCOPED_TRACE(filter);
    auto d = diff(std::string("-j 2 --filter '") + filter + "'");
    EXPECT_EQ(d.output.exit_code, 0) << d.output.text;
    ASSERT_FALSE(d.result.empty()) << d.output.text;
    for (const auto& [id, result] : d.result) EXPECT_EQ(result, "same") << d.line[id];
  }
}

TEST_F(VslabDiff, TwoVsdsLabelTheirOwnIpv6AnswersByFlowNotByValue) {
  // Each vsd draws its own flow label key, so A's and B's RSTs and ICMPv6 errors carry labels
  // of different values: the diff judges them non-zero and one per flow (case_of_run). The
  // glob takes ttl-one, no-service, unknown-flow and unavailable.
  auto d = diff("-j 2 --filter 'nat/rr/[tnu][tno]*/*6'");
  EXPECT_EQ(d.output.exit_code, 0) << d.output.text;
  ASSERT_FALSE(d.result.empty()) << d.output.text;
  for (const auto& [id, result] : d.result) EXPECT_EQ(result, "same") << d.line[id];
}

TEST_F(VslabDiff, ANatDirectorThatLeavesRepliesAloneDiffersOnIpSrc) {
  // IPv4 only ([!6]): vsd has no IPv6 cells to compare yet.
  auto d = diff("--filter 'nat/rr/rewrite/*[!6]'", "no-nat-reply-rewrite");
  EXPECT_EQ(d.output.exit_code, 1) << d.output.text;
  // The echo is the director's own answer, no real server's reply: the same on both.
  EXPECT_EQ(d.result, (std::map<std::string, std::string>{{"nat/rr/rewrite/tcp", "diff"},
                                                          {"nat/rr/rewrite/udp", "diff"},
                                                          {"nat/rr/rewrite/sctp", "diff"},
                                                          {"nat/rr/rewrite/icmp", "same"}}))
      << d.output.text;
  EXPECT_NE(d.line["nat/rr/rewrite/udp"].find("client frame 1: ip.src A=10.20.0.100 B=192.168."),
            std::string::npos)
      << d.output.text;
  // The DIFF leaves both sides: A's run as a case, and what B delivered.
  const std::filesystem::path dir = d.dir["nat/rr/rewrite/udp"];
  EXPECT_TRUE(std::filesystem::exists(dir / "A" / "case.toml")) << dir;
  EXPECT_TRUE(std::filesystem::exists(dir / "A" / "expect-client.pcap")) << dir;
  EXPECT_TRUE(std::filesystem::exists(dir / "B" / "captured-client.pcap")) << dir;
  EXPECT_NE(d.output.text.find("! ip.src"), std::string::npos) << d.output.text;
}

TEST_F(VslabDiff, ADirectorThatKeepsTheTtlDiffersOnIpTtlForForwardedFramesOnly) {
  auto d = diff("--filter 'dr/rr/rewrite/*[!6]'", "no-ttl-decrement");
  EXPECT_EQ(d.output.exit_code, 1) << d.output.text;
  EXPECT_EQ(d.result, (std::map<std::string, std::string>{{"dr/rr/rewrite/tcp", "diff"},
                                                          {"dr/rr/rewrite/udp", "diff"},
                                                          {"dr/rr/rewrite/sctp", "diff"},
                                                          {"dr/rr/rewrite/icmp", "same"}}))
      << d.output.text;
  EXPECT_NE(d.line["dr/rr/rewrite/tcp"].find("ip.ttl A=62 B=63"), std::string::npos)
      << d.output.text;
}

TEST_F(VslabDiff, AnotherWrrSequenceIsReportedAsAnotherServer) {
  auto d = diff("--filter 'dr/wrr/scheduler/tcp'", "wrr-off-by-one");
  EXPECT_EQ(d.output.exit_code, 1) << d.output.text;
  ASSERT_EQ(d.result["dr/wrr/scheduler/tcp"], "diff") << d.output.text;
  // The spec's sequence starts at rs3 (the server added last is scanned first); the faulty
  // director's first pick is another: a correct diff names both servers, and the field.
  EXPECT_NE(d.line["dr/wrr/scheduler/tcp"].find("rs3 frame 1: A delivered it to rs3, B to rs"),
            std::string::npos)
      << d.output.text;
  EXPECT_NE(d.line["dr/wrr/scheduler/tcp"].find("eth.dst A="), std::string::npos) << d.output.text;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(d.dir["dr/wrr/scheduler/tcp"]) / "B" /
                                      "captured-rs3.pcap"))
      << d.output.text;
}

TEST_F(VslabDiff, ACaseFolderIsComparedFrameByFrame) {
  const std::string cases = std::string(VSLAB_SOURCE_DIR) + "/fixtures/pcap/";
  auto same = diff(cases + "fullnat-tcp-reply " + cases + "nat-tcp-handshake");
  EXPECT_EQ(same.output.exit_code, 0) << same.output.text;
  EXPECT_EQ(same.result, (std::map<std::string, std::string>{{"fullnat-tcp-reply", "same"},
                                                             {"nat-tcp-handshake", "same"}}))
      << same.output.text;
  auto faulty = diff(cases + "nat-tcp-handshake", "no-nat-reply-rewrite");
  EXPECT_EQ(faulty.output.exit_code, 1) << faulty.output.text;
  EXPECT_EQ(faulty.result["nat-tcp-handshake"], "diff") << faulty.output.text;
  EXPECT_NE(faulty.line["nat-tcp-handshake"].find("client frame 1: ip.src A="), std::string::npos)
      << faulty.output.text;
}

// Mistakes on the command line are exit status 2 with a line that says what is wrong; no
// root needed.
TEST(VslabDiffUsage, BadArgumentsAreUsageErrors) {
  const std::string vslab = VSLAB_BINARY;
  for (const auto& [args, says] : std::initializer_list<std::pair<std::string, std::string>>{
           {"diff --dut builtin", "--against KIND is required"},
           {"diff --against nonsense", "unknown DUT kind 'nonsense'"},
           {"diff --against builtin --filter 'nat/*' somecase", "cannot be used with case"},
           {"diff --against builtin --filter 'nope/*'", "no cell matches --filter 'nope/*'"},
           {"diff --against builtin --against-config /nonexistent.toml", "/nonexistent.toml"},
       }) {
    SCOPED_TRACE(args);
    auto out = run(vslab + " " + args);
    EXPECT_EQ(out.exit_code, 2) << out.text;
    EXPECT_NE(out.text.find(says), std::string::npos) << out.text;
  }
}

}  // namespace
}  // namespace vslab::matrix
