// SCTP services as ipvsadm 1.31 shows them, byte for byte, from its print_service_entry and
// print_conn formats: "%-4s %s" for the service (so "SCTP" is followed by one blank where
// "TCP" has two), "--sctp-service" in -S (option_from_protocol: SCTP has no short option),
// and "%-3s" for the protocol of -L -c, which "SCTP" overflows by a character. Services sort
// by protocol number, TCP (6), UDP (17), SCTP (132).
#include <gtest/gtest.h>

#include "ctl/apply.h"
#include "ctl/format.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

using test_lines::ep;
using test_lines::failure_of;
using test_lines::parsed;
using test_lines::run;
using test_lines::run_ok;

ListOptions numeric() {
  ListOptions options;
  options.numeric = true;
  return options;
}

DirectorState sctp_and_tcp() {
  DirectorState state;
  run_ok(state.rules, "-A --sctp-service 10.0.0.1:3868 -s rr");
  run_ok(state.rules, "-a --sctp-service 10.0.0.1:3868 -r 10.0.1.1:3869 -m -w 2");
  run_ok(state.rules, "-a --sctp-service 10.0.0.1:3868 -r 10.0.1.2 -g");
  run_ok(state.rules, "-A -t 10.0.0.1:3868 -s wlc -p 60");
  return state;
}

TEST(FormatSctp, ListingByteForByte) {
  EXPECT_EQ(format_services(sctp_and_tcp(), numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:3868 wlc persistent 60\n"
            "SCTP 10.0.0.1:3868 rr\n"
            "  -> 10.0.1.1:3869                Masq    2      0          0         \n"
            "  -> 10.0.1.2:3868                Route   1      0          0         \n");
}

TEST(FormatSctp, SaveNamesTheLongOptionAndRestoresToTheSameSave) {
  const std::string saved = format_save(sctp_and_tcp().rules, true);
  EXPECT_EQ(saved,
            "-A -t 10.0.0.1:3868 -s wlc -p 60\n"
            "-A --sctp-service 10.0.0.1:3868 -s rr\n"
            "-a --sctp-service 10.0.0.1:3868 -r 10.0.1.1:3869 -m -w 2\n"
            "-a --sctp-service 10.0.0.1:3868 -r 10.0.1.2:3868 -g -w 1\n");
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, saved), std::nullopt);
  EXPECT_EQ(format_save(restored, true), saved);
}

TEST(FormatSctp, ConnectionLinesWidenTheProtocolColumn) {
  DirectorState state;
  state.connections = {{Proto::Sctp, 899, "ESTABLISHED", ep("10.0.9.2", 40000),
                        ep("10.0.0.1", 3868), ep("10.0.1.1", 3869)},
                       {Proto::Sctp, 61, "C-REPLIED", ep("10.0.9.2", 40001), ep("10.0.0.1", 3868),
                        ep("10.0.1.2", 3868)}};
  EXPECT_EQ(format_connections(state, numeric()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "SCTP 14:59  ESTABLISHED 10.0.9.2:40000     10.0.0.1:3868      10.0.1.1:3869\n"
            "SCTP 01:01  C-REPLIED   10.0.9.2:40001     10.0.0.1:3868      10.0.1.2:3868\n");
}

TEST(CommandSctp, TheServiceIsItsOwnProtocol) {
  RuleSet rules;
  run_ok(rules, "-A --sctp-service 10.0.0.1:80 -s rr");
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  run_ok(rules, "-A -u 10.0.0.1:80 -s rr");
  EXPECT_EQ(rules.services.size(), 3u);
  EXPECT_EQ(rules.services[0].key.proto, Proto::Sctp);
  // The same service again is refused, as the kernel's EEXIST.
  EXPECT_TRUE(run(rules, "-A --sctp-service 10.0.0.1:80 -s rr").has_value());
  run_ok(rules, "-D --sctp-service 10.0.0.1:80");
  EXPECT_EQ(rules.services.size(), 2u);
  EXPECT_EQ(parsed("-A --sctp-service=10.0.0.2:9 -s rr").service->proto, Proto::Sctp);
}

TEST(CommandSctp, RefusedAsIpvsadmRefusesIt) {
  // ipvsadm has no short option and no abbreviation for it.
  EXPECT_EQ(failure_of("-A --sctp 10.0.0.1:80").message, "--sctp: unknown option");
  EXPECT_EQ(failure_of("-A --sctp-service 10.0.0.1:80 -t 10.0.0.1:80").message,
            "multiple 'service-address' options specified");
  EXPECT_EQ(failure_of("-A --sctp-service 80").message,
            "illegal virtual server address[:port] specified");
  EXPECT_EQ(failure_of("-A --sctp-service 10.0.0.1:80 -o").message,
            "One-Packet Scheduling is only for UDP virtual services");
}

}  // namespace
}  // namespace vsd::ctl
