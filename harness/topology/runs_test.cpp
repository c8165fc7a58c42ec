// Run prefixes carry the owner's pid, so gc can tell a dead run from a live one.
#include "topology/runs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/child_process.h"

namespace vslab::topo {
namespace {

TEST(RunPrefix, CarriesThisProcessIdAndCounts) {
  auto first = new_run_prefix();
  auto second = new_run_prefix();
  std::string mine = "vsl-" + std::to_string(getpid()) + "-";
  EXPECT_EQ(first.rfind(mine, 0), 0u);
  EXPECT_NE(first, second);
}

TEST(RunPrefix, IsFoundInNamespaceNames) {
  EXPECT_EQ(run_prefix_of("vsl-123-4-client").value_or(""), "vsl-123-4");
  EXPECT_EQ(run_prefix_of("vsl-123-4.sw").value_or(""), "vsl-123-4");
  EXPECT_EQ(run_prefix_of("vsl-123-4").value_or(""), "vsl-123-4");
  EXPECT_FALSE(run_prefix_of("vslab-dr-client").has_value());
  EXPECT_FALSE(run_prefix_of("vsl-abc-1-client").has_value());
  EXPECT_FALSE(run_prefix_of("myns").has_value());
}

TEST(ProcessStartTime, IsKnownForThisProcessAndZeroForNone) {
  EXPECT_GT(process_start_time(getpid()), 0u);
  EXPECT_EQ(process_start_time(0x3fffffff), 0u);
}

// A run's owner killed with -9 stays a zombie until its parent reaps it; gc must see it gone.
TEST(ProcessStartTime, IsZeroForAZombie) {
  auto child = os::ChildProcess::fork_running([] { return 0; });
  siginfo_t info{};
  // Waits for the exit without reaping: the child is a zombie from here on.
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child.pid()), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(process_start_time(child.pid()), 0u);
}

}  // namespace
}  // namespace vslab::topo
