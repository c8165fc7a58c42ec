// Runs after every namespace test (CTest fixture cleanup): nothing of vslab's may be left,
// neither a namespace nor a run record, run files (a DUT's socket) or an interface in the root
// namespace.
#include <gtest/gtest.h>

#include <filesystem>

#include "topology/netns.h"
#include "topology/runs.h"

namespace vslab::topo {
namespace {

TEST(Leftovers, NoVslabNamespaceOrRecordRemains) {
  if (!have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN (run as root): no topology ran";
  for (const auto& run : list_runs()) {
    ADD_FAILURE() << "run " << run.record.prefix << " (" << run.record.topology << ", pid "
                  << run.record.owner_pid << ") left " << run.netns.size() << " namespace(s)";
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/vslab", ec))
    if (run_prefix_of(entry.path().filename().string()))
      ADD_FAILURE() << "run files left behind: " << entry.path();
  auto links = run_command({"ip", "-br", "link", "show"});
  for (const char* own : {"b0p0", "vsl-"})
    EXPECT_EQ(links.output.find(own), std::string::npos) << links.output;
}

}  // namespace
}  // namespace vslab::topo
