// Listings byte for byte as ipvsadm 1.31 prints them. The expected texts are spec section 9's
// examples (trailing blanks included) or written by hand from ipvsadm's printf formats.
#include "ctl/format.h"

#include <gtest/gtest.h>

#include "ctl/apply.h"
#include "ctl/port_names.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

Endpoint ep(const char* addr, uint16_t port) {
  return {*Ipv4::parse(addr), port};
}
ServiceKey tcp(const char* addr, uint16_t port) {
  return {Proto::Tcp, ep(addr, port), 0};
}
ServiceKey udp(const char* addr, uint16_t port) {
  return {Proto::Udp, ep(addr, port), 0};
}

ListOptions numeric(Columns columns = Columns::Default) {
  ListOptions options;
  options.numeric = true;
  options.columns = columns;
  return options;
}

Service web_service() {
  Service web;
  web.key = tcp("192.168.1.100", 80);
  web.scheduler = "wlc";
  web.persistent = true;
  web.persistence_timeout = 120;
  // Scheduling order: the newest first, so not the listing order.
  web.destinations = {{ep("192.168.1.13", 80), Method::Tun, 0, 0, 0},
                      {ep("192.168.1.12", 80), Method::Dr, 1, 0, 0},
                      {ep("192.168.1.11", 80), Method::Nat, 3, 0, 0}};
  return web;
}

// The state behind spec 9's `ipvsadm -L -n` example, its services created out of listing order.
DirectorState spec_example() {
  Service fwm;
  fwm.key = ServiceKey{Proto::Tcp, Endpoint{}, 7};
  fwm.scheduler = "mh";
  fwm.sched_flags = {"mh-fallback", "mh-port"};
  fwm.destinations = {{ep("192.168.1.14", 0), Method::Dr, 2, 0, 0}};

  Service dns;
  dns.key = udp("192.168.1.100", 53);
  dns.scheduler = "sh";
  dns.one_packet = true;
  dns.destinations = {{ep("192.168.1.11", 53), Method::Nat, 1, 0, 0}};

  Service tls;
  tls.key = tcp("192.168.1.101", 443);
  tls.scheduler = "lblcr";
  tls.persistent = true;
  tls.persistence_timeout = 360;
  tls.persistence_mask = Ipv4::from_octets(255, 255, 0, 0);

  DirectorState state;
  state.rules.services = {fwm, dns, web_service(), tls};
  ServiceState web_state;
  web_state.key = tcp("192.168.1.100", 80);
  DestinationState rs2;
  rs2.addr = ep("192.168.1.12", 80);
  rs2.active = 3;
  web_state.destinations = {rs2};
  state.services = {web_state};
  return state;
}

// One service, one busy destination: the state of spec 9's --stats/--thresholds examples.
DirectorState one_busy_destination() {
  Service web;
  web.key = tcp("192.168.1.100", 80);
  web.persistent = true;
  web.persistence_timeout = 120;
  web.destinations = {{ep("192.168.1.12", 80), Method::Dr, 1, 100, 50}};
  DestinationState rs;
  rs.addr = ep("192.168.1.12", 80);
  rs.active = 3;
  rs.persistent = 1;
  rs.totals = {3, 3, 0, 120, 0};
  ServiceState web_state;
  web_state.key = web.key;
  web_state.totals = {3, 3, 0, 120, 0};
  web_state.destinations = {rs};
  DirectorState state;
  state.rules.services = {web};
  state.services = {web_state};
  return state;
}

// --- -L -n ---------------------------------------------------------------------------------

TEST(FormatList, SpecExampleByteForByte) {
  EXPECT_EQ(format_services(spec_example(), numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.1.100:80 wlc persistent 120\n"
            "  -> 192.168.1.11:80              Masq    3      0          0         \n"
            "  -> 192.168.1.12:80              Route   1      3          0         \n"
            "  -> 192.168.1.13:80              Tunnel  0      0          0         \n"
            "TCP  192.168.1.101:443 lblcr persistent 360 mask 255.255.0.0\n"
            "UDP  192.168.1.100:53 sh ops\n"
            "  -> 192.168.1.11:53              Masq    1      0          0         \n"
            "FWM  7 mh (mh-fallback,mh-port)\n"
            "  -> 192.168.1.14:0               Route   2      0          0         \n");
}

TEST(FormatList, EmptyTable) {
  EXPECT_EQ(format_services(DirectorState{}, numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
}

TEST(FormatList, OneServiceHasNoVersionLine) {
  auto text = format_one_service(spec_example(), udp("192.168.1.100", 53), numeric());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text.value(),
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "UDP  192.168.1.100:53 sh ops\n"
            "  -> 192.168.1.11:53              Masq    1      0          0         \n");
}

TEST(FormatList, MissingServiceIsAListingFailure) {
  auto text = format_one_service(spec_example(), tcp("192.168.1.9", 80), numeric());
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.failure(), (Failure{1, "No such service"}));
}

TEST(FormatList, NoSortKeepsRuleAndSchedulingOrder) {
  ListOptions options = numeric();
  options.sorted = false;
  EXPECT_EQ(format_services(spec_example(), options),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "FWM  7 mh (mh-fallback,mh-port)\n"
            "  -> 192.168.1.14:0               Route   2      0          0         \n"
            "UDP  192.168.1.100:53 sh ops\n"
            "  -> 192.168.1.11:53              Masq    1      0          0         \n"
            "TCP  192.168.1.100:80 wlc persistent 120\n"
            "  -> 192.168.1.13:80              Tunnel  0      0          0         \n"
            "  -> 192.168.1.12:80              Route   1      3          0         \n"
            "  -> 192.168.1.11:80              Masq    3      0          0         \n"
            "TCP  192.168.1.101:443 lblcr persistent 360 mask 255.255.0.0\n");
}

TEST(FormatList, SortsAddressesAsNumbersAndPortsWithin) {
  DirectorState state;
  Service s;
  s.key = tcp("10.0.0.1", 80);
  s.destinations = {{ep("10.0.0.20", 80), Method::Nat, 1, 0, 0},
                    {ep("10.0.0.3", 8080), Method::Nat, 1, 0, 0},
                    {ep("10.0.0.3", 80), Method::Nat, 1, 0, 0}};
  Service high = s;
  high.key = tcp("192.168.0.1", 80);
  high.destinations.clear();
  state.rules.services = {high, s};
  EXPECT_EQ(format_services(state, numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:80 wlc\n"
            "  -> 10.0.0.3:80                  Masq    1      0          0         \n"
            "  -> 10.0.0.3:8080                Masq    1      0          0         \n"
            "  -> 10.0.0.20:80                 Masq    1      0          0         \n"
            "TCP  192.168.0.1:80 wlc\n");
}

TEST(FormatList, FullNatDestinationAndShFlags) {
  DirectorState state;
  Service s;
  s.key = tcp("10.0.0.1", 80);
  s.scheduler = "sh";
  s.sched_flags = {"sh-fallback", "sh-port"};
  s.destinations = {{ep("10.0.1.1", 8080), Method::FullNat, 1, 0, 0}};
  state.rules.services = {s};
  state.connection_table_size = 65536;
  EXPECT_EQ(format_services(state, numeric()),
            "IP Virtual Server version 1.2.1 (size=65536)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:80 sh (sh-fallback,sh-port)\n"
            "  -> 10.0.1.1:8080                FullNat 1      0          0         \n");
}

TEST(FormatList, WithoutNumericPortsHaveServiceNames) {
  if (port_name_or_number(80, Proto::Tcp) != "http") GTEST_SKIP() << "no /etc/services";
  DirectorState state;
  state.rules.services = {web_service()};
  ListOptions names;  // no -n
  EXPECT_EQ(format_services(state, names),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.1.100:http wlc persistent 120\n"
            "  -> 192.168.1.11:http            Masq    3      0          0         \n"
            "  -> 192.168.1.12:http            Route   1      0          0         \n"
            "  -> 192.168.1.13:http            Tunnel  0      0          0         \n");
}

// --- --stats, --rate, --exact ----------------------------------------------------------------

TEST(FormatStats, SpecExample) {
  EXPECT_EQ(format_services(one_busy_destination(), numeric(Columns::Stats)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80                    3        3        0      120        0\n"
            "  -> 192.168.1.12:80                     3        3        0      120        0\n");
}

TEST(FormatRate, RatesUnderTheSpecTitle) {
  DirectorState state = one_busy_destination();
  state.services[0].rates = {1, 25, 0, 2000, 0};
  state.services[0].destinations[0].rates = {1, 25, 0, 2000, 0};
  EXPECT_EQ(format_services(state, numeric(Columns::Rate)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80                    1       25        0     2000        0\n"
            "  -> 192.168.1.12:80                     1       25        0     2000        0\n");
}

TEST(FormatRate, DestinationPacketRatesAreNeverAbbreviated) {
  // ipvsadm prints a destination's CPS/InPPS/OutPPS with %8llu, its byte rates abbreviated.
  DirectorState state = one_busy_destination();
  state.services[0].rates = {0, 123456789, 0, 123456789, 0};
  state.services[0].destinations[0].rates = {0, 123456789, 0, 123456789, 0};
  EXPECT_EQ(format_services(state, numeric(Columns::Rate)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80                    0  123456K        0  123456K        0\n"
            "  -> 192.168.1.12:80                     0 123456789        0  123456K        0\n");
}

TEST(FormatStats, ExactWidensTheColumns) {
  DirectorState state = one_busy_destination();
  state.services[0].totals = {3, 1234567890, 0, 120, 0};
  ListOptions options = numeric(Columns::Stats);
  options.exact = true;
  EXPECT_EQ(format_one_service(state, tcp("192.168.1.100", 80), options).value(),
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80                    3 1234567890        0      120        0\n"
            "  -> 192.168.1.12:80                     3        3        0      120        0\n");
}

TEST(FormatCounter, AbbreviatesFromOneHundredMillion) {
  EXPECT_EQ(format_counter(0, false), "        0");
  EXPECT_EQ(format_counter(99999999, false), " 99999999");
  EXPECT_EQ(format_counter(100000000, false), "  100000K");
  EXPECT_EQ(format_counter(999999999, false), "  999999K");
  EXPECT_EQ(format_counter(1000000000, false), "    1000M");
  EXPECT_EQ(format_counter(99999999999ULL, false), "   99999M");
  EXPECT_EQ(format_counter(100000000000ULL, false), "     100G");
  EXPECT_EQ(format_counter(99999999999999ULL, false), "   99999G");
  EXPECT_EQ(format_counter(100000000000000ULL, false), "     100T");
}

TEST(FormatCounter, ExactKeepsEveryDigitAndALeadingSpace) {
  EXPECT_EQ(format_counter(123, true), "      123");
  EXPECT_EQ(format_counter(12345678, true), " 12345678");
  EXPECT_EQ(format_counter(123456789, true), " 123456789");
  EXPECT_EQ(format_counter(18446744073709551615ULL, true), " 18446744073709551615");
}

// --- --thresholds, --persistent-conn ---------------------------------------------------------

TEST(FormatThresholds, SpecExample) {
  EXPECT_EQ(format_services(one_busy_destination(), numeric(Columns::Thresholds)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80 wlc persistent 120\n"
            "  -> 192.168.1.12:80              100        50         3          0         \n");
}

TEST(FormatPersistentConn, SpecExample) {
  EXPECT_EQ(format_services(one_busy_destination(), numeric(Columns::PersistentConn)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80 wlc persistent 120\n"
            "  -> 192.168.1.12:80              1         1           3          0         \n");
}

// --- -c, --timeout ---------------------------------------------------------------------------

DirectorState spec_connections() {
  DirectorState state;
  state.connections = {
      {Proto::Tcp, 115, "NONE", ep("10.0.0.2", 0), ep("192.168.1.100", 80), ep("192.168.1.12", 80)},
      {Proto::Tcp, 55, "SYN_RECV", ep("10.0.0.2", 22200), ep("192.168.1.100", 80),
       ep("192.168.1.12", 80)},
      {Proto::Udp, 296, "UDP", ep("10.0.0.2", 4000), ep("10.0.0.100", 53),
       ep("192.168.1.11", 5353)},
  };
  return state;
}

TEST(FormatConnections, SpecExample) {
  EXPECT_EQ(format_connections(spec_connections(), numeric()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 01:55  NONE        10.0.0.2:0         192.168.1.100:80   192.168.1.12:80\n"
            "TCP 00:55  SYN_RECV    10.0.0.2:22200     192.168.1.100:80   192.168.1.12:80\n"
            "UDP 04:56  UDP         10.0.0.2:4000      10.0.0.100:53      192.168.1.11:5353\n");
}

TEST(FormatConnections, LongExpiryWidensTheMinutes) {
  DirectorState state;
  state.connections = {{Proto::Tcp, 6000, "ESTABLISHED", ep("10.0.0.2", 1234),
                        ep("192.168.1.100", 80), ep("192.168.1.12", 80)}};
  EXPECT_EQ(format_connections(state, numeric()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 100:00 ESTABLISHED 10.0.0.2:1234      192.168.1.100:80   192.168.1.12:80\n");
}

TEST(FormatConnections, PersistentConnAddsPersistenceEngineColumnsToTheTitle) {
  EXPECT_EQ(format_connections(DirectorState{}, numeric(Columns::PersistentConn)),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination        "
            "pe name          pe_data\n");
}

TEST(FormatConnections, PersistentConnEndsASipTemplatesLineWithItsCallId) {
  DirectorState state;
  ConnectionEntry t;
  t.proto = Proto::Udp;
  t.expires_s = 59;
  t.state = "NONE";
  t.client = ep("10.10.0.2", 0);
  t.virtual_addr = ep("10.20.0.100", 5060);
  t.destination = ep("192.168.10.12", 5060);
  t.pe_name = "sip";
  t.pe_data = "a84b4c76e66710@pc33";
  state.connections.push_back(t);
  // ipvsadm's "%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s".
  EXPECT_EQ(format_connections(state, numeric(Columns::PersistentConn)),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination        "
            "pe name          pe_data\n"
            "UDP 00:59  NONE        10.10.0.2:0        10.20.0.100:5060   192.168.10.12:5060 "
            "sip                a84b4c76e66710@pc33\n");
  // Without --persistent-conn the line is an ordinary one.
  EXPECT_EQ(format_connections(state, numeric()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "UDP 00:59  NONE        10.10.0.2:0        10.20.0.100:5060   192.168.10.12:5060\n");
}

// --pe sip: "pe sip" after the persistence part of -L's line, "--pe sip" after -p/-M in -S
// (ipvsadm 1.31's print_service_entry), and what -S saves restores to the same rules.
TEST(FormatPe, ListingAndSaveNameTheEngine) {
  using test_lines::run_ok;
  DirectorState state;
  run_ok(state.rules, "-A -u 10.0.0.1:5060 -s rr -p 60 -M 255.255.255.0 --pe sip");
  run_ok(state.rules, "-A -u 10.0.0.1:5061 -s rr -p 60 --pe sip -o");
  EXPECT_EQ(format_services(state, numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "UDP  10.0.0.1:5060 rr persistent 60 mask 255.255.255.0 pe sip\n"
            "UDP  10.0.0.1:5061 rr persistent 60 pe sip ops\n");
  const std::string saved = format_save(state.rules, true);
  EXPECT_EQ(saved,
            "-A -u 10.0.0.1:5060 -s rr -p 60 -M 255.255.255.0 --pe sip\n"
            "-A -u 10.0.0.1:5061 -s rr -p 60 --pe sip -o\n");
  RuleSet restored;
  ASSERT_FALSE(apply_restore(restored, saved).has_value());
  EXPECT_EQ(format_save(restored, true), saved);
}

TEST(FormatTimeouts, Defaults) {
  EXPECT_EQ(format_timeouts(Timeouts{}), "Timeout (tcp tcpfin udp): 900 120 300\n");
}

// --- -S, and -S -> -R -> -S ------------------------------------------------------------------

constexpr const char* kSpecSave =
    "-A -t 192.168.1.100:80 -s wlc -p 120\n"
    "-a -t 192.168.1.100:80 -r 192.168.1.11:80 -m -w 3\n"
    "-a -t 192.168.1.100:80 -r 192.168.1.12:80 -g -w 1\n"
    "-a -t 192.168.1.100:80 -r 192.168.1.13:80 -i -w 0 --tun-type ipip\n"
    "-A -t 192.168.1.101:443 -s lblcr -p 360 -M 255.255.0.0\n"
    "-A -u 192.168.1.100:53 -s sh -o\n"
    "-a -u 192.168.1.100:53 -r 192.168.1.11:53 -m -w 1\n"
    "-A -f 7 -s mh -b mh-fallback,mh-port\n"
    "-a -f 7 -r 192.168.1.14:0 -g -w 2\n";

TEST(FormatSave, SpecExample) {
  EXPECT_EQ(format_save(spec_example().rules, true), kSpecSave);
}

TEST(FormatSave, RestoringTheSaveGivesTheSameSave) {
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, kSpecSave), std::nullopt);
  EXPECT_EQ(format_save(restored, true), kSpecSave);
}

TEST(FormatSave, FullNatAndLocalAddressesRoundTrip) {
  constexpr const char* kSave =
      "-A -t 10.0.0.1:80 -s rr\n"
      "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -b -w 1\n"
      "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -b -w 5\n"
      "--add-laddr -z 10.0.2.2 -t 10.0.0.1:80\n"
      "--add-laddr -z 10.0.2.1 -t 10.0.0.1:80\n"
      "-A -t 10.0.0.2 -s sh -p 60 -M 255.255.255.0 -b sh-fallback\n"
      "-a -t 10.0.0.2:0 -r 10.0.1.3:0 -g -w 1\n";
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, kSave), std::nullopt);
  const std::string saved = format_save(restored, true);
  // A port-0 service saves as "addr:0"; everything else comes back as written.
  EXPECT_EQ(saved,
            "-A -t 10.0.0.1:80 -s rr\n"
            "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -b -w 1\n"
            "-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -b -w 5\n"
            "--add-laddr -z 10.0.2.2 -t 10.0.0.1:80\n"
            "--add-laddr -z 10.0.2.1 -t 10.0.0.1:80\n"
            "-A -t 10.0.0.2:0 -s sh -p 60 -M 255.255.255.0 -b sh-fallback\n"
            "-a -t 10.0.0.2:0 -r 10.0.1.3:0 -g -w 1\n");
  RuleSet again;
  ASSERT_EQ(apply_restore(again, saved), std::nullopt);
  EXPECT_EQ(format_save(again, true), saved);
}

TEST(FormatSave, ToaSavesAsItsOptionAndRestores) {
  constexpr const char* kSave =
      "-A -t 10.0.0.1:80 -s rr --toa\n"
      "-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -b -w 1\n"
      "--add-laddr -z 10.0.2.1 -t 10.0.0.1:80\n";
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, kSave), std::nullopt);
  ASSERT_EQ(restored.services.size(), 1u);
  EXPECT_TRUE(restored.services[0].toa);
  EXPECT_EQ(format_save(restored, true), kSave);
  // -E without --toa turns it off, as -E resets every flag it is not given.
  ASSERT_EQ(apply_restore(restored, "-E -t 10.0.0.1:80 -s rr\n"), std::nullopt);
  EXPECT_FALSE(restored.services[0].toa);
}

TEST(FormatSave, WithoutNumericPortsHaveServiceNamesAndStillRestore) {
  if (port_name_or_number(80, Proto::Tcp) != "http") GTEST_SKIP() << "no /etc/services";
  DirectorState state;
  state.rules.services = {web_service()};
  const std::string saved = format_save(state.rules, false);
  EXPECT_EQ(saved,
            "-A -t 192.168.1.100:http -s wlc -p 120\n"
            "-a -t 192.168.1.100:http -r 192.168.1.11:http -m -w 3\n"
            "-a -t 192.168.1.100:http -r 192.168.1.12:http -g -w 1\n"
            "-a -t 192.168.1.100:http -r 192.168.1.13:http -i -w 0 --tun-type ipip\n");
  RuleSet restored;
  ASSERT_EQ(apply_restore(restored, saved), std::nullopt);
  EXPECT_EQ(format_save(restored, false), saved);
}

// --- --get-laddr (DPVS) ----------------------------------------------------------------------

TEST(FormatLocalAddresses, OneService) {
  RuleSet rules;
  Service s;
  s.key = tcp("10.0.0.1", 80);
  s.local_addresses = {Ipv4::from_octets(10, 0, 2, 1), Ipv4::from_octets(10, 0, 2, 2)};
  rules.services = {s};
  auto text = format_local_addresses(rules, tcp("10.0.0.1", 80));
  ASSERT_TRUE(text.ok());
  const std::string pool_indent(30, ' ');
  EXPECT_EQ(text.value(),
            "VIP:VPORT            TOTAL    SNAT_IP              CONFLICTS  CONNS     \n"
            "10.0.0.1:80          2        \n" +
                pool_indent + "10.0.2.1             0          0         \n" + pool_indent +
                "10.0.2.2             0          0         \n");
  EXPECT_EQ(format_local_addresses(rules, tcp("10.0.0.9", 80)).failure(),
            (Failure{1, "No such service"}));
}

// An IPv6 service's pool: -S saves it as it was given, and a restore gives the same rules back.
TEST(FormatLocalAddresses, AnIpv6PoolIsSavedAndRestored) {
  const std::string saved =
      "-A -t [2001:db8::80]:80 -s rr\n"
      "-a -t [2001:db8::80]:80 -r [2001:db8:1::11]:80 -b -w 1\n"
      "--add-laddr -z 2001:db8:2::1 -t [2001:db8::80]:80\n"
      "--add-laddr -z 2001:db8:2::2 -t [2001:db8::80]:80\n";
  RuleSet rules;
  ASSERT_EQ(apply_restore(rules, saved), std::nullopt);
  EXPECT_EQ(format_save(rules, true), saved);
  auto text = format_local_addresses(rules, std::nullopt);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text.value().find("2001:db8:2::2"), std::string::npos) << text.value();
}

// --- dispatch -------------------------------------------------------------------------------

TEST(FormatCommand, ListTimeoutsAndSave) {
  Command timeouts;
  timeouts.list.kind = ListKind::Timeouts;
  EXPECT_EQ(format_command(DirectorState{}, timeouts).value(),
            "Timeout (tcp tcpfin udp): 900 120 300\n");
  Command save;
  save.op = Op::Save;
  save.list.numeric = true;
  EXPECT_EQ(format_command(spec_example(), save).value(), kSpecSave);
}

}  // namespace
}  // namespace vsd::ctl
