// The layering holds: every quoted include of the source tree points down the layer table of
// layers.cpp. The check is first shown to catch an arrow up on a small tree made here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "layers.h"

namespace fs = std::filesystem;
using vslab::layers::check_tree;
using vslab::layers::Layer;
using vslab::layers::Violation;

namespace {

// A three-floor table for the synthetic trees: top over middle over base; base's tests may use
// middle.
const std::vector<Layer> kTable = {
    {"base", {}, {"middle"}},
    {"middle", {"base"}, {}},
    {"top", {"middle", "base"}, {}},
};
const std::string_view kRoots[] = {"base", "middle", "top"};

class SyntheticTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("vslab-layers-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  std::vector<Violation> check() { return check_tree(root_, kTable, kRoots); }

  fs::path root_;
};

TEST_F(SyntheticTree, AnArrowUpIsReportedWithFileIncludeAndBothLayers) {
  write("middle/m/m.h", "#pragma once\n");
  write("base/b/b.cpp", "#include \"m/m.h\"\n");
  const auto v = check();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].file, fs::path("base/b/b.cpp"));
  EXPECT_EQ(v[0].include, "m/m.h");
  EXPECT_EQ(v[0].from, "base");
  EXPECT_EQ(v[0].to, "middle");
  EXPECT_EQ(v[0].message(),
            "base/b/b.cpp: #include \"m/m.h\" is an arrow from base to middle, which the layer "
            "table (vslab/layers.cpp) does not allow");
}

TEST_F(SyntheticTree, ArrowsDownAndWithinALayerAreAllowed) {
  write("base/b/b.h", "#pragma once\n");
  write("base/b/b.cpp", "#include \"b.h\"\n#include \"b/b.h\"\n");
  write("middle/m/m.h", "#pragma once\n  #  include \"b/b.h\"\n");
  write("top/t/main.cpp", "#include \"m/m.h\"\n#include \"b/b.h\"\n#include <vector>\n");
  EXPECT_TRUE(check().empty());
}

TEST_F(SyntheticTree, ASkippedFloorIsAllowedOnlyWhenTheTableSaysSo) {
  // top -> base is in the table; middle -> top is not, even two floors down.
  write("top/t/t.h", "#pragma once\n");
  write("middle/m/m.cpp", "#include \"t/t.h\"\n");
  const auto v = check();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].to, "top");
}

TEST_F(SyntheticTree, TestsAndTheBedsOnlyTheyIncludeMayUseTheirExtraLayers) {
  write("middle/m/m.h", "#pragma once\n");
  write("base/b/bed.h", "#include \"m/m.h\"\n");
  write("base/b/b_test.cpp", "#include \"bed.h\"\n#include \"m/m.h\"\n");
  EXPECT_TRUE(check().empty());

  // Once production code includes the bed, the bed is production code and its arrow is up.
  write("base/b/b.cpp", "#include \"bed.h\"\n");
  const auto v = check();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].file, fs::path("base/b/bed.h"));
}

TEST_F(SyntheticTree, AFolderOutsideTheTableIsReported) {
  write("newfloor/x.cpp", "int x;\n");
  const auto v = check();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].from, "newfloor");
  EXPECT_NE(v[0].message().find("not in the layer table"), std::string::npos);
}

TEST_F(SyntheticTree, BuildTreesAndHiddenFoldersAreSkipped) {
  write("middle/m/m.h", "#pragma once\n");
  write("build/CMakeCache.txt", "");
  write("build/gen/x.cpp", "#include \"m/m.h\"\n");
  write(".git/x.cpp", "#include \"m/m.h\"\n");
  EXPECT_TRUE(check().empty());
}

TEST(SourceTree, EveryIncludePointsDownTheLayerTable) {
  const auto violations =
      check_tree(VSLAB_SOURCE_DIR, vslab::layers::allowed_arrows(), vslab::layers::include_roots());
  std::string report;
  for (const auto& v : violations) report += v.message() + "\n";
  EXPECT_TRUE(violations.empty()) << report;
}

}  // namespace
