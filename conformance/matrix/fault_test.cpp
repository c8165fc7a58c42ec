// `vslab conform` against a director that is wrong on purpose (vsd --test-fault, set through
// the builtin DUT's config file): exactly the cells that check what the fault breaks fail,
// and the failure names the field. Runs the real vslab binary on a filtered matrix.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "topology/netns.h"
#include "vslab_process.h"

namespace vslab::matrix {
namespace {

struct Run {
  int exit_code = -1;
  std::set<std::string> failed;
  std::string details;                       // every failure's text
  std::map<std::string, std::string> cases;  // failed cell -> the case folder it wrote
};

Run conform_with_fault(const std::string& fault, const std::string& filter) {
  const std::string dir = testing::TempDir();
  const std::string config = fault_config(fault);
  const std::string report = dir + "vslab-fault-" + fault + ".json";
  const std::string cmd = std::string(VSLAB_BINARY) + " conform --dut builtin --dut-config " +
                          config + " --filter '" + filter + "' --json " + report + " --pcap-dir " +
                          dir + "vslab-fault-pcaps >/dev/null 2>&1";
  Run run;
  int status = std::system(cmd.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(report);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return run;
  for (const auto& c : j["cells"])
    if (c["outcome"] == "fail") {
      run.failed.insert(c["id"].get<std::string>());
      run.details += c["detail"].get<std::string>() + "\n";
      if (!c.value("case", "").empty()) run.cases[c["id"]] = c["case"];
    }
  std::remove(config.c_str());
  std::remove(report.c_str());
  return run;
}

class MatrixFault : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs root to build topologies";
  }
};

TEST_F(MatrixFault, ARepliesLeftFromTheRealServerFailTheRewriteCellsOnIpSrc) {
  // NAT replies keep the RIP: only the cells that check a reply's source see it. Every
  // nat/rr cell but reassembly-timeout, which waits 30 s for an ICMP error of the director's
  // own (no reply of a real server to rewrite: the fault cannot reach it); two runs, as
  // fnmatch has no "all but": the kinds not starting with 'r', then rewrite and routed.
  auto run = conform_with_fault("no-nat-reply-rewrite", "nat/rr/[!r]*");
  auto rewrite_and_routed = conform_with_fault("no-nat-reply-rewrite", "nat/rr/r[eo][wu]*");
  EXPECT_EQ(rewrite_and_routed.exit_code, 1);
  run.failed.merge(rewrite_and_routed.failed);
  run.details += rewrite_and_routed.details;
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.failed, (std::set<std::string>{"nat/rr/rewrite/tcp", "nat/rr/rewrite/udp",
                                               "nat/rr/rewrite/sctp", "nat/rr/connection/tcp",
                                               "nat/rr/tcp-flags/tcp", "nat/rr/states/tcp",
                                               "nat/rr/states/sctp"}))
      << run.details;
  EXPECT_NE(run.details.find("! ip.src"), std::string::npos) << run.details;
}

TEST_F(MatrixFault, WrrOffByOneFailsOnlyTheWrrSequence) {
  // The other wrr cells check properties any scheduler must keep (persistence, weight 0,
  // thresholds) or accept any server (rewrites), so only the exact sequence can tell.
  auto run = conform_with_fault("wrr-off-by-one", "dr/wrr/*");
  EXPECT_EQ(run.exit_code, 1);
  // The fault is in the scheduler, whatever the family: the IPv6 sequence shows it too.
  EXPECT_EQ(run.failed, (std::set<std::string>{"dr/wrr/scheduler/tcp", "dr/wrr/scheduler/tcp6"}))
      << run.details;
  EXPECT_NE(run.details.find("where the spec says rs3"), std::string::npos) << run.details;
}

TEST_F(MatrixFault, NoTtlDecrementFailsTheCellsThatCheckAForwardedHeader) {
  auto run = conform_with_fault("no-ttl-decrement", "dr/rr/rewrite/*");
  EXPECT_EQ(run.exit_code, 1);
  // The echo is the director's own answer, not a forwarded packet: it passes.
  EXPECT_EQ(run.failed,
            (std::set<std::string>{"dr/rr/rewrite/tcp", "dr/rr/rewrite/udp", "dr/rr/rewrite/sctp"}))
      << run.details;
  EXPECT_NE(run.details.find("! ip.ttl"), std::string::npos) << run.details;
}

// A failed cell is a bug report: the case it writes replays on the same faulty director and
// fails on the same field, and passes on a correct one (so the case itself is right). The udp
// cell goes on after its failed reply (a datagram without a checksum, both ways): the case
// must end at the failure, or a correct director's answers to the rest are unexpected frames.
TEST_F(MatrixFault, AFailedCellWritesACaseThatReplaysAndFailsTheSameWay) {
  for (const auto& [fault, cell, field] :
       {std::tuple{"no-nat-reply-rewrite", "nat/rr/rewrite/udp", "! ip.src"},
        std::tuple{"no-ttl-decrement", "dr/rr/rewrite/tcp", "! ip.ttl"},
        std::tuple{"wrr-off-by-one", "dr/wrr/scheduler/tcp", "rs3"}}) {
    SCOPED_TRACE(cell);
    auto conform = conform_with_fault(fault, cell);
    ASSERT_EQ(conform.failed, (std::set<std::string>{cell})) << conform.details;
    ASSERT_EQ(conform.cases.count(cell), 1u) << conform.details;
    const std::string replay = std::string(VSLAB_BINARY) + " replay " + conform.cases[cell] +
                               " --pcap-dir " + testing::TempDir() + "vslab-replay-pcaps";
    auto faulty = run(replay + " --dut builtin --dut-config " + fault_config(fault));
    EXPECT_EQ(faulty.exit_code, 1) << faulty.text;
    EXPECT_NE(faulty.text.find("FAIL"), std::string::npos) << faulty.text;
    EXPECT_NE(faulty.text.find(field), std::string::npos) << faulty.text;
    auto correct = run(replay + " --dut builtin");
    EXPECT_EQ(correct.exit_code, 0) << correct.text;
    EXPECT_NE(correct.text.find("PASS"), std::string::npos) << correct.text;
  }
}

}  // namespace
}  // namespace vslab::matrix
