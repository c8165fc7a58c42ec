// The matrix's reports: the table's marks, the summary's counts, and JUnit XML that a schema
// validator accepts (xmllint against conformance/matrix/junit.xsd), with awkward text escaped.
#include "matrix/report.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace vslab::matrix {
namespace {

std::vector<CellResult> sample() {
  return {
      {cell_named("nat", "rr", "rewrite", "tcp"), Outcome::Pass, "", 0.12, {}, {}},
      {cell_named("nat", "rr", "rewrite", "udp"),
       Outcome::Fail,
       "to the real server: ! ip.ttl 62 63\n<&>\"'\x01",
       0.5,
       {"/tmp/x/in-rs1-eth0.pcap"},
       "/tmp/x"},
      {cell_named("nat", "rr", "pmtu", "tcp"),
       Outcome::Skip,
       "not applicable: TUN only",
       0,
       {},
       {}},
      {cell_named("tun", "wrr", "pmtu", "tcp"), Outcome::Pass, "", 0.2, {}, {}},
  };
}

TEST(MatrixTable, MarksEachRowAndKindAndListsFailuresAndSkipReasons) {
  auto table = format_table(sample());
  EXPECT_NE(table.find("nat/rr         FAIL"), std::string::npos) << table;
  EXPECT_NE(table.find("tun/wrr        -"), std::string::npos) << table;
  EXPECT_NE(table.find("- nat/rr/rewrite/udp: to the real server: ! ip.ttl 62 63"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("- not applicable: TUN only"), std::string::npos) << table;
}

TEST(MatrixTable, SummaryCounts) {
  EXPECT_EQ(format_summary(sample(), 12.34, 2),
            "4 cells: 2 passed, 1 failed, 1 skipped; 12.3 s wall at -j2\n");
}

TEST(MatrixJson, RoundTrips) {
  auto back = results_from_json(to_json(sample()));
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[1].cell.id(), "nat/rr/rewrite/udp");
  EXPECT_EQ(back[1].outcome, Outcome::Fail);
  EXPECT_EQ(back[1].pcaps, sample()[1].pcaps);
  EXPECT_EQ(back[1].case_dir, "/tmp/x");
  EXPECT_EQ(back[2].detail, "not applicable: TUN only");
}

// A run stopped early: the cell the DUT died in is an error, the cells after it are not run;
// JUnit has <error> and skips that say why, JSON keeps both, the table and summary show them.
std::vector<CellResult> stopped_run() {
  CellResult died{cell_named("nat", "rr", "rewrite", "tcp"),
                  Outcome::Fail,
                  "the DUT died during this cell: vsd (pid 7) is no longer running",
                  0.3,
                  {},
                  {}};
  died.error = true;
  return {died,
          not_run(cell_named("nat", "rr", "rewrite", "udp"),
                  "not run: the run stopped when the DUT died (in nat/rr/rewrite/tcp)"),
          not_run(cell_named("nat", "rr", "scheduler", "tcp"), "not run: interrupted by SIGINT")};
}

TEST(MatrixReports, AnErrorAndCellsNotRun) {
  const auto junit = format_junit(stopped_run(), 1.0);
  EXPECT_NE(junit.find("failures=\"0\" skipped=\"2\" errors=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<error message=\"the DUT died during this cell: vsd (pid 7)"),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find("<skipped message=\"not run: interrupted by SIGINT\"/>"), std::string::npos)
      << junit;
  EXPECT_EQ(format_summary(stopped_run(), 1.0, 1),
            "3 cells: 0 passed, 1 failed (1 of them errors), 0 skipped, 2 not run; 1.0 s wall at "
            "-j1\n");
  const auto table = format_table(stopped_run());
  EXPECT_NE(table.find("nat/rr         ERROR        not run"), std::string::npos) << table;
  EXPECT_NE(table.find("Not run:\n- not run: interrupted by SIGINT\n"), std::string::npos) << table;
  auto back = results_from_json(to_json(stopped_run()));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_TRUE(back[0].error);
  EXPECT_EQ(back[1].outcome, Outcome::NotRun);
  EXPECT_EQ(back[2].detail, "not run: interrupted by SIGINT");
}

TEST(MatrixJunit, ValidatesAgainstTheJunitSchema) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "xmllint (libxml2-utils) is not installed";
  const std::string file = testing::TempDir() + "vslab-junit.xml";
  std::ofstream(file) << format_junit(sample(), 1.5);
  const std::string cmd = "xmllint --noout --schema " VSLAB_JUNIT_XSD " " + file + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ofstream(file) << format_junit(stopped_run(), 1.5);
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "with <error> and not-run skips: " << cmd;
  // And a document the schema must refuse, so the check itself can fail.
  std::ofstream(file) << "<testsuites><testsuite name=\"x\"><testcase/></testsuite></testsuites>";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::remove(file.c_str());
}

}  // namespace
}  // namespace vslab::matrix
