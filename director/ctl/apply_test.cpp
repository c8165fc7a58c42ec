// Commands applied to a rule set with the kernel's semantics (spec 4, 5 and 10): defaults,
// destination order, -E/-e replacing fields, refusals that leave everything unchanged, and -R
// all or nothing.
#include "ctl/apply.h"
#include "ctl/test_commands.h"

#include <gtest/gtest.h>

#include <sstream>

namespace vsd::ctl {
namespace {

using namespace test_lines;

std::vector<Endpoint> destination_order(const RuleSet& rules, const ServiceKey& key) {
  std::vector<Endpoint> order;
  for (const Destination& d : rules.find_service(key)->destinations) order.push_back(d.addr.v4());
  return order;
}

// A rule set with one NAT service holding two servers, for the refusal tests.
RuleSet populated() {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 2");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m");
  run_ok(rules, "--add-laddr -z 10.0.2.1 -t 10.0.0.1:80");
  return rules;
}

// --- defaults (spec 4) -----------------------------------------------------------------------

TEST(Apply, NewServiceTakesIpvsadmDefaults) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80");
  ASSERT_EQ(rules.services.size(), 1u);
  const Service& s = rules.services[0];
  EXPECT_EQ(s.key, tcp("10.0.0.1", 80));
  EXPECT_EQ(s.scheduler, "wlc");
  EXPECT_FALSE(s.persistent);
  EXPECT_EQ(s.persistence_mask, Ipv4::from_octets(255, 255, 255, 255));
  EXPECT_FALSE(s.one_packet);
  EXPECT_TRUE(s.sched_flags.empty());
  EXPECT_TRUE(s.destinations.empty());
}

TEST(Apply, PersistenceWithoutValueIs360Seconds) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.9.9.7 -p");
  EXPECT_TRUE(rules.services[0].persistent);
  EXPECT_EQ(rules.services[0].persistence_timeout, 360u);
}

TEST(Apply, TheSipPersistenceEngineIsKnownAndEditedAway) {
  RuleSet rules;
  run_ok(rules, "-A -u 10.0.0.1:5060 -p 60 --pe sip");
  EXPECT_EQ(rules.services[0].persistence_engine, "sip");
  // ipvsadm sends every field on -E: without --pe the engine goes, as in the kernel.
  run_ok(rules, "-E -u 10.0.0.1:5060 -p 60");
  EXPECT_EQ(rules.services[0].persistence_engine, "");
  run_ok(rules, "-E -u 10.0.0.1:5060 -p 60 --pe sip");
  EXPECT_EQ(rules.services[0].persistence_engine, "sip");
}

TEST(Apply, NewDestinationIsDirectRoutingWithWeightOne) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1");
  EXPECT_EQ(rules.services[0].destinations[0],
            (Destination{ep("10.0.1.1", 80), Method::Dr, 1, 0, 0}));
}

TEST(Apply, NewDestinationsGoToTheHeadOfTheList) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.2");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.3");
  EXPECT_EQ(destination_order(rules, tcp("10.0.0.1", 80)),
            (std::vector<Endpoint>{ep("10.0.1.3", 80), ep("10.0.1.2", 80), ep("10.0.1.1", 80)}));
}

TEST(Apply, DirectRoutingDestinationIsStoredWithTheServicePort) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -g");
  EXPECT_EQ(rules.services[0].destinations[0].addr, ep("10.0.1.1", 80));
  // and so a second DR server on the same address is the same destination
  EXPECT_EQ(run(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1:9090"),
            (Failure{255, "Destination already exists"}));
}

TEST(Apply, MasqueradingDestinationKeepsItsPort) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m");
  EXPECT_EQ(rules.services[0].destinations[0].addr, ep("10.0.1.1", 8080));
}

TEST(Apply, SchedulerFlagsAreStoredByName) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback");
  EXPECT_EQ(rules.services[0].sched_flags, (std::vector<std::string>{"sh-fallback", "sh-port"}));
  run_ok(rules, "-A -f 7 -s mh -b mh-port");
  EXPECT_EQ(rules.services[1].sched_flags, (std::vector<std::string>{"mh-port"}));
}

// --- edits -----------------------------------------------------------------------------------

TEST(Apply, EditServiceReplacesEverySettingWithTheGivenOrDefaultOnes) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s sh -b sh-port -p 60 -M 255.255.255.0");
  run_ok(rules, "-a -t 10.0.0.1:80 -r 10.0.1.1");
  run_ok(rules, "-E -t 10.0.0.1:80 -s rr");
  const Service& s = rules.services[0];
  EXPECT_EQ(s.scheduler, "rr");
  EXPECT_FALSE(s.persistent);
  EXPECT_EQ(s.persistence_mask, Ipv4::from_octets(255, 255, 255, 255));
  EXPECT_TRUE(s.sched_flags.empty());
  EXPECT_EQ(s.destinations.size(), 1u);  // destinations are not settings
}

TEST(Apply, EditServiceWithoutSchedulerGoesBackToWlc) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  run_ok(rules, "-E -t 10.0.0.1:80 -p 30");
  EXPECT_EQ(rules.services[0].scheduler, "wlc");
  EXPECT_EQ(rules.services[0].persistence_timeout, 30u);
}

TEST(Apply, EditServerReplacesItsSettingsInPlace) {
  RuleSet rules = populated();
  run_ok(rules, "-e -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 5 -x 100 -y 10");
  EXPECT_EQ(rules.services[0].destinations[1],
            (Destination{ep("10.0.1.1", 8080), Method::Nat, 5, 100, 10}));
  EXPECT_EQ(destination_order(rules, tcp("10.0.0.1", 80)),
            (std::vector<Endpoint>{ep("10.0.1.2", 8080), ep("10.0.1.1", 8080)}));
}

TEST(Apply, EditServerWithoutMethodMeansDirectRoutingAndSoTheServicePort) {
  // ipvsadm sends -g when no method is given, and DR forces the port: the NAT server on 8080
  // is then not found.
  RuleSet rules = populated();
  EXPECT_EQ(run(rules, "-e -t 10.0.0.1:80 -r 10.0.1.1:8080 -w 5"),
            (Failure{255, "No such destination"}));
}

TEST(Apply, DeleteServerAndService) {
  RuleSet rules = populated();
  run_ok(rules, "-d -t 10.0.0.1:80 -r 10.0.1.1:8080");
  EXPECT_EQ(destination_order(rules, tcp("10.0.0.1", 80)),
            (std::vector<Endpoint>{ep("10.0.1.2", 8080)}));
  run_ok(rules, "-D -t 10.0.0.1:80");
  EXPECT_TRUE(rules.services.empty());
}

TEST(Apply, ClearRemovesServicesButKeepsTimeouts) {
  RuleSet rules = populated();
  run_ok(rules, "--set 100 20 30");
  run_ok(rules, "-C");
  EXPECT_TRUE(rules.services.empty());
  EXPECT_EQ(rules.timeouts, (Timeouts{100, 20, 30}));
}

TEST(Apply, SetTimeoutsWithZeroKeepsTheCurrentValue) {
  RuleSet rules;
  run_ok(rules, "--set 0 60 0");
  EXPECT_EQ(rules.timeouts, (Timeouts{900, 60, 300}));
}

TEST(Apply, LocalAddressesAreAddedInOrderAndDeleted) {
  RuleSet rules = populated();
  run_ok(rules, "--add-laddr -z 10.0.2.2 -t 10.0.0.1:80");
  EXPECT_EQ(rules.services[0].local_addresses,
            (std::vector<Ipv4>{Ipv4::from_octets(10, 0, 2, 1), Ipv4::from_octets(10, 0, 2, 2)}));
  run_ok(rules, "--del-laddr -z 10.0.2.1 -t 10.0.0.1:80");
  EXPECT_EQ(rules.services[0].local_addresses, (std::vector<Ipv4>{Ipv4::from_octets(10, 0, 2, 2)}));
}

TEST(Apply, ListingCommandsChangeNothing) {
  RuleSet rules = populated();
  const RuleSet before = rules;
  run_ok(rules, "-L -n");
  run_ok(rules, "-S");
  run_ok(rules, "-Z");
  EXPECT_EQ(rules, before);
}

// --- refusals (spec 10): message, exit code, and nothing changed ---------------------------

struct Refusal {
  const char* command;
  Failure failure;
};
// Test names show the command line, not the struct's bytes.
void PrintTo(const Refusal& r, std::ostream* os) {
  *os << '"' << r.command << '"';
}

class ApplyRefusal : public testing::TestWithParam<Refusal> {};

TEST_P(ApplyRefusal, FailsWithIpvsadmsMessageAndChangesNothing) {
  RuleSet rules = populated();
  const RuleSet before = rules;
  EXPECT_EQ(run(rules, GetParam().command), GetParam().failure);
  EXPECT_EQ(rules, before);
}

INSTANTIATE_TEST_SUITE_P(
    Spec10, ApplyRefusal,
    testing::Values(
        Refusal{"-a -t 10.0.0.9:80 -r 10.0.1.1", {255, "Service not defined"}},
        Refusal{"-A -t 10.0.0.1:80", {255, "Service already exists"}},
        Refusal{"-A -t 10.0.0.2:80 -s nosuch", {255, "Scheduler or persistence engine not found"}},
        Refusal{"-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m", {255, "Destination already exists"}},
        Refusal{"-d -t 10.0.0.1:80 -r 10.0.1.9:8080", {255, "No such destination"}},
        Refusal{"-E -t 10.0.0.9:80", {255, "No such service"}},
        Refusal{"-D -t 10.0.0.9:80", {255, "No such service"}},
        Refusal{"-A -t 10.9.9.7", {2, "Zero port specified for non-persistent service"}},
        Refusal{"-A -t 999.1.1.1:80", {2, "illegal virtual server address[:port] specified"}},
        Refusal{"-a -t 10.0.0.1:80 -r 10.0.1.3 -w -1", {2, "illegal weight specified"}},
        Refusal{"-A -t 10.0.0.2:80 -p -5", {255, "-5: unknown option"}},
        Refusal{"-A -t 10.0.0.2:80 --bogus", {255, "--bogus: unknown option"}}));

INSTANTIATE_TEST_SUITE_P(
    Kernel, ApplyRefusal,
    testing::Values(
        Refusal{"-E -t 10.0.0.1:80 -s nosuch", {255, "Scheduler or persistence engine not found"}},
        Refusal{"-A -t 10.0.0.2:80 -p --pe nosuch",
                {255, "Scheduler or persistence engine not found"}},
        Refusal{"-e -t 10.0.0.9:80 -r 10.0.1.1", {255, "Service not defined"}},
        Refusal{"-d -t 10.0.0.9:80 -r 10.0.1.1", {255, "Service not defined"}},
        Refusal{"-e -t 10.0.0.1:80 -r 10.0.1.9:8080 -m", {255, "No such destination"}},
        // ip_vs_add_dest: the lower threshold may not exceed the upper one, even "none" (0)
        Refusal{"-a -t 10.0.0.1:80 -r 10.0.1.3 -x 10 -y 20",
                {255, "Numerical result out of range"}},
        Refusal{"-a -t 10.0.0.1:80 -r 10.0.1.3 -y 5", {255, "Numerical result out of range"}},
        Refusal{"-e -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -y 5",
                {255, "Numerical result out of range"}},
        Refusal{
            "-a -t 10.0.0.1:80 -r 224.0.0.1",
            {255, "Invalid operation.  Possibly wrong module version, address not unicast, ..."}},
        Refusal{"--add-laddr -z 10.0.2.1 -t 10.0.0.1:80", {255, "Local address already exists"}},
        Refusal{"--del-laddr -z 10.0.2.9 -t 10.0.0.1:80", {255, "No such local address"}},
        Refusal{"--add-laddr -z 10.0.2.2 -t 10.0.0.9:80", {255, "Service not defined"}}));

// --- -R ------------------------------------------------------------------------------------

TEST(ApplyRestore, AppliesEveryLineSkippingBlanksAndComments) {
  RuleSet rules;
  const char* text =
      "# saved by vsadm -S\n"
      "\n"
      "-A -t 10.0.0.1:80 -s rr   # web\n"
      "ipvsadm -a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
      "   \t\n"
      "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 3";  // no final newline
  EXPECT_EQ(apply_restore(rules, text), std::nullopt);
  ASSERT_EQ(rules.services.size(), 1u);
  EXPECT_EQ(rules.services[0].scheduler, "rr");
  EXPECT_EQ(destination_order(rules, tcp("10.0.0.1", 80)),
            (std::vector<Endpoint>{ep("10.0.1.2", 80), ep("10.0.1.1", 80)}));
}

TEST(ApplyRestore, RefusedLineChangesNothingAndIsNamed) {
  RuleSet rules = populated();
  const RuleSet before = rules;
  const char* text =
      "-A -t 10.0.0.2:80\n"
      "-a -t 10.0.0.2:80 -r 10.0.1.1\n"
      "\n"
      "-A -t 10.0.0.1:80\n";
  EXPECT_EQ(apply_restore(rules, text), (Failure{255, "line 4: Service already exists"}));
  EXPECT_EQ(rules, before);
}

TEST(ApplyRestore, BadCommandLineChangesNothingAndIsNamed) {
  RuleSet rules;
  const char* text =
      "-A -t 10.0.0.2:80\n"
      "-a -t 10.0.0.2:80 -r 10.0.1.1 -w -1\n";
  EXPECT_EQ(apply_restore(rules, text), (Failure{2, "line 2: illegal weight specified"}));
  EXPECT_TRUE(rules.services.empty());
}

TEST(ApplyRestore, OnlyRuleChangesCanBeRestored) {
  RuleSet rules;
  EXPECT_EQ(apply_restore(rules, "-A -t 10.0.0.2:80\n-L -n\n"),
            (Failure{2, "line 2: only commands that change rules can be restored"}));
  EXPECT_TRUE(rules.services.empty());
}

// A garbage line is named with what is wrong with it, in ipvsadm's words where it has them,
// and without the command line's help hint.
TEST(ApplyRestore, AGarbageLineSaysWhatIsWrong) {
  const std::pair<const char*, Failure> cases[] = {
      {"garbage here",
       {255,
        "line 2: `garbage' is not an option: a line is a command (-A, -E, "
        "-D, -C, -a, -e or -d) with its options"}},
      {"-t 10.0.0.3:80 -A",
       {255,
        "line 2: `-t' comes before any command: a line starts with -A, "
        "-E, -D, -C, -a, -e or -d"}},
      {"-A -t 10.0.0.3:80 --bogus", {255, "line 2: --bogus: unknown option"}},
      {"--bogus -A -t 10.0.0.3:80", {255, "line 2: --bogus: unknown option"}},
      {"-A -t", {255, "line 2: -t: missing argument"}},
      {"-A -t 10.0.0.300:80", {2, "line 2: illegal virtual server address[:port] specified"}},
      {"-a -t 10.0.0.2:80 -r 10.0.1.x",
       {2, "line 2: illegal real server address[:port] specified"}},
      {"-A -t 10.0.0.3:80 extra", {2, "line 2: unexpected argument extra"}},
  };
  for (const auto& [line, failure] : cases) {
    SCOPED_TRACE(line);
    RuleSet rules;
    EXPECT_EQ(apply_restore(rules, std::string("-A -t 10.0.0.2:80\n") + line + "\n"), failure);
    EXPECT_TRUE(rules.services.empty());
  }
}

TEST(ApplyRestore, LaterLinesSeeEarlierOnes) {
  RuleSet rules;
  EXPECT_EQ(apply_restore(rules, "-C\n-A -t 10.0.0.2:80\n-D -t 10.0.0.2:80\n-A -t 10.0.0.2:80\n"),
            std::nullopt);
  EXPECT_EQ(rules.services.size(), 1u);
}

TEST(SplitRestoreLine, BlanksAndComments) {
  EXPECT_EQ(split_restore_line("  -A\t-t 10.0.0.1:80#x\r"),
            (std::vector<std::string>{"-A", "-t", "10.0.0.1:80"}));
  EXPECT_TRUE(split_restore_line("# only a comment").empty());
  EXPECT_EQ(split_restore_line("vsadm -C"), (std::vector<std::string>{"-C"}));
}

// IPv6 as Linux 6.1 refused it under ipvsadm 1.31 (format_ipv6_test.cpp's run): a real server
// must be unicast and not link-local (EINVAL).
TEST(ApplyIpv6, RealServersMustBeUnicastAndNotLinkLocal) {
  RuleSet rules;
  run_ok(rules, "-A -t [2001:db8::80]:80 -s rr");
  const Failure invalid{255,
                        "Invalid operation.  Possibly wrong module version, address not unicast, "
                        "..."};
  for (const char* server : {"[fe80::1]:80", "[::]:80", "[ff02::1]:80", "[febf::1]:80"}) {
    const std::string line = std::string("-a -t [2001:db8::80]:80 -m -r ") + server;
    EXPECT_EQ(run(rules, line), invalid) << line;
  }
  run_ok(rules, "-a -t [2001:db8::80]:80 -r [fec0::1]:80 -m");  // site-local: unicast
  run_ok(rules, "-a -t [2001:db8::80]:80 -r [::ffff:10.0.0.1]:80 -m");
  EXPECT_EQ(rules.services[0].destinations.size(), 2u);
}

TEST(ApplyIpv6, AFwmarkServiceOfEachFamily) {
  RuleSet rules;
  run_ok(rules, "-A -f 7 -s rr");
  run_ok(rules, "-A -f 7 -6 -s wlc -p 60 -M 48");
  EXPECT_EQ(run(rules, "-A -f 7 -6"), (Failure{255, "Service already exists"}));
  ASSERT_EQ(rules.services.size(), 2u);
  EXPECT_EQ(rules.services[1].key, fwmark6(7));
  EXPECT_EQ(rules.services[1].persistence_prefix6, 48);
  run_ok(rules, "-D -f 7");
  ASSERT_EQ(rules.services.size(), 1u);
  EXPECT_EQ(rules.services[0].key, fwmark6(7));
}

TEST(ApplyIpv6, TheSameAddressInBothFamiliesIsTwoServers) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  run_ok(rules, "-A -t [::ffff:10.0.0.1]:80 -s rr");
  EXPECT_EQ(rules.services.size(), 2u);
  run_ok(rules, "-E -t [::ffff:10.0.0.1]:80 -s wlc -p -M 96");
  EXPECT_EQ(rules.find_service(tcp("10.0.0.1", 80))->scheduler, "rr");
}

// Linux takes a tunnel to a real server of the other family; vsd's tunnels are IPIP, so it
// refuses it and says why. -d of such a server finds none, as in the kernel.
TEST(ApplyIpv6, ATunnelAcrossFamiliesIsRefusedByVsd) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  run_ok(rules, "-A -t [2001:db8::80]:80 -s rr");
  const RuleSet before = rules;
  for (const char* line :
       {"-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -i", "-a -t [2001:db8::80]:80 -r 10.0.1.9:80 -i"}) {
    auto failure = run(rules, line);
    ASSERT_TRUE(failure) << line;
    EXPECT_EQ(failure->exit_code, 255);
    EXPECT_NE(failure->message.find("vsd: a tunnel to a real server of another address family"),
              std::string::npos)
        << failure->message;
  }
  EXPECT_EQ(run(rules, "-d -t 10.0.0.1:80 -r [2001:db8::2]:80"),
            (Failure{255, "No such destination"}));
  EXPECT_EQ(rules, before);
}

// An IPv6 service's FULLNAT pool holds IPv6 local addresses (its own list, saved and listed
// after the IPv4 ones); an address of the other family is refused and changes nothing.
TEST(ApplyIpv6, LocalAddressesAreOfTheServicesFamily) {
  RuleSet rules;
  run_ok(rules, "-A -t [2001:db8::80]:80 -s rr");
  run_ok(rules, "--add-laddr -z 2001:db8:2::1 -t [2001:db8::80]:80");
  run_ok(rules, "--add-laddr -z 2001:db8:2::2 -t [2001:db8::80]:80");
  EXPECT_EQ(run(rules, "--add-laddr -z 2001:db8:2::1 -t [2001:db8::80]:80"),
            (Failure{255, "Local address already exists"}));
  run_ok(rules, "--del-laddr -z 2001:db8:2::1 -t [2001:db8::80]:80");
  ASSERT_EQ(rules.services[0].local_addresses6.size(), 1u);
  EXPECT_EQ(rules.services[0].local_addresses6[0].str(), "2001:db8:2::2");
  const RuleSet before = rules;
  auto failure = run(rules, "--add-laddr -z 10.0.5.1 -t [2001:db8::80]:80");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->exit_code, 255);
  EXPECT_NE(failure->message.find("not of the family"), std::string::npos) << failure->message;
  run_ok(rules, "-A -t 10.0.0.1:80 -s rr");
  EXPECT_TRUE(run(rules, "--add-laddr -z 2001:db8:2::3 -t 10.0.0.1:80"));
  for (const Service& s : rules.services) {
    EXPECT_TRUE(s.local_addresses.empty()) << s.key.str();
    if (s.family() == Family::V6) {
      EXPECT_EQ(s.local_addresses6, before.services[0].local_addresses6);
    }
  }
}

TEST(Schedulers, TheKernelsNames) {
  for (const char* name : {"rr", "wrr", "lc", "wlc", "sed", "nq", "lblc", "lblcr", "dh", "sh", "mh",
                           "fo", "ovf", "twos"}) {
    EXPECT_TRUE(is_known_scheduler(name)) << name;
  }
  EXPECT_FALSE(is_known_scheduler("nosuch"));
  EXPECT_FALSE(is_known_scheduler(""));
}

}  // namespace
}  // namespace vsd::ctl
