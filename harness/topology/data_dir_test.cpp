// Where a program finds topologies: the build tree's programs read the source tree, an
// installed one its prefix's share/vslab, wherever the source tree is.
#include "topology/data_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vslab::topo {
namespace {

TEST(DataDir, AProgramInTheBuildTreeReadsTheSourceTree) {
  EXPECT_EQ(data_dir_for(std::filesystem::path(VSLAB_BUILD_DIR) / "vslab"),
            std::filesystem::path(VSLAB_SOURCE_DIR));
  EXPECT_EQ(data_dir_for(std::filesystem::path(VSLAB_BUILD_DIR) / "conformance" / "x_test"),
            std::filesystem::path(VSLAB_SOURCE_DIR));
}

TEST(DataDir, AnInstalledProgramReadsItsPrefixShare) {
  EXPECT_EQ(data_dir_for("/usr/bin/vslab"), std::filesystem::path("/usr/share/vslab"));
  EXPECT_EQ(data_dir_for("/opt/vs/sbin/vsd"), std::filesystem::path("/opt/vs/share/vslab"));
}

// A folder beside the build tree whose name starts the same is not inside it.
TEST(DataDir, ABuildTreeNamePrefixIsNotTheBuildTree) {
  auto sibling = std::filesystem::path(std::string(VSLAB_BUILD_DIR) + "-other") / "bin" / "vslab";
  EXPECT_EQ(data_dir_for(sibling),
            std::filesystem::path(std::string(VSLAB_BUILD_DIR) + "-other") / "share" / "vslab");
}

TEST(DataDir, ThisTestRunsFromTheBuildTreeSoTopologiesAreTheSourceTrees) {
  EXPECT_TRUE(std::filesystem::exists(topology_dir() / "nat.toml")) << topology_dir();
  EXPECT_EQ(topology_dir(), std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies");
}

}  // namespace
}  // namespace vslab::topo
