// Runs after every namespace test (CTest fixture cleanup): nothing this suite made may be left,
// neither a namespace nor a run record, run files (a DUT's socket) or an interface in the root
// namespace. "This suite" is every process started under the one that started this check
// (ctest): a run's record names its owner's ancestors, so a run of another process on the same
// machine (a second ctest, a CI job beside this one) is not this suite's to judge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "topology/netns.h"
#include "topology/runs.h"

namespace vslab::topo {
namespace {

bool descends_from(const std::vector<ProcessId>& ancestry, const ProcessId& suite) {
  return std::find(ancestry.begin(), ancestry.end(), suite) != ancestry.end();
}

// Whether the suite made the run: by the ancestry its record kept, or, for a run without one
// (namespaces made by hand from a script), by its owner's ancestry now.
bool made_by(const RunInfo& run, const ProcessId& suite) {
  if (!run.record.ancestry.empty()) return descends_from(run.record.ancestry, suite);
  if (run.state == RunState::Running)
    return descends_from(process_ancestry(run.record.owner_pid), suite);
  return false;
}

TEST(Leftovers, NoVslabNamespaceOrRecordRemains) {
  if (!have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN (run as root): no topology ran";
  const ProcessId suite{getppid(), process_start_time(getppid())};
  for (const auto& run : list_runs()) {
    if (!made_by(run, suite)) {
      // Another process's: a live run of its own, or an orphan gc removes; not judged here.
      std::cout << "not this suite's: run " << run.record.prefix << " (pid " << run.record.owner_pid
                << ", " << run.netns.size() << " namespace(s))\n";
      continue;
    }
    ADD_FAILURE() << "run " << run.record.prefix << " (" << run.record.topology << ", pid "
                  << run.record.owner_pid << ") left " << run.netns.size() << " namespace(s)";
  }
  auto links = run_command({"ip", "-br", "link", "show"});
  for (const char* own : {"b0p0", "vsl-"})
    EXPECT_EQ(links.output.find(own), std::string::npos) << links.output;
}

// The judgement itself: a run whose record names this process's parent is the suite's, one
// whose ancestry does not is another's, live or not.
TEST(Leftovers, JudgesRunsByTheAncestryTheirRecordKept) {
  const ProcessId suite{getppid(), process_start_time(getppid())};
  RunInfo mine;
  mine.record.ancestry = process_ancestry(getpid());
  EXPECT_TRUE(made_by(mine, suite));
  RunInfo other;
  other.state = RunState::Running;
  other.record.owner_pid = getpid();
  other.record.ancestry = {{1234567, 42}};
  EXPECT_FALSE(made_by(other, suite));
  RunInfo unrecorded_live;
  unrecorded_live.state = RunState::Running;
  unrecorded_live.record.owner_pid = getpid();
  EXPECT_TRUE(made_by(unrecorded_live, suite));
}

}  // namespace
}  // namespace vslab::topo
