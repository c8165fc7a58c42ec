// The failover scenario against a pair of external boxes: two namespaces of the test's own with
// vsd started by hand in each (dut/hand_started_box.h), wired to this namespace's interfaces and
// described by configs as a person would write them for two real directors, their [failover]
// commands acting on those namespaces (kill -9 by pid file, vsd started again, the VIP added
// and announced). The harness sees neither box from inside, yet the verdicts must be the builtin
// pair's (failover_test.cpp): without sync TCP reset by the new master and UDP going on, with
// sync no reset.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/core.h>

#include "dut/hand_started_box.h"
#include "failover/scenario.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::failover {
namespace {

// The box's conform config, and the commands a failover run needs of it.
dut::ExternalConfig failover_config(const dut::HandStartedBox& box, const std::string& name) {
  // What topologies/failover.toml's pair moves between the boxes (the VIP, the real servers'
  // gateway): a dead box must not answer for them.
  const std::vector<std::string> floating{"10.20.0.100/32", "192.168.10.1/32"};
  std::string text = dut::external_config_text(box);
  text.replace(text.find("vsd by hand"), 11, name);
  text += "[failover]\n";
  text += "kill = " + dut::quoted_toml(box.kill_command(floating)) + "\n";
  text += "revive = " + dut::quoted_toml(box.revive_command()) + "\n";
  text += "take_vip = " + dut::quoted_toml(box.take_vip_command()) + "\n";
  text += "release_vip = " + dut::quoted_toml(box.release_vip_command()) + "\n";
  const std::string path = box.dir() + "/failover.toml";
  std::ofstream(path) << text;
  return dut::read_external_config(path);
}

class FailoverExternal : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to make namespaces";
    auto parsed =
        topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/failover.toml");
    ASSERT_TRUE(parsed.ok());
    // A backup must not answer for a VIP it does not hold, as with the builtin pair.
    for (const char* role : {"director", "backup"})
      boxes_.push_back(std::make_unique<dut::HandStartedBox>(
          *parsed.topology->find_role(role), std::vector<std::string>{"--vips-follow-host"}));
  }
  void TearDown() override {
    if (HasFailure())
      for (const auto& box : boxes_)
        std::cerr << "--- vsd log of " << box->netns() << ":\n" << box->log();
  }

  ScenarioReport run(bool sync, std::vector<Failure> failures) {
    ScenarioOptions options;
    options.master_kind = options.backup_kind = DirectorKind::External;
    options.master_box = failover_config(*boxes_[0], "box one");
    options.backup_box = failover_config(*boxes_[1], "box two");
    options.sync = sync;
    options.mover = VipMover::Harness;
    options.failures = std::move(failures);
    auto report = run_failover(options, [](const std::string& line) { std::cerr << line << "\n"; });
    std::cout << format_report(report);
    return report;
  }

  std::vector<std::unique_ptr<dut::HandStartedBox>> boxes_;
};

void expect_every_phase_ran(const ScenarioReport& report, std::size_t phases) {
  EXPECT_TRUE(report.skipped_cases.empty());
  ASSERT_EQ(report.phases.size(), phases);
  for (const auto& p : report.phases) {
    SCOPED_TRACE(name_of(p.failure) + " " + p.phase);
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.vip_moved_ms.has_value());
    EXPECT_EQ(p.flows.size(), 3u);
    for (const auto& problem : p.problems) ADD_FAILURE() << problem;
  }
}

TEST_F(FailoverExternal, WithoutSyncTheNewMasterResetsTcpAsTheSpecPredicts) {
  auto report = run(false, {Failure::Kill, Failure::PullLink});
  if (!report.skipped.empty()) GTEST_SKIP() << report.skipped;
  expect_every_phase_ran(report, 4);
  for (const auto& p : report.phases)
    for (const auto& f : p.flows) {
      const bool tcp = f.flow.rfind("tcp", 0) == 0;
      EXPECT_EQ(f.client_reset, tcp) << p.phase << " " << f.flow << ": " << f.detail;
      if (!tcp) {
        EXPECT_TRUE(f.resumed) << p.phase << " " << f.flow << ": " << f.detail;
      }
    }
}

TEST_F(FailoverExternal, WithSyncNoFlowIsReset) {
  auto report = run(true, {Failure::Kill, Failure::PullLink});
  if (!report.skipped.empty()) GTEST_SKIP() << report.skipped;
  expect_every_phase_ran(report, 4);
  for (const auto& p : report.phases)
    for (const auto& f : p.flows) {
      // As with the builtin pair: the link case's failback meets flows synced while the
      // returning master was cut off (judged by the scenario).
      if (p.failure == Failure::PullLink && p.phase == "failback" && f.flow.rfind("tcp", 0) == 0)
        continue;
      EXPECT_FALSE(f.client_reset) << p.phase << " " << f.flow;
      EXPECT_FALSE(f.server_reset) << p.phase << " " << f.flow;
      EXPECT_TRUE(f.resumed) << p.phase << " " << f.flow << ": " << f.detail;
    }
}

// A box without the commands a case needs: that case skips, naming the key and the file.
TEST_F(FailoverExternal, ACaseWhoseCommandIsNotConfiguredSkipsNamingTheKey) {
  ScenarioOptions options;
  options.master_kind = options.backup_kind = DirectorKind::External;
  options.master_box = failover_config(*boxes_[0], "box one");
  options.backup_box = failover_config(*boxes_[1], "box two");
  options.master_box.failover.revive.reset();
  options.mover = VipMover::Harness;
  options.failures = {Failure::Kill};
  auto report = run_failover(options, [](const std::string&) {});
  EXPECT_TRUE(report.phases.empty());
  EXPECT_EQ(report.skipped,
            "kill: not configured: [failover] revive in " + boxes_[0]->dir() + "/failover.toml");
}

}  // namespace
}  // namespace vslab::failover
