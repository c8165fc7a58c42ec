// The failover scenario with Linux IPVS directors, each a qemu guest (dut/qemu), the harness
// moving the VIP through the guests' shells: the master (its qemu, or vsd) SIGKILLed, the
// kernel's own sync daemons in the guests, so no flow may be reset (docs/ipvs.md section 14).
#include <gtest/gtest.h>

#include <iostream>

#include "failover/scenario.h"

namespace vslab::failover {
namespace {

ScenarioReport run(DirectorKind master, bool sync, std::vector<Failure> failures) {
  ScenarioOptions options;
  options.vsd_binary = VSLAB_VSD_BINARY;
  options.vsadm_binary = VSLAB_VSADM_BINARY;
  options.master_kind = master;
  options.backup_kind = DirectorKind::QemuKernel;
  options.sync = sync;
  options.mover = VipMover::Harness;
  options.failures = std::move(failures);
  auto report = run_failover(options, [](const std::string& line) { std::cerr << line << "\n"; });
  std::cout << format_report(report);
  return report;
}

void expect_no_reset(const ScenarioReport& report, std::size_t phases) {
  ASSERT_EQ(report.phases.size(), phases);
  for (const auto& p : report.phases) {
    SCOPED_TRACE(name_of(p.failure) + " " + p.phase);
    EXPECT_EQ(p.error, "");
    EXPECT_TRUE(p.vip_moved_ms.has_value());
    ASSERT_EQ(p.flows.size(), 3u);
    for (const auto& problem : p.problems) ADD_FAILURE() << problem;
    for (const auto& f : p.flows) {
      EXPECT_FALSE(f.client_reset) << f.flow;
      EXPECT_FALSE(f.server_reset) << f.flow;
      EXPECT_TRUE(f.resumed) << f.flow << ": " << f.detail;
    }
  }
}

TEST(FailoverQemu, KernelPairWithSyncKilledMasterResetsNoFlow) {
  auto report = run(DirectorKind::QemuKernel, true, {Failure::Kill});
  if (!report.skipped.empty()) GTEST_SKIP() << report.skipped;
  expect_no_reset(report, 2);
}

// vsd's sync daemon and the kernel's understand each other both ways (director/sync): vsd's
// messages fill the kernel backup for the failover, the kernel's fill the rebooted vsd for the
// failback.
TEST(FailoverQemu, MixedPairWithSyncKilledVsdMasterResetsNoFlow) {
  auto report = run(DirectorKind::Vsd, true, {Failure::Kill});
  if (!report.skipped.empty()) GTEST_SKIP() << report.skipped;
  expect_no_reset(report, 2);
}

}  // namespace
}  // namespace vslab::failover
