// The scale-out verdict from hand-made outcomes: what passes, what each kind of failure says,
// and the listing lines the flows' directors are read from.
#include "scaleout/outcome.h"

#include <gtest/gtest.h>

namespace vslab::scaleout {
namespace {

Flow flow(const char* proto, uint16_t port, const char* before, const char* server,
          const char* after, const char* server_after, const char* error = "") {
  return {proto, port, before, server, after, server_after, error};
}

Outcome three_directors() {
  Outcome o;
  o.scheduler = "mh";
  o.sloppy_tcp = true;
  o.directors = {"d1", "d2", "d3"};
  o.removed = "d1";
  o.probes = {{40000, {{"d1", "rs2"}, {"d2", "rs2"}, {"d3", "rs2"}}}};
  o.flows = {
      flow("TCP", 40001, "d1", "rs1", "d2", "rs1"), flow("TCP", 40002, "d2", "rs3", "d2", "rs3"),
      flow("UDP", 40003, "d3", "rs2", "d3", "rs2"), flow("UDP", 40004, "d1", "rs2", "d3", "rs2")};
  return o;
}

TEST(ScaleoutOutcome, EveryFlowKeptAndSpreadPasses) {
  const auto o = three_directors();
  const auto f = figures_of(o);
  EXPECT_TRUE(f.passed()) << report_text(o, f);
  EXPECT_EQ(f.moved, 2);
  EXPECT_EQ(f.moved_kept, 2);
  EXPECT_EQ(f.broken, 0);
  EXPECT_EQ(f.tcp_by_director.at("d1"), 1);
  EXPECT_EQ(f.udp_by_director.at("d1"), 1);
  EXPECT_EQ(f.tcp_by_director.at("d3"), 0);
  const auto text = report_text(o, f);
  EXPECT_NE(text.find("spread:  d1 2 (TCP 1, UDP 1)  d2 1 (TCP 1, UDP 0)  d3 1 (TCP 0, UDP 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("d1 removed from the route: 2 flows moved to another director, 2 of them "
                      "kept their real server; 0 flows broken"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("PASS"), std::string::npos);
}

TEST(ScaleoutOutcome, AFlowThatLostItsServerOrWasResetIsListed) {
  auto o = three_directors();
  o.flows[0] = flow("TCP", 40001, "d1", "rs1", "d2", "", "reset");
  o.flows[3] = flow("UDP", 40004, "d1", "rs2", "d3", "rs1");
  const auto f = figures_of(o);
  EXPECT_FALSE(f.passed());
  EXPECT_EQ(f.broken, 2);
  EXPECT_EQ(f.moved_kept, 0);
  ASSERT_EQ(f.problems.size(), 2u);
  EXPECT_EQ(f.problems[0], "TCP :40001 broken: rs1 on d1 before, reset on d2 after");
  EXPECT_EQ(f.problems[1], "UDP :40004 broken: rs2 on d1 before, rs1 on d3 after");
}

TEST(ScaleoutOutcome, AProbeThatChoseTwoServersFails) {
  auto o = three_directors();
  o.probes[0].server_by_director["d3"] = "rs1";
  const auto f = figures_of(o);
  EXPECT_EQ(f.inconsistent_probes, 1);
  ASSERT_EQ(f.problems.size(), 1u);
  EXPECT_EQ(f.problems[0], "UDP :40000 chose different real servers: d1 rs2 d2 rs2 d3 rs1");
  o.probes[0].server_by_director = {{"d1", ""}, {"d2", ""}};
  EXPECT_FALSE(figures_of(o).passed()) << "no answer from any director is no consistency";
}

TEST(ScaleoutOutcome, NoSpreadOrNoMovedFlowTestsNothing) {
  auto o = three_directors();
  o.flows = {flow("TCP", 40001, "d2", "rs1", "d2", "rs1")};
  const auto f = figures_of(o);
  EXPECT_EQ(f.problems,
            (std::vector<std::string>{"d1 took no flow: the router did not spread them",
                                      "d3 took no flow: the router did not spread them",
                                      "no flow moved when d1 left the route: nothing was tested"}));
}

TEST(ScaleoutOutcome, ListingLinesGiveTcpAndUdpEntriesOnly) {
  const auto listed = parse_connection_listing(
      "IPVS connection entries\n"
      "pro expire state       source             virtual            destination\n"
      "TCP 14:59  ESTABLISHED 10.20.0.2:40001    10.40.0.100:80     10.40.0.11:80\n"
      "UDP 04:56  UDP         10.20.0.2:40003    10.40.0.100:80     10.40.0.13:80\n"
      "IP  05:59  NONE        10.10.0.2:0        0.0.0.1:0          192.168.10.11:0\n");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].proto, "TCP");
  EXPECT_EQ(listed[0].state, "ESTABLISHED");
  EXPECT_EQ(listed[0].client, "10.20.0.2:40001");
  EXPECT_EQ(listed[1].destination, "10.40.0.13:80");
}

}  // namespace
}  // namespace vslab::scaleout
