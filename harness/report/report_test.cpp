// The report model and its forms: totals by verdict, JUnit with properties, timestamp, and
// <error> apart from <failure> and <skipped> (valid against conformance/matrix/junit.xsd, with
// xmllint), JSON that round-trips with the command's own fields, and report paths checked.
#include "report/report.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace vslab::report {
namespace {

Report sample() {
  Report r;
  r.suite = "conform";
  r.timestamp = "2026-12-07T04:40:38";
  r.duration = 12.5;
  r.properties = {{"dut", "builtin"}, {"hostname", "ci-7"}, {"filter", "nat/*"}};
  r.entries = {
      {"nat/rr/rewrite/tcp", "nat.rr", "rewrite/tcp", Verdict::Pass, "", 0.12, {}},
      {"nat/rr/rewrite/udp",
       "nat.rr",
       "rewrite/udp",
       Verdict::Fail,
       "to the real server: ! ip.ttl 62 63\n<&>\"'\x01",
       0.5,
       {{"pcaps", {"/tmp/x.pcap"}}}},
      {"nat/rr/pmtu/tcp", "nat.rr", "pmtu/tcp", Verdict::Skip, "not applicable: TUN only", 0, {}},
      {"nat/wrr/rewrite/tcp",
       "nat.wrr",
       "rewrite/tcp",
       Verdict::Error,
       "bed for nat: vsd did not start",
       0,
       {}},
      {"nat/wrr/rewrite/udp", "nat.wrr", "rewrite/udp", Verdict::NotRun, "interrupted", 0, {}},
  };
  return r;
}

TEST(Report, TotalsCountEachVerdict) {
  auto t = sample().totals();
  EXPECT_EQ(t.cells, 5u);
  EXPECT_EQ(t.passed, 1u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(t.errors, 1u);
  EXPECT_EQ(t.skipped, 1u);
  EXPECT_EQ(t.not_run, 1u);
  EXPECT_DOUBLE_EQ(t.duration, 12.5);
}

TEST(Report, JunitKeepsErrorsApartFromFailuresAndCarriesProperties) {
  auto xml = to_junit(sample());
  EXPECT_NE(xml.find("tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"2\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("timestamp=\"2026-12-07T04:40:38\" hostname=\"ci-7\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<property name=\"filter\" value=\"nat/*\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"error\" message=\"bed for nat: vsd did not start\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure type=\"failure\" message=\"to the real server: ! ip.ttl 62 63\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<skipped message=\"not applicable: TUN only\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped type=\"not-run\" message=\"not run: interrupted\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("&lt;&amp;&gt;&quot;&apos;?"), std::string::npos) << xml;
}

TEST(Report, JunitValidatesAgainstTheSchema) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "xmllint (libxml2-utils) is not installed";
  const std::string file = testing::TempDir() + "vslab-report-junit.xml";
  std::ofstream(file) << to_junit(sample());
  const std::string cmd = "xmllint --noout --schema " VSLAB_JUNIT_XSD " " + file + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  // A timestamp that is no date: the schema refuses it, so the check above can fail.
  auto bad = sample();
  bad.timestamp = "yesterday";
  std::ofstream(file) << to_junit(bad);
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::remove(file.c_str());
}

TEST(Report, JsonHasTotalsAndRoundTrips) {
  auto j = to_json(sample());
  EXPECT_EQ(j["totals"]["cells"], 5);
  EXPECT_EQ(j["totals"]["errors"], 1);
  EXPECT_EQ(j["totals"]["not_run"], 1);
  EXPECT_EQ(j["totals"]["duration"], 12.5);
  EXPECT_EQ(j["properties"]["dut"], "builtin");
  EXPECT_EQ(j["cells"][1]["outcome"], "fail");
  EXPECT_EQ(j["cells"][1]["pcaps"][0], "/tmp/x.pcap");
  auto back = from_json(nlohmann::json::parse(json_text(j)));
  EXPECT_EQ(back.suite, "conform");
  EXPECT_EQ(back.timestamp, "2026-12-07T04:40:38");
  ASSERT_EQ(back.entries.size(), 5u);
  EXPECT_EQ(back.entries[3].verdict, Verdict::Error);
  EXPECT_EQ(back.entries[4].verdict, Verdict::NotRun);
  EXPECT_EQ(back.entries[1].fields, (nlohmann::json{{"pcaps", {"/tmp/x.pcap"}}}));
  EXPECT_EQ(back.entries[1].classname, "nat.rr");
  ASSERT_NE(back.property("filter"), nullptr);
  EXPECT_EQ(*back.property("filter"), "nat/*");
}

TEST(Report, FromJsonRefusesWhatIsNoReport) {
  EXPECT_THROW(from_json(nlohmann::json{{"x", 1}}), std::runtime_error);
  EXPECT_THROW(from_json(nlohmann::json::parse(R"({"cells":[{"id":"a","outcome":"maybe"}]})")),
               std::runtime_error);
  EXPECT_THROW(from_json(nlohmann::json::parse(R"({"cells":[{"outcome":"pass"}]})")),
               std::runtime_error);
}

TEST(Report, HostPropertiesNameVersionKernelAndHost) {
  Report r;
  r.properties = host_properties();
  ASSERT_NE(r.property("vslab_version"), nullptr);
  ASSERT_NE(r.property("kernel_release"), nullptr);
  ASSERT_NE(r.property("hostname"), nullptr);
  EXPECT_FALSE(r.property("kernel_release")->empty());
}

TEST(Report, UtcTimestampIsIso8601) {
  EXPECT_EQ(utc_timestamp(std::chrono::system_clock::time_point(std::chrono::seconds(86400 + 61))),
            "1970-01-02T00:01:01");
}

TEST(Report, PathsAreCheckedBeforeARun) {
  const std::string dir = testing::TempDir() + "vslab-report-paths-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  EXPECT_EQ(unwritable_reason(dir + "/r.json"), "");
  EXPECT_FALSE(std::filesystem::exists(dir + "/r.json"));  // the check leaves nothing behind
  EXPECT_NE(unwritable_reason(dir + "/missing/r.json").find("does not exist"), std::string::npos);
  EXPECT_NE(unwritable_reason(dir).find("is a folder"), std::string::npos);
  if (geteuid() != 0) {  // root writes anywhere, so a read-only folder tells nothing there
    chmod(dir.c_str(), 0555);
    EXPECT_NE(unwritable_reason(dir + "/r.json").find("cannot be written"), std::string::npos);
    chmod(dir.c_str(), 0755);
  }
  EXPECT_NE(unwritable_reason("/proc/vslab-report.json"), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vslab::report
