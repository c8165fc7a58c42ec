// `vslab mutate` judges itself: on a small slice of the matrix, a mutant that breaks a rewrite
// is killed and its failure names the field, a mutant that changes nothing a director does
// is reported SURVIVED and fails the run, and a mutant whose text is not in the source is
// STALE (selftest.toml). Runs the real vslab binary, which builds a copy of the source.
#include <unistd.h>

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "matrix/vslab_process.h"

namespace vslab::mutate {
namespace {

// The table row of a mutant: "id  verdict  names  cell ...".
std::string row_of(const std::string& text, const std::string& id) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(id + " ", 0) == 0 && line.find("behaviour") == std::string::npos) return line;
  return {};
}

TEST(MutateCli, KillsReportsSurvivorsAndStaleMutants) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the matrix makes network namespaces";
  const std::string cmd = std::string(VSLAB_BINARY) +
                          " mutate --mutants " VSLAB_SOURCE_DIR
                          "/conformance/mutate/selftest.toml --filter 'nat/rr/rewrite/*' "
                          "--no-fixtures --no-baseline -j 2 --work " VSLAB_BUILD_DIR
                          "/mutate-selftest";
  matrix::Output out = matrix::run(cmd);
  EXPECT_EQ(out.exit_code, 1) << out.text;  // a survivor (and a stale mutant) fail the run
  // The table comes after the progress lines; each row starts with its id.
  const std::string table = out.text.substr(out.text.find("\nmutant "));
  EXPECT_NE(row_of(table, "selftest-killed").find("killed       yes   nat/rr/rewrite/"),
            std::string::npos)
      << out.text;
  EXPECT_NE(row_of(table, "selftest-survives").find("SURVIVED"), std::string::npos) << out.text;
  EXPECT_NE(row_of(table, "selftest-stale").find("STALE"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("score: 1/2 killed (50.0 %); 1 survived, 1 stale"), std::string::npos)
      << out.text;
}

}  // namespace
}  // namespace vslab::mutate
