// Firewall-mark services (-f MARK) and vsd's mark classifier at the control edge: the command
// lines ipvsadm 1.31 takes and refuses for -f (its words, checked against the real binary), the
// classifier's own words (--add-mark, --del-mark, --list-marks, -S --marks), what applying them
// does, and the listings byte for byte. Expected texts are written by hand from ipvsadm's printf
// formats (print_service_entry: "FWM  %d", "-f %d"; print_conn: "%-3s %-6s %-11s %-18s %-18s
// %s") and spec section 9.
#include <gtest/gtest.h>

#include <sstream>

#include "ctl/apply.h"
#include "ctl/command.h"
#include "ctl/format.h"
#include "ctl/protocol.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

using namespace test_lines;

using nlohmann::json;

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}
ServiceKey fwm(uint32_t mark) {
  return {Proto::Tcp, Endpoint{}, mark};
}
MarkRule mark_rule(uint32_t mark, MarkProto proto, const char* net, uint8_t len, uint16_t lo,
                   uint16_t hi) {
  return {mark, proto, ip(net), len, lo, hi};
}

DirectorState with_rules(const RuleSet& rules) {
  DirectorState state;
  state.rules = rules;
  return state;
}

ListOptions numeric() {
  ListOptions options;
  options.numeric = true;
  return options;
}

// The brief's nat example: mark 1 for TCP 10.20.0.100:80-81, persistent, a port-0 server and one
// with its own port, beside an address service; and a second, wider classifier rule.
constexpr const char* kNatRules =
    "-A -t 10.20.0.100:443 -s wlc\n"
    "-a -t 10.20.0.100:443 -r 192.168.10.13:443 -m -w 1\n"
    "-A -f 1 -s rr -p 360\n"
    "-a -f 1 -r 192.168.10.11:0 -m -w 1\n"
    "-a -f 1 -r 192.168.10.12:8080 -m -w 1\n";
constexpr const char* kNatMarks =
    "--add-mark -f 1 --proto tcp --dest 10.20.0.100/32 --dport 80:81\n"
    "--add-mark -f 2 --proto any --dest 10.30.0.0/16 --dport 0:65535\n";

RuleSet nat_rules() {
  RuleSet rules;
  EXPECT_EQ(apply_restore(rules, std::string(kNatRules) + kNatMarks), std::nullopt);
  return rules;
}

// --- -f on ipvsadm's commands ----------------------------------------------------------------

TEST(FwmarkCommand, ServiceKeyIsTheMarkWithProtocolTcpAndNoAddress) {
  Command c = parsed("-A -f 1 -s rr -p");
  EXPECT_EQ(c.op, Op::AddService);
  EXPECT_EQ(c.service, fwm(1));
  EXPECT_TRUE(c.settings.persistent);
  EXPECT_EQ(c.settings.persistence_timeout, 360u);
  EXPECT_EQ(parsed("-E -f 4294967295 -s wlc").service, fwm(4294967295u));
  EXPECT_EQ(parsed("-D -f 010").service, fwm(10));  // strtol base 10, as ipvsadm
}

TEST(FwmarkCommand, ServerWithoutPortHasPortZeroAndAGivenPortIsKeptEvenForRouting) {
  // ipvsadm forces DR/TUN ports to the service port only when there is no mark (checked on
  // ipvsadm 1.31: -g keeps :8080 and a bare address sends port 0).
  EXPECT_EQ(parsed("-a -f 1 -r 192.168.10.11 -m").destination.addr, ep("192.168.10.11", 0));
  EXPECT_EQ(parsed("-a -f 1 -r 192.168.10.11:8080 -g").destination.addr, ep("192.168.10.11", 8080));
  EXPECT_EQ(parsed("-e -f 1 -r 192.168.10.11 -i -w 4").destination,
            (Destination{ep("192.168.10.11", 0), Method::Tun, 4, 0, 0}));
  EXPECT_EQ(parsed("-d -f 1 -r 192.168.10.11:0").destination.addr, ep("192.168.10.11", 0));
}

TEST(FwmarkCommand, NeitherZeroPortNorOnePacketRulesApplyToMarks) {
  EXPECT_FALSE(parsed("-A -f 1").settings.persistent);  // no "Zero port" refusal
  EXPECT_TRUE(parsed("-A -f 1 -o").settings.one_packet);
}

TEST(FwmarkCommandErrors, InvalidMarksInIpvsadmsWords) {
  for (const char* bad : {"0", "-1", "4294967296", "0x10", "abc", "1x"}) {
    EXPECT_EQ(failure_of(std::string("-A -f ") + bad),
              (Failure{2, std::string("invalid fwmark value `") + bad + "' specified"}));
  }
  EXPECT_EQ(failure_of("-A -f 1 -t 10.0.0.1:80"),
            (Failure{2, "multiple 'service-address' options specified"}));
  EXPECT_EQ(failure_of("-A -f 1 -r 10.0.0.1"),
            (Failure{2, "Illegal 'real-server' option with the 'add-service' command"}));
}

// --- the classifier's words --------------------------------------------------------------------

TEST(MarkCommand, AddMarkWithEveryField) {
  Command c = parsed("--add-mark -f 1 --proto tcp --dest 10.20.0.100/32 --dport 80:81");
  EXPECT_EQ(c.op, Op::AddMark);
  EXPECT_EQ(c.mark_rule, mark_rule(1, MarkProto::Tcp, "10.20.0.100", 32, 80, 81));
  EXPECT_TRUE(changes_rules(Op::AddMark));
}

TEST(MarkCommand, OmittedFieldsTakeEverything) {
  EXPECT_EQ(parsed("--add-mark -f 3").mark_rule,
            mark_rule(3, MarkProto::Any, "0.0.0.0", 0, 0, 65535));
}

TEST(MarkCommand, HostWithoutPrefixIsSlash32AndOnePortIsARangeOfOne) {
  EXPECT_EQ(parsed("--add-mark -f 2 --dest 10.20.0.100 --dport 443").mark_rule,
            mark_rule(2, MarkProto::Any, "10.20.0.100", 32, 443, 443));
  EXPECT_EQ(parsed("--del-mark --fwmark-service=2 --proto=udp --dest=10.0.0.0/8").mark_rule,
            mark_rule(2, MarkProto::Udp, "10.0.0.0", 8, 0, 65535));
  EXPECT_EQ(parsed("--del-mark -f 2").op, Op::DeleteMark);
}

TEST(MarkCommand, ListMarksAndSaveWithMarks) {
  EXPECT_EQ(parsed("--list-marks").op, Op::ListMarks);
  EXPECT_TRUE(parsed("--list-marks -n").list.numeric);
  Command save = parsed("-S -n --marks");
  EXPECT_EQ(save.op, Op::Save);
  EXPECT_TRUE(save.list.marks);
  EXPECT_FALSE(parsed("-S").list.marks);
  EXPECT_FALSE(changes_rules(Op::ListMarks));
}

TEST(MarkCommandErrors, TheRuleNeedsAMarkAndNothingElseOfAService) {
  EXPECT_EQ(failure_of("--add-mark --proto tcp"),
            (Failure{2,
                     "You need to supply the 'service-address' option for the 'add-mark' "
                     "command"}));
  EXPECT_EQ(failure_of("--add-mark -t 10.20.0.100:80"),
            (Failure{2, "The 'add-mark' command takes a firewall mark (-f MARK), not -t or -u"}));
  EXPECT_EQ(failure_of("--del-mark -u 10.20.0.100:53"),
            (Failure{2, "The 'del-mark' command takes a firewall mark (-f MARK), not -t or -u"}));
  EXPECT_EQ(failure_of("--add-mark -f 1 -s rr"),
            (Failure{2, "Illegal 'scheduler' option with the 'add-mark' command"}));
  EXPECT_EQ(failure_of("--add-mark -f 0"), (Failure{2, "invalid fwmark value `0' specified"}));
}

TEST(MarkCommandErrors, BadValues) {
  EXPECT_EQ(failure_of("--add-mark -f 1 --proto icmp"),
            (Failure{2, "illegal protocol `icmp' specified (tcp, udp or any)"}));
  EXPECT_EQ(failure_of("--add-mark -f 1 --proto TCP"),
            (Failure{2, "illegal protocol `TCP' specified (tcp, udp or any)"}));
  for (const char* dest : {"10.20.0.100/33", "10.20.0/24", "10.20.0.100/", "10.20.0.100/+8",
                           "10.20.0.100/024", "host.example/32"}) {
    EXPECT_EQ(failure_of(std::string("--add-mark -f 1 --dest ") + dest),
              (Failure{2, "illegal destination address[/prefix] specified"}))
        << dest;
  }
  for (const char* ports : {"81:80", "65536", "http", "80-81", ":81", "80:", "-1", "1:2:3"}) {
    EXPECT_EQ(failure_of(std::string("--add-mark -f 1 --dport ") + ports),
              (Failure{2, std::string("illegal destination port range `") + ports + "' specified"}))
        << ports;
  }
}

TEST(MarkCommandErrors, HostBitsPastThePrefixAreRefusedNotMasked) {
  EXPECT_EQ(failure_of("--add-mark -f 1 --dest 10.20.0.100/24"),
            (Failure{2,
                     "destination 10.20.0.100/24 has host bits set (the network is "
                     "10.20.0.0/24)"}));
}

TEST(MarkCommandErrors, OptionsBelongToTheirCommands) {
  EXPECT_EQ(failure_of("-A -f 1 --dport 80"),
            (Failure{2, "Illegal 'dport' option with the 'add-service' command"}));
  EXPECT_EQ(failure_of("-L -n --marks"),
            (Failure{2, "Illegal 'marks' option with the 'list' command"}));
  EXPECT_EQ(failure_of("--list-marks -f 1"),
            (Failure{2, "Illegal 'service-address' option with the 'list-marks' command"}));
  EXPECT_EQ(failure_of("--add-mark -f 1 --dport 80 --dport 81"),
            (Failure{2, "multiple 'dport' options specified"}));
}

// --- applying ----------------------------------------------------------------------------------

TEST(FwmarkApply, ServiceLifecycleAndIpvsadmsRefusals) {
  RuleSet rules;
  run_ok(rules, "-A -f 1 -s rr -p 60 -M 255.255.255.0");
  EXPECT_EQ(run(rules, "-A -f 1"), (Failure{255, "Service already exists"}));
  run_ok(rules, "-a -f 1 -r 192.168.10.11 -m");
  EXPECT_EQ(run(rules, "-a -f 1 -r 192.168.10.11:0 -m"),
            (Failure{255, "Destination already exists"}));
  EXPECT_EQ(run(rules, "-a -f 2 -r 192.168.10.11 -m"), (Failure{255, "Service not defined"}));
  EXPECT_EQ(run(rules, "-E -f 2 -s rr"), (Failure{255, "No such service"}));
  EXPECT_EQ(run(rules, "-d -f 1 -r 192.168.10.12"), (Failure{255, "No such destination"}));
  run_ok(rules, "-e -f 1 -r 192.168.10.11 -m -w 5");
  const Service* s = rules.find_service(fwm(1));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->persistence_mask, ip("255.255.255.0"));
  EXPECT_EQ(s->destinations,
            (std::vector<Destination>{{ep("192.168.10.11", 0), Method::Nat, 5, 0, 0}}));
  run_ok(rules, "-D -f 1");
  EXPECT_TRUE(rules.services.empty());
}

TEST(MarkApply, RulesAreAppendedInOrder) {
  RuleSet rules;
  run_ok(rules, "--add-mark -f 2 --dest 10.20.0.0/16");
  run_ok(rules, "--add-mark -f 1 --proto tcp --dest 10.20.0.100 --dport 80:81");
  EXPECT_EQ(rules.marks,
            (std::vector<MarkRule>{mark_rule(2, MarkProto::Any, "10.20.0.0", 16, 0, 65535),
                                   mark_rule(1, MarkProto::Tcp, "10.20.0.100", 32, 80, 81)}));
}

TEST(MarkApply, AnEqualRuleIsRefusedButTheSameMatchWithAnotherMarkIsKept) {
  RuleSet rules;
  run_ok(rules, "--add-mark -f 1 --dest 10.20.0.100");
  const RuleSet before = rules;
  EXPECT_EQ(run(rules, "--add-mark -f 1 --proto any --dest 10.20.0.100/32 --dport 0:65535"),
            (Failure{255, "Mark rule already exists"}));
  EXPECT_EQ(rules, before);
  run_ok(rules, "--add-mark -f 2 --dest 10.20.0.100");
  EXPECT_EQ(rules.marks.size(), 2u);
}

TEST(MarkApply, DeleteTakesTheEqualRuleOnly) {
  RuleSet rules;
  run_ok(rules, "--add-mark -f 1 --proto tcp --dest 10.20.0.100 --dport 80:81");
  run_ok(rules, "--add-mark -f 1 --proto udp --dest 10.20.0.100 --dport 80:81");
  const RuleSet before = rules;
  EXPECT_EQ(run(rules, "--del-mark -f 1 --dest 10.20.0.100 --dport 80:81"),
            (Failure{255, "No such mark rule"}));
  EXPECT_EQ(run(rules, "--del-mark -f 2 --proto tcp --dest 10.20.0.100 --dport 80:81"),
            (Failure{255, "No such mark rule"}));
  EXPECT_EQ(rules, before);
  run_ok(rules, "--del-mark -f 1 --proto tcp --dest 10.20.0.100 --dport 80:81");
  EXPECT_EQ(rules.marks,
            (std::vector<MarkRule>{mark_rule(1, MarkProto::Udp, "10.20.0.100", 32, 80, 81)}));
}

TEST(MarkApply, ClearEmptiesServicesAndClassifierButKeepsTimeouts) {
  RuleSet rules = nat_rules();
  run_ok(rules, "--set 10 20 30");
  run_ok(rules, "-C");
  EXPECT_TRUE(rules.services.empty());
  EXPECT_TRUE(rules.marks.empty());
  EXPECT_EQ(rules.timeouts, (Timeouts{10, 20, 30}));
}

TEST(MarkApply, ServicesAndMarkRulesAreIndependent) {
  // As with netfilter marks and kernel IPVS: a rule may name a mark no service has yet, and
  // deleting the service leaves the rule.
  RuleSet rules;
  run_ok(rules, "--add-mark -f 7 --dest 10.20.0.100");
  run_ok(rules, "-A -f 7 -s rr");
  run_ok(rules, "-D -f 7");
  EXPECT_EQ(rules.marks.size(), 1u);
}

TEST(MarkApply, RestoreIsAllOrNothingWithMarkLinesToo) {
  RuleSet rules = nat_rules();
  const RuleSet before = rules;
  const std::string text =
      "--add-mark -f 3 --dest 10.40.0.1\n"
      "-A -f 3 -s rr\n"
      "--add-mark -f 1 --proto tcp --dest 10.20.0.100/32 --dport 80:81\n";
  EXPECT_EQ(apply_restore(rules, text), (Failure{255, "line 3: Mark rule already exists"}));
  EXPECT_EQ(rules, before);
  EXPECT_EQ(apply_restore(rules, "--add-mark -f 3 --dest 10.40.0.1/8\n"),
            (Failure{2,
                     "line 1: destination 10.40.0.1/8 has host bits set (the network is "
                     "10.0.0.0/8)"}));
  EXPECT_EQ(rules, before);
}

// --- IPv6 mark rules: ip6tables' prefixes, for -6 fwmark services ---------------------------

MarkRule mark_rule6(uint32_t mark, MarkProto proto, const char* net, uint8_t len) {
  return {mark, proto, *IpAddr::parse_v6(net), len, 0, 65535};
}

TEST(MarkCommand6, Ipv6PrefixesAndHosts) {
  EXPECT_EQ(parsed("--add-mark -f 1 --proto tcp --dest fd00:20::100/128").mark_rule,
            mark_rule6(1, MarkProto::Tcp, "fd00:20::100", 128));
  EXPECT_EQ(parsed("--add-mark -f 1 --dest fd00:20::100").mark_rule,
            mark_rule6(1, MarkProto::Any, "fd00:20::100", 128));
  EXPECT_EQ(parsed("--add-mark -f 2 --dest fd00::/8").mark_rule,
            mark_rule6(2, MarkProto::Any, "fd00::", 8));
  EXPECT_EQ(parsed("--add-mark -f 2 --dest ::/0").mark_rule,
            mark_rule6(2, MarkProto::Any, "::", 0));
}

TEST(MarkCommandErrors6, BadIpv6Prefixes) {
  for (const char* dest : {"fd00::1/129", "fd00::1/", "fd00::/064", "[fd00::1]/128", "fd00:::1"}) {
    EXPECT_EQ(failure_of(std::string("--add-mark -f 1 --dest ") + dest),
              (Failure{2, "illegal destination address[/prefix] specified"}))
        << dest;
  }
  EXPECT_EQ(failure_of("--add-mark -f 1 --dest fd00:20::100/64"),
            (Failure{2,
                     "destination fd00:20::100/64 has host bits set (the network is "
                     "fd00:20::/64)"}));
}

TEST(MarkApply6, SaveAndRestoreRoundTripBothFamilies) {
  RuleSet rules;
  run_ok(rules, "-A -f 1 -6 -s rr");
  run_ok(rules, "-a -f 1 -6 -r [fd00:10::11]:80 -m");
  run_ok(rules, "--add-mark -f 1 --proto tcp --dest fd00:20::100/128 --dport 80");
  run_ok(rules, "--add-mark -f 1 --dest 10.20.0.0/24");
  run_ok(rules, "--add-mark -f 3 --proto udp --dest fd00:30::/48 --dport 53:54");
  const std::string saved = format_save(rules, /*numeric=*/true, /*with_marks=*/true);
  EXPECT_NE(saved.find("--add-mark -f 1 --proto tcp --dest fd00:20::100/128 --dport 80\n"),
            std::string::npos)
      << saved;
  EXPECT_NE(saved.find("--add-mark -f 3 --proto udp --dest fd00:30::/48 --dport 53:54\n"),
            std::string::npos)
      << saved;
  RuleSet restored;
  EXPECT_EQ(apply_restore(restored, saved), std::nullopt);
  EXPECT_EQ(restored, rules);
  // The same match in the other family is another rule, not a duplicate.
  run_ok(rules, "--add-mark -f 1 --dest ::/0");
  run_ok(rules, "--add-mark -f 1 --dest 0.0.0.0/0");
}

TEST(MarkProtocol6, Ipv6RulesCrossTheControlProtocolAndBadOnesAreRefused) {
  const MarkRule rule = mark_rule6(4, MarkProto::Udp, "fd00:30::", 48);
  json j = rule;
  EXPECT_EQ(j.get<MarkRule>(), rule);
  json wide = j;
  wide["prefix_len"] = 129;
  EXPECT_THROW(wide.get<MarkRule>(), std::exception);
  json host_bits = j;
  host_bits["prefix_len"] = 16;
  EXPECT_THROW(host_bits.get<MarkRule>(), std::exception);
  json v4_wide = json(mark_rule(4, MarkProto::Any, "10.0.0.0", 8, 0, 65535));
  v4_wide["prefix_len"] = 33;
  EXPECT_THROW(v4_wide.get<MarkRule>(), std::exception);
}

// --- listings ----------------------------------------------------------------------------------

TEST(FwmarkFormat, ListShowsMarkServicesAfterAddressServices) {
  DirectorState state;
  state.rules = nat_rules();
  EXPECT_EQ(format_services(state, numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.20.0.100:443 wlc\n"
            "  -> 192.168.10.13:443            Masq    1      0          0         \n"
            "FWM  1 rr persistent 360\n"
            "  -> 192.168.10.11:0              Masq    1      0          0         \n"
            "  -> 192.168.10.12:8080           Masq    1      0          0         \n");
  // The classifier is not part of ipvsadm's listing.
  state.rules.marks.clear();
  EXPECT_EQ(format_services(state, numeric()), format_services(with_rules(nat_rules()), numeric()));
}

TEST(FwmarkFormat, OneMarkServiceAndItsMask) {
  RuleSet rules;
  run_ok(rules, "-A -f 7 -s sh -p 60 -M 255.255.255.0");
  DirectorState state;
  state.rules = rules;
  auto text = format_one_service(state, fwm(7), numeric());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(),
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "FWM  7 sh persistent 60 mask 255.255.255.0\n");
  EXPECT_EQ(format_one_service(state, fwm(8), numeric()).failure(),
            (Failure{1, "No such service"}));
}

TEST(FwmarkFormat, StatsColumnsPadTheMarkLabelTo33) {
  RuleSet rules;
  run_ok(rules, "-A -f 7 -s rr");
  DirectorState state;
  state.rules = rules;
  ListOptions stats = numeric();
  stats.columns = Columns::Stats;
  EXPECT_EQ(format_services(state, stats),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "FWM  7                                   0        0        0        0        0\n");
}

TEST(FwmarkFormat, SaveIsIpvsadmsAndCarriesNoClassifier) {
  EXPECT_EQ(format_save(nat_rules(), true),
            "-A -t 10.20.0.100:443 -s wlc\n"
            "-a -t 10.20.0.100:443 -r 192.168.10.13:443 -m -w 1\n"
            "-A -f 1 -s rr -p 360\n"
            "-a -f 1 -r 192.168.10.11:0 -m -w 1\n"
            "-a -f 1 -r 192.168.10.12:8080 -m -w 1\n");
}

TEST(FwmarkFormat, SaveWithMarksAppendsTheClassifierInOrder) {
  EXPECT_EQ(format_save(nat_rules(), true, true), std::string(kNatRules) + kNatMarks);
}

TEST(FwmarkFormat, SaveWithMarksRoundTripsExactly) {
  const RuleSet rules = nat_rules();
  const std::string saved = format_save(rules, true, true);
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, saved), std::nullopt);
  EXPECT_EQ(restored.marks, rules.marks);
  EXPECT_EQ(format_save(restored, true, true), saved);
  // Without --marks the services alone round-trip, and the text is the same as with them
  // up to the first --add-mark line.
  RuleSet services_only;
  ASSERT_EQ(apply_restore(services_only, format_save(rules, true)), std::nullopt);
  EXPECT_EQ(format_save(services_only, true), format_save(rules, true));
  EXPECT_TRUE(services_only.marks.empty());
}

TEST(FwmarkFormat, SaveWritesEveryClassifierFieldAndOnePortPlain) {
  RuleSet rules;
  run_ok(rules, "--add-mark -f 4");
  run_ok(rules, "--add-mark -f 5 --proto udp --dest 10.20.0.100 --dport 53");
  EXPECT_EQ(format_save(rules, true, true),
            "--add-mark -f 4 --proto any --dest 0.0.0.0/0 --dport 0:65535\n"
            "--add-mark -f 5 --proto udp --dest 10.20.0.100/32 --dport 53\n");
}

TEST(FwmarkFormat, MarksAbove2To31ArePrintedSignedAsIpvsadmDoes) {
  // ipvsadm formats the u32 mark with %d: 3000000000 shows as 3000000000 - 2^32.
  RuleSet rules;
  run_ok(rules, "-A -f 3000000000 -s rr");
  DirectorState state;
  state.rules = rules;
  EXPECT_EQ(format_save(rules, true), "-A -f -1294967296 -s rr\n");
  EXPECT_NE(format_services(state, numeric()).find("\nFWM  -1294967296 rr\n"), std::string::npos);
}

TEST(MarkFormat, ListMarksInEvaluationOrder) {
  EXPECT_EQ(format_marks(nat_rules()),
            "Prot DestinationNet     DestPorts   Mark\n"
            "TCP  10.20.0.100/32     80:81       1\n"
            "ANY  10.30.0.0/16       0:65535     2\n");
  EXPECT_EQ(format_marks(RuleSet{}), "Prot DestinationNet     DestPorts   Mark\n");
}

TEST(FwmarkFormat, ConnectionsListAMarkTemplateAsProtocolIpWithTheMarkAsAddress) {
  DirectorState state;
  // What the kernel keeps for mark 1 (ip_vs_sched_persist): <IPPROTO_IP, CIP & mask, 0,
  // mark, 0> -> RIP:0, and the connection itself under its real protocol and VIP:vport.
  ConnectionEntry tmpl{
      Proto::Tcp, 359, "NONE", ep("10.10.0.2", 0), ep("0.0.0.1", 0), ep("192.168.10.11", 0), true};
  ConnectionEntry conn{Proto::Tcp,
                       59,
                       "SYN_RECV",
                       ep("10.10.0.2", 40000),
                       ep("10.20.0.100", 80),
                       ep("192.168.10.11", 80)};
  state.connections = {tmpl, conn};
  const std::string want =
      "IPVS connection entries\n"
      "pro expire state       source             virtual            destination\n"
      "IP  05:59  NONE        10.10.0.2:0        0.0.0.1:0          192.168.10.11:0\n"
      "TCP 00:59  SYN_RECV    10.10.0.2:40000    10.20.0.100:80     192.168.10.11:80\n";
  EXPECT_EQ(format_connections(state, numeric()), want);
}

// --- the JSON protocol ---------------------------------------------------------------------------

TEST(MarkProtocol, RuleSetWithMarksRoundTripsAndHasTheDocumentedShape) {
  const RuleSet rules = nat_rules();
  EXPECT_EQ(json::parse(json(rules).dump()).get<RuleSet>(), rules);
  EXPECT_EQ(json(rules.marks[0]),
            json::parse(R"({"mark":1,"proto":"tcp","dest":"10.20.0.100","prefix_len":32,
                            "dport_min":80,"dport_max":81})"));
}

TEST(MarkProtocol, ARuleSetWithoutMarksStillDecodes) {
  json j = json(nat_rules());
  j.erase("marks");
  EXPECT_TRUE(j.get<RuleSet>().marks.empty());
}

TEST(MarkProtocol, RulesTheDataPlaneCouldNotTrustAreRefused) {
  const json good = json(mark_rule(1, MarkProto::Tcp, "10.20.0.0", 24, 80, 81));
  auto refused_with = [&](const char* field, json value) {
    json j = good;
    j[field] = std::move(value);
    try {
      j.get<MarkRule>();
      return std::string("accepted");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(refused_with("mark", 0u), "field 'mark': 0 is no mark");
  EXPECT_EQ(refused_with("prefix_len", 33u), "field 'prefix_len': expected 0..32");
  EXPECT_EQ(refused_with("dest", "10.20.0.1"), "field 'dest': host bits set");
  EXPECT_EQ(refused_with("dport_min", 82u), "field 'dport_min': above 'dport_max'");
  EXPECT_EQ(refused_with("proto", "icmp"),
            "field 'proto': 'icmp' is not a mark protocol (tcp, udp or any)");
}

TEST(MarkProtocol, ConnectionEntryCarriesAnyProtocolOnlyWhenSet) {
  ConnectionEntry tmpl{
      Proto::Tcp, 359, "NONE", ep("10.10.0.2", 0), ep("0.0.0.1", 0), ep("192.168.10.11", 0), true};
  EXPECT_EQ(json::parse(json(tmpl).dump()).get<ConnectionEntry>(), tmpl);
  json old = json(tmpl);
  old.erase("any_protocol");
  EXPECT_FALSE(old.get<ConnectionEntry>().any_protocol);
}

class RulesOnly final : public ControlTarget {
 public:
  RuleSet rules() const override { return rules_; }
  std::string install(const RuleSet& next) override {
    rules_ = next;
    return "";
  }
  DirectorState state() const override { return with_rules(rules_); }
  void zero(const std::optional<ServiceKey>&) override {}
  RuleSet rules_;
};

TEST(MarkProtocol, VsadmWordsThroughTheDaemon) {
  RulesOnly director;
  auto ask = [&](const std::vector<std::string>& argv) {
    return json::parse(handle_request(apply_request(argv).dump(), director));
  };
  EXPECT_EQ(ask({"--add-mark", "-f", "1", "--proto", "tcp", "--dest", "10.20.0.100/32", "--dport",
                 "80:81"})["ok"],
            true);
  EXPECT_EQ(ask({"--list-marks"})["output"],
            "Prot DestinationNet     DestPorts   Mark\n"
            "TCP  10.20.0.100/32     80:81       1\n");
  EXPECT_EQ(ask({"-S", "-n", "--marks"})["output"],
            "--add-mark -f 1 --proto tcp --dest 10.20.0.100/32 --dport 80:81\n");
  EXPECT_EQ(ask({"-S", "-n"})["output"], "");
  const json refused = ask({"--del-mark", "-f", "2"});
  EXPECT_EQ(refused["exit"], 255);
  EXPECT_EQ(refused["error"], "No such mark rule");
  EXPECT_EQ(director.rules_.marks.size(), 1u);
}

}  // namespace
}  // namespace vsd::ctl
