// The matrix's reports: the table's marks, the summary's counts, cells as report entries (the
// JUnit and JSON writers themselves are tested in harness/report).
#include "matrix/report.h"

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
            "4 cells: 2 passed, 1 failed, 0 errors, 1 skipped; 12.3 s wall at -j2\n");
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

TEST(MatrixReport, ACellIsATestcaseOfItsRowAndAnErrorIsNoFailure) {
  auto results = sample();
  results[3].outcome = Outcome::Error;
  results[3].detail = "bed for tun: vsd did not start";
  auto xml = report::to_junit(to_report(results));
  EXPECT_NE(xml.find("<testcase classname=\"nat.rr\" name=\"rewrite/udp\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("failures=\"1\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"error\" message=\"bed for tun: vsd did not start\">"),
            std::string::npos)
      << xml;
  auto table = format_table(results);
  EXPECT_NE(table.find("tun/wrr        -            -            -            -            -     "
                       "       -            -            -            ERROR"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("Errors:\n- tun/wrr/pmtu/tcp: bed for tun"), std::string::npos) << table;
}

}  // namespace
}  // namespace vslab::matrix
