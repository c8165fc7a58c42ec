// The kernel reference: real Linux IPVS (Debian's 6.1 kernel booted under qemu, the
// qemu-kernel DUT) through the same matrix cells and pcap cases as vsd. A reduced set, for
// CI (ctest -L qemu): the rr cells of every scenario kind in NAT, DR and TUN, IPv4 and IPv6,
// and the pcap cases of those modes. Runs the real vslab binary.
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vslab_process.h"

namespace vslab::matrix {
namespace {

TEST(QemuKernelReference, RealIpvsPassesTheRrCellsOfEveryKindInNatDrAndTun) {
  const std::string report = testing::TempDir() + "vslab-qemu-kernel.json";
  auto out = run(std::string(VSLAB_BINARY) + " conform --dut qemu-kernel --filter '*/rr/*' -j 2" +
                 " --json " + report + " --pcap-dir " + testing::TempDir() + "vslab-qemu-pcaps");
  std::ifstream in(report);
  ASSERT_TRUE(in) << out.text;
  auto json = nlohmann::json::parse(in);
  std::map<std::string, int> outcomes;                          // "mode outcome" -> cells
  std::map<std::string, std::set<std::string>> not_applicable;  // mode -> kinds
  std::map<std::string, int> ipv6_cells, ipv6_passed;           // mode -> cells
  for (const auto& cell : json["cells"]) {
    const std::string mode = cell["mode"], outcome = cell["outcome"];
    ++outcomes[mode + " " + outcome];
    const std::string proto = cell["proto"];
    // An IPv6 cell of a kind that does not apply to the mode (pmtu/tcp6 outside TUN) is no
    // cell the kernel could pass.
    const bool applies = outcome != "skip" || cell["detail"].get<std::string>().find(
                                                  "not applicable") == std::string::npos;
    if (proto.ends_with("6") && applies) {
      ++ipv6_cells[mode];
      if (outcome == "pass") ++ipv6_passed[mode];
    }
    if (outcome == "skip") {
      // What may skip: FULLNAT (not in mainline), and the cells no director could run.
      const std::string detail = cell["detail"];
      const bool inapplicable = detail.find("not applicable") != std::string::npos;
      const bool not_claimed = detail.find("not claimed") != std::string::npos;
      EXPECT_TRUE(inapplicable || (mode == "fullnat" && not_claimed))
          << cell["id"] << ": " << detail;
      if (inapplicable) not_applicable[mode].insert(cell["kind"].get<std::string>());
    }
    EXPECT_NE(outcome, "fail") << cell["id"] << ": " << cell["detail"];
    EXPECT_NE(outcome, "error") << cell["id"] << ": " << cell["detail"];
  }
  // The guest did run: no DUT-unavailable skips hide a broken qemu or kernel package. Every
  // cell of NAT, DR and TUN passed but those of the kinds that do not apply to the mode.
  using Kinds = std::set<std::string>;
  EXPECT_EQ(not_applicable["nat"], (Kinds{"pmtu", "tunnel-error", "fullnat-local"})) << out.text;
  EXPECT_EQ(not_applicable["dr"], (Kinds{"icmp-error", "pmtu", "tunnel-error", "routed",
                                         "reply-options", "fullnat-local", "reassembly-timeout"}))
      << out.text;
  EXPECT_EQ(not_applicable["tun"],
            (Kinds{"routed", "reply-options", "fullnat-local", "reassembly-timeout"}))
      << out.text;
  EXPECT_EQ(outcomes["fullnat pass"], 0) << out.text;
  // IPv6 (issue 24): every IPv6 rr cell of NAT, DR and TUN passed on real IPVS (ip6ip6 for
  // TUN), whichever kinds have IPv6 cells by now; the rewrite kind's tcp6 and udp6 at least.
  for (const char* mode : {"nat", "dr", "tun"}) {
    EXPECT_GE(ipv6_cells[mode], 2) << mode << "\n" << out.text;
    EXPECT_EQ(ipv6_passed[mode], ipv6_cells[mode]) << mode << "\n" << out.text;
  }
  EXPECT_EQ(out.exit_code, 0) << out.text;
}

// The IPv6 cases too: Linux IPVS is their reference (vsd forwards IPv6 in NAT and DR only).
TEST(QemuKernelReference, RealIpvsPassesThePcapCasesOfNatDrAndTun) {
  std::string cases;
  for (const char* name : {"nat-tcp-handshake", "nat-udp-readdressed", "nat-icmp-error",
                           "nat-persistence-two-ports", "dr-tcp-same-server", "dr-udp", "tun-tcp",
                           "tun-udp-no-df", "nat-udp6", "dr-tcp6", "tun-tcp6"})
    cases += std::string(" ") + VSLAB_SOURCE_DIR + "/fixtures/pcap/" + name;
  auto out = run(std::string(VSLAB_BINARY) + " replay --dut qemu-kernel --pcap-dir " +
                 testing::TempDir() + "vslab-qemu-replay" + cases);
  EXPECT_EQ(out.exit_code, 0) << out.text;
  EXPECT_NE(out.text.find("11 passed"), std::string::npos) << out.text;
}

// The differential test on real IPVS: vsd and the kernel deliver the same frames, field by
// field, in the NAT rr cells, IPv4 and IPv6, and DR's IPv6 ones (issue 24), and in the lblc
// cells where the threshold flag and lblc's record meet (once a difference:
// conformance/README.md); and where vsd is wrong on purpose (wrr off by one, vsd --test-fault) the
// diff names the frame.
TEST(QemuKernelReference, DiffOfVsdAgainstRealIpvs) {
  const std::string out_dir = testing::TempDir() + "vslab-qemu-diff";
  auto diff = [&out_dir](const std::string& filter) {
    return run(std::string(VSLAB_BINARY) + " diff --dut builtin --against qemu-kernel --filter '" +
               filter + "' -j 1 --out " + out_dir);
  };
  // IPv6: every nat/rr cell, the director's own ICMPv6 errors and RSTs among them (ttl-one,
  // no-service, unknown-flow), whose flow labels are each stack's keyed hash of the flow
  // (auto_flowlabels): compared non-zero and one per flow (conformance/README.md).
  auto same = diff("nat/rr/*[!6]");
  auto same6 = diff("nat/rr/*6");
  EXPECT_EQ(same6.exit_code, 0) << same6.text;
  EXPECT_NE(same6.text.find(" 0 differ, "), std::string::npos) << same6.text;
  EXPECT_NE(same6.text.find(", 0 not compared"), std::string::npos) << same6.text;
  EXPECT_EQ(same.exit_code, 0) << same.text;
  // Every nat/rr cell compared and the same: none differs, none could not be compared, and
  // the SAME lines are all the cells that were not skipped (the matrix grows by kinds).
  EXPECT_NE(same.text.find(" same, 0 differ, "), std::string::npos) << same.text;
  EXPECT_NE(same.text.find(", 0 not compared"), std::string::npos) << same.text;
  std::size_t same_lines = 0;
  for (std::size_t at = same.text.find("\nSAME nat/rr/"); at != std::string::npos;
       at = same.text.find("\nSAME nat/rr/", at + 1))
    ++same_lines;
  EXPECT_NE(same.text.find(": " + std::to_string(same_lines) + " same, "), std::string::npos)
      << same.text;
  EXPECT_GE(same_lines, 10u) << same.text;

  auto dr6 = diff("dr/rr/rewrite/*6");
  EXPECT_EQ(dr6.exit_code, 0) << dr6.text;
  EXPECT_NE(dr6.text.find(" 0 differ, "), std::string::npos) << dr6.text;
  for (const char* cell :
       {"nat/rr/rewrite/tcp6", "nat/rr/rewrite/udp6", "dr/rr/rewrite/tcp6", "dr/rr/rewrite/udp6",
        "nat/rr/ttl-one/tcp6", "nat/rr/no-service/tcp6", "nat/rr/unknown-flow/tcp6"})
    EXPECT_NE((same6.text + dr6.text).find(std::string("\nSAME ") + cell), std::string::npos)
        << cell << "\n"
        << same6.text << dr6.text;

  auto lblc = diff("dr/lblc/thresholds/*");
  EXPECT_EQ(lblc.exit_code, 0) << lblc.text;
  EXPECT_NE(lblc.text.find("SAME dr/lblc/thresholds/tcp"), std::string::npos) << lblc.text;

  auto differ = run(std::string(VSLAB_BINARY) + " diff --dut builtin --dut-config " +
                    fault_config("wrr-off-by-one") +
                    " --against qemu-kernel --filter 'dr/wrr/scheduler/*' -j 1 --out " + out_dir);
  EXPECT_EQ(differ.exit_code, 1) << differ.text;
  EXPECT_NE(differ.text.find("DIFF dr/wrr/scheduler/tcp: rs"), std::string::npos) << differ.text;
}

}  // namespace
}  // namespace vslab::matrix
