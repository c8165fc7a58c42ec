// `vslab conform` as a CI job sees it, through the real binary: --list and --shard selections,
// report paths refused before a run, a line per finished cell without a terminal, colour and
// NO_COLOR on a terminal (script(1) lends one), JUnit and JSON from a run with a failing cell
// (vsd --test-fault) and from one whose DUT does not start, and --shard 1/3..3/3 merged by
// `vslab report merge` giving the unsharded run's cells, verdicts and exit status.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "topology/netns.h"
#include "vslab_process.h"

namespace vslab::matrix {
namespace {

const std::string kVslab = VSLAB_BINARY;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

// A folder of this test process's own, removed at the end.
class Scratch {
 public:
  Scratch()
      : dir_(testing::TempDir() + "vslab-conform-cli-" + std::to_string(getpid()) + "-" +
             testing::UnitTest::GetInstance()->current_test_info()->name()) {
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

TEST(ConformCli, ListPrintsTheSelectedCellsAndRunsNothing) {
  auto out = run(kVslab + " conform --filter 'nat/rr/rewrite/*' --list");
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(lines_of(out.text),
            (std::vector<std::string>{"nat/rr/rewrite/tcp", "nat/rr/rewrite/udp",
                                      "nat/rr/rewrite/icmp", "nat/rr/rewrite/sctp",
                                      "nat/rr/rewrite/tcp6", "nat/rr/rewrite/udp6"}));
}

TEST(ConformCli, ShardsSplitTheSelectionExactlyOnce) {
  const auto all = lines_of(run(kVslab + " conform --filter '*/wrr/*' --list").text);
  ASSERT_GT(all.size(), 30u);
  std::multiset<std::string> joined;
  std::vector<std::size_t> sizes;
  for (int i = 1; i <= 3; ++i) {
    auto out =
        run(kVslab + " conform --filter '*/wrr/*' --list --shard " + std::to_string(i) + "/3");
    ASSERT_EQ(out.exit_code, 0) << out.text;
    auto slice = lines_of(out.text);
    sizes.push_back(slice.size());
    joined.insert(slice.begin(), slice.end());
    // Stable: the same slice again is the same cells.
    EXPECT_EQ(
        run(kVslab + " conform --filter '*/wrr/*' --list --shard " + std::to_string(i) + "/3").text,
        out.text);
  }
  EXPECT_EQ(joined, std::multiset<std::string>(all.begin(), all.end()));
  for (auto n : sizes) EXPECT_GE(n, all.size() / 6) << "a slice far below a third";
}

// A recorded duration outweighs the table: the cell that took 100 s gets a slice of its own.
TEST(ConformCli, RecordedDurationsBalanceTheSlices) {
  Scratch s;
  std::ofstream(s / "earlier.json") << R"({"cells": [
    {"id": "nat/wrr/rewrite/tcp", "outcome": "pass", "seconds": 100.0},
    {"id": "nat/wrr/rewrite/udp", "outcome": "skip", "seconds": 500.0}]})";
  std::vector<std::string> slices;
  for (int i = 1; i <= 3; ++i)
    slices.push_back(run(kVslab + " conform --filter '*/wrr/*' --list --shard " +
                         std::to_string(i) + "/3 --shard-durations " + s / "earlier.json")
                         .text);
  const auto heavy = std::count_if(slices.begin(), slices.end(), [](const std::string& text) {
    return text == "nat/wrr/rewrite/tcp\n";
  });
  EXPECT_EQ(heavy, 1) << slices[0] << "--\n" << slices[1] << "--\n" << slices[2];
  // A skipped cell's seconds are no measure of it: nat/wrr/rewrite/udp shares a slice.
  for (const auto& text : slices) {
    if (text.find("nat/wrr/rewrite/udp") != std::string::npos) {
      EXPECT_GT(lines_of(text).size(), 1u) << text;
    }
  }
  auto bad = run(kVslab + " conform --list --shard 1/3 --shard-durations " + s / "none.json");
  EXPECT_EQ(bad.exit_code, 2) << bad.text;
}

TEST(ConformCli, ABadShardIsAUsageError) {
  for (const char* bad : {"0/3", "4/3", "3", "a/b", "1/0", "-1/3"}) {
    auto out = run(kVslab + " conform --list --shard '" + bad + "'");
    EXPECT_EQ(out.exit_code, 2) << bad << ": " << out.text;
  }
}

TEST(ConformCli, AnUnwritableReportIsRefusedBeforeTheRun) {
  Scratch s;
  const auto start = std::chrono::steady_clock::now();
  auto out = run(kVslab + " conform --junit " + s / "missing/report.xml");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(out.exit_code, 2) << out.text;
  EXPECT_NE(out.text.find("does not exist"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("cells against"), std::string::npos) << out.text;
  EXPECT_LT(seconds, 20.0) << "the whole matrix ran first";
  out = run(kVslab + " conform --json /proc/vslab-report.json");
  EXPECT_EQ(out.exit_code, 2) << out.text;
  out = run(kVslab + " replay --json " +
            s / "missing/r.json " VSLAB_SOURCE_DIR "/fixtures/pcap/nat-tcp-handshake");
  EXPECT_EQ(out.exit_code, 2) << out.text;
  out = run(kVslab + " diff --against builtin --junit " + s / "missing/r.xml");
  EXPECT_EQ(out.exit_code, 2) << out.text;
}

class ConformCliRoot : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs root to build topologies";
  }
};

// Output under a pseudo-terminal (script(1)), with the environment `env` set.
Output on_a_terminal(const std::string& env, const std::string& args) {
  return run("script -qec \"env " + env + " " + kVslab + " " + args + "\" /dev/null");
}

TEST_F(ConformCliRoot, ColourOnATerminalUnlessNoColorOrNever) {
  if (std::system("command -v script >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  // pmtu cells outside TUN are not applicable: the run brings nothing up.
  const std::string args = "conform --filter 'nat/rr/pmtu/*' -v --allow-skips";
  auto coloured = on_a_terminal("-u NO_COLOR", args);
  EXPECT_NE(coloured.text.find("\033[33mSKIP"), std::string::npos) << coloured.text;
  auto no_color = on_a_terminal("NO_COLOR=1", args);
  EXPECT_NE(no_color.text.find("SKIP"), std::string::npos) << no_color.text;
  EXPECT_EQ(no_color.text.find("\033[3"), std::string::npos) << no_color.text;
  auto never = on_a_terminal("-u NO_COLOR", args + " --color=never");
  EXPECT_EQ(never.text.find("\033[3"), std::string::npos) << never.text;
  // Without a terminal: no colour unless asked for.
  auto piped = run(kVslab + " " + args);
  EXPECT_EQ(piped.text.find("\033["), std::string::npos) << piped.text;
  auto always = run(kVslab + " " + args + " --color=always");
  EXPECT_NE(always.text.find("\033[33mSKIP"), std::string::npos) << always.text;
}

TEST_F(ConformCliRoot, AFailingCellIsAFailureWithItsLineAndAReplayOnTheSameDirector) {
  Scratch s;
  const std::string config = fault_config("no-ttl-decrement");
  auto out =
      run(kVslab + " conform --filter 'dr/rr/rewrite/*' --dut-config " + config + " --json " +
          s / "r.json" + " --junit " + s / "r.xml" + " --pcap-dir " + s / "pcaps");
  EXPECT_EQ(out.exit_code, 1) << out.text;
  // Without a terminal: one line per cell as it finishes, before the table.
  const auto table = out.text.find("mode/sched");
  for (const char* line : {"FAIL   dr/rr/rewrite/tcp  ", "FAIL   dr/rr/rewrite/udp  ",
                           "PASS   dr/rr/rewrite/icmp  "}) {
    auto at = out.text.find(line);
    EXPECT_LT(at, table) << line << "\n" << out.text;
  }
  EXPECT_NE(out.text.find("replay: vslab replay " + s / "pcaps/dr_rr_rewrite_tcp" +
                          " --dut builtin --dut-config " + config),
            std::string::npos)
      << out.text;
  auto j = read_json(s / "r.json");
  ASSERT_FALSE(j.is_discarded());
  // The IPv6 cells (tcp6, udp6) pass: the fault is in the IPv4 DR forwarder alone; sctp fails
  // with tcp and udp.
  EXPECT_EQ(j["totals"], (nlohmann::json{{"cells", 6},
                                         {"passed", 3},
                                         {"failed", 3},
                                         {"errors", 0},
                                         {"skipped", 0},
                                         {"not_run", 0},
                                         {"duration", j["duration"]}}));
  EXPECT_GT(j["duration"].get<double>(), 0.0);
  EXPECT_EQ(j["properties"]["dut"], "builtin");
  EXPECT_EQ(j["properties"]["dut_flags"], "--dut builtin --dut-config " + config);
  EXPECT_EQ(j["properties"]["filter"], "dr/rr/rewrite/*");
  for (const char* p : {"vslab_version", "kernel_release", "hostname"})
    EXPECT_TRUE(j["properties"].contains(p)) << p;
  std::ifstream in(s / "r.xml");
  std::stringstream xml;
  xml << in.rdbuf();
  EXPECT_NE(xml.str().find("failures=\"3\" errors=\"0\""), std::string::npos) << xml.str();
  EXPECT_NE(xml.str().find("<failure type=\"failure\""), std::string::npos) << xml.str();
  EXPECT_NE(xml.str().find("timestamp=\""), std::string::npos) << xml.str();
  if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
    auto valid = run("xmllint --noout --schema " VSLAB_JUNIT_XSD " " + s / "r.xml");
    EXPECT_EQ(valid.exit_code, 0) << valid.text;
  }
  std::remove(config.c_str());
}

TEST_F(ConformCliRoot, ADutThatDoesNotStartIsAnErrorNotAFailure) {
  Scratch s;
  // -j 2: the cells run in a worker, whose lines reach the log as its cells finish. Six
  // cells: tcp, udp, icmp, sctp and (vsd forwards IPv6 in NAT) tcp6, udp6.
  auto out = run(kVslab + " conform --filter 'nat/rr/rewrite/*' -j 2 --vsd /bin/false --json " +
                 s / "r.json" + " --junit " + s / "r.xml" + " --pcap-dir " + s / "pcaps");
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_LT(out.text.find("ERROR  nat/rr/rewrite/tcp"), out.text.find("mode/sched")) << out.text;
  auto j = read_json(s / "r.json");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["totals"]["errors"], 6) << j.dump(2);
  EXPECT_EQ(j["totals"]["failed"], 0) << j.dump(2);
  EXPECT_EQ(j["properties"]["dut_flags"], "--dut builtin --vsd /bin/false");
  std::ifstream in(s / "r.xml");
  std::stringstream xml;
  xml << in.rdbuf();
  EXPECT_NE(xml.str().find("failures=\"0\" errors=\"6\""), std::string::npos) << xml.str();
  EXPECT_NE(xml.str().find("<error type=\"error\" message=\"bed for nat: "), std::string::npos)
      << xml.str();
  EXPECT_EQ(xml.str().find("<failure"), std::string::npos) << xml.str();
}

TEST_F(ConformCliRoot, QuietPrintsOnlyProblemsAndTheSummary) {
  Scratch s;
  // nat/rr/persistence/tcp and tcp6 err (vsd does not start), nat/rr/pmtu/tcp and tcp6 skip.
  auto out = run(kVslab + " conform --filter 'nat/rr/p[em]*' -q --vsd /bin/false --pcap-dir " +
                 s / "pcaps");
  EXPECT_EQ(out.exit_code, 1) << out.text;
  EXPECT_EQ(out.text.find("mode/sched"), std::string::npos) << out.text;  // no table
  EXPECT_EQ(out.text.find("SKIP"), std::string::npos) << out.text;
  EXPECT_EQ(out.text.find("cells against"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("ERROR  nat/rr/persistence/tcp"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("Errors:\n- nat/rr/persistence/tcp: bed for nat"), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("4 cells: 0 passed, 0 failed, 2 errors, 2 skipped;"), std::string::npos)
      << out.text;
}

std::map<std::string, std::string> verdicts(const nlohmann::json& j) {
  std::map<std::string, std::string> out;
  for (const auto& c : j["cells"]) out[c["id"]] = c["outcome"];
  return out;
}

TEST_F(ConformCliRoot, ShardsMergedAreTheUnshardedRun) {
  Scratch s;
  // A fault, so that the verdicts to compare hold failures as well as passes and skips. Eleven
  // cells of nat/rr in six kinds, not all of it: sharding and merging see cell ids, verdicts and
  // totals, never what a kind does, and these hold each (connection and tcp-flags fail on the
  // fault, pmtu skips, the rest passes) in slices of three or four, unlike what the whole of
  // nat/rr added: its reassembly-timeout cell alone waits 30 s, twice (whole and a slice).
  const std::string config = fault_config("no-nat-reply-rewrite");
  const std::string base = kVslab + " conform --filter 'nat/rr/[cpt]*' --dut-config " + config +
                           " --pcap-dir " + s / "pcaps";
  auto whole = run(base + " --json " + s / "whole.json");
  ASSERT_EQ(whole.exit_code, 1) << whole.text;
  std::vector<std::string> slices;
  for (int i = 1; i <= 3; ++i) {
    slices.push_back(s / ("slice" + std::to_string(i) + ".json"));
    auto out = run(base + " --shard " + std::to_string(i) + "/3 --json " + slices.back());
    EXPECT_NE(out.exit_code, 2) << out.text;
  }
  auto merged = run(kVslab + " report merge " + s / "merged.json " + slices[0] + " " + slices[1] +
                    " " + slices[2] + " --junit " + s / "merged.xml");
  EXPECT_EQ(merged.exit_code, whole.exit_code) << merged.text;
  auto w = read_json(s / "whole.json");
  auto m = read_json(s / "merged.json");
  ASSERT_FALSE(w.is_discarded());
  ASSERT_FALSE(m.is_discarded());
  EXPECT_EQ(verdicts(m), verdicts(w));
  std::set<std::string> outcomes;
  for (const auto& [id, outcome] : verdicts(w)) outcomes.insert(outcome);
  EXPECT_EQ(outcomes, (std::set<std::string>{"pass", "fail", "skip"})) << w.dump(2);
  std::vector<std::string> order_w, order_m;
  for (const auto& c : w["cells"]) order_w.push_back(c["id"]);
  for (const auto& c : m["cells"]) order_m.push_back(c["id"]);
  EXPECT_EQ(order_m, order_w);
  for (const char* key : {"cells", "passed", "failed", "errors", "skipped", "not_run"})
    EXPECT_EQ(m["totals"][key], w["totals"][key]) << key;
  EXPECT_TRUE(std::filesystem::exists(s / "merged.xml"));
  // A slice missing or given twice is no whole run.
  auto missing = run(kVslab + " report merge " + s / "m2.json " + slices[0] + " " + slices[2]);
  EXPECT_EQ(missing.exit_code, 2) << missing.text;
  EXPECT_NE(missing.text.find("2/3"), std::string::npos) << missing.text;
  auto twice = run(kVslab + " report merge " + s / "m3.json " + slices[0] + " " + slices[0] + " " +
                   slices[1] + " " + slices[2]);
  EXPECT_EQ(twice.exit_code, 2) << twice.text;
  std::remove(config.c_str());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void expect_valid_junit(const std::string& path) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) return;
  auto valid = run("xmllint --noout --schema " VSLAB_JUNIT_XSD " " + path);
  EXPECT_EQ(valid.exit_code, 0) << valid.text;
}

// replay: a case that passes, one that fails on a fault-switched vsd, and a folder that is no
// case (an error, not a verdict on the DUT).
TEST_F(ConformCliRoot, ReplayWritesJunitAndJson) {
  Scratch s;
  std::filesystem::create_directories(s / "not-a-case");
  const std::string config = fault_config("no-ttl-decrement");
  const std::string cases = std::string(VSLAB_SOURCE_DIR) + "/fixtures/pcap/nat-tcp-handshake " +
                            VSLAB_SOURCE_DIR + "/fixtures/pcap/dr-udp " + s / "not-a-case";
  auto out = run(kVslab + " replay " + cases + " --dut-config " + config + " --pcap-dir " +
                 s / "pcaps" + " --json " + s / "r.json" + " --junit " + s / "r.xml");
  EXPECT_EQ(out.exit_code, 1) << out.text;
  auto j = read_json(s / "r.json");
  ASSERT_FALSE(j.is_discarded()) << out.text;
  EXPECT_EQ(j["suite"], "replay");
  EXPECT_EQ(j["totals"]["cells"], 3) << j.dump(2);
  EXPECT_EQ(j["totals"]["failed"], 2) << j.dump(2);  // the fault decrements no TTL in either
  EXPECT_EQ(j["totals"]["errors"], 1) << j.dump(2);
  EXPECT_EQ(j["properties"]["dut_flags"], "--dut builtin --dut-config " + config);
  const auto xml = read_text(s / "r.xml");
  EXPECT_NE(xml.find("<testcase classname=\"replay\" name=\"dr-udp\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"error\" message=\"the case does not load"), std::string::npos)
      << xml;
  expect_valid_junit(s / "r.xml");
  std::remove(config.c_str());
}

TEST_F(ConformCliRoot, DiffWritesJunitAndJson) {
  Scratch s;
  auto out = run(kVslab + " diff --dut builtin --against builtin --filter 'nat/rr/rewrite/tcp' " +
                 "--out " + s / "diff" + " --json " + s / "d.json" + " --junit " + s / "d.xml");
  EXPECT_EQ(out.exit_code, 0) << out.text;
  auto j = read_json(s / "d.json");
  ASSERT_FALSE(j.is_discarded()) << out.text;
  EXPECT_EQ(j["suite"], "diff");
  EXPECT_EQ(j["totals"]["passed"], 1) << j.dump(2);
  EXPECT_EQ(j["cells"][0]["result"], "same") << j.dump(2);
  EXPECT_EQ(j["properties"]["against"], "builtin");
  const auto xml = read_text(s / "d.xml");
  EXPECT_NE(xml.find("<testcase classname=\"nat.rr\" name=\"rewrite/tcp\""), std::string::npos)
      << xml;
  expect_valid_junit(s / "d.xml");
}

}  // namespace
}  // namespace vslab::matrix
