// vsadm's IPv6 listings and save format, byte for byte. Every expected text below is what
// ipvsadm 1.31 printed (Debian 12's ipvsadm on Debian 12's Linux 6.1 IPVS, booted under qemu as
// the qemu-kernel DUT's guest, /etc/services from Debian 12) after the same commands, cut only
// where noted. What it shows: an IPv6 address in [..], service and destination names never cut
// to ipvsadm's IPv4 column widths (the line widens), "FWM  7 IPv6" and "-f 7 -6" for an IPv6
// fwmark service, -M as a prefix length ("mask 64", "-M 64"; 128 is not printed), IPv4
// services before IPv6 ones of the same mark or protocol.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "ctl/apply.h"
#include "ctl/format.h"
#include "ctl/test_commands.h"
#include "ctl/test_ipv6_oracle.h"

namespace vsd::ctl {
namespace {

using namespace test_lines;

DirectorState state_of(const std::vector<std::string>& lines) {
  DirectorState state;
  for (const std::string& line : lines) {
    auto failure = run(state.rules, line);
    EXPECT_FALSE(failure) << line << ": " << *failure;
  }
  return state;
}

ListOptions numeric(Columns columns = Columns::Default) {
  return {.columns = columns, .numeric = true};
}
ListOptions names() {
  return ListOptions{};
}

// The commands of the run, in its order. ipvsadm listed one more service,
// [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443, first among the IPv6 ones: libipvs orders IPv6
// addresses by subtracting 32-bit words as ints, so 0xaaaabbbb sorts below 0. vsd compares the
// words as the unsigned numbers they are (as it does IPv4 addresses, format.h), which puts it
// last; its lines are checked alone below (kLongRules), and cut from these listings.
const std::vector<std::string> kRules = {
    "-A -t [2001:db8::80]:80 -s rr",
    "-a -t [2001:db8::80]:80 -r [2001:db8:1::11]:8080 -m -w 3",
    "-a -t [2001:db8::80]:80 -r [2001:db8:1::12]:8080 -g",
    "-A -u [2001:db8::53]:53 -s wlc -o",
    "-a -u [2001:db8::53]:53 -r [2001:db8:1::11]:53 -m",
    "-A -f 7 -6 -s rr -p 60 -M 48",
    "-a -f 7 -6 -r [2001:db8:1::14]:0 -g -w 2",
    "-A -f 7 -s rr",
    "-a -f 7 -r 10.0.1.14:0 -g -w 2",
    "-A -t 10.0.0.1:80 -s rr",
    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m",
    "-A -t [2001:db8::81]:80 -s rr -p -M 128",
    "-A -t [2001:db8::82]:http -s rr -p 300",
};

const std::vector<std::string> kLongRules = {
    "-A -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 -s wlc -p 120 -M 64",
    "-a -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 -r "
    "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443 -m -x 10 -y 5",
};

TEST(FormatIpv6, ListNumeric) {
  // ipvsadm -L -n
  EXPECT_EQ(format_services(state_of(kRules), numeric()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:80 rr\n"
            "  -> 10.0.1.1:80                  Masq    1      0          0         \n"
            "TCP  [2001:db8::80]:80 rr\n"
            "  -> [2001:db8:1::11]:8080        Masq    3      0          0         \n"
            "  -> [2001:db8:1::12]:80          Route   1      0          0         \n"
            "TCP  [2001:db8::81]:80 rr persistent 360\n"
            "TCP  [2001:db8::82]:80 rr persistent 300\n"
            "UDP  [2001:db8::53]:53 wlc ops\n"
            "  -> [2001:db8:1::11]:53          Masq    1      0          0         \n"
            "FWM  7 rr\n"
            "  -> 10.0.1.14:0                  Route   2      0          0         \n"
            "FWM  7 IPv6 rr persistent 60 mask 48\n"
            "  -> [2001:db8:1::14]:0           Route   2      0          0         \n");
}

TEST(FormatIpv6, ListWithPortNames) {
  // ipvsadm -L
  EXPECT_EQ(format_services(state_of(kRules), names()),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:http rr\n"
            "  -> 10.0.1.1:http                Masq    1      0          0         \n"
            "TCP  [2001:db8::80]:http rr\n"
            "  -> [2001:db8:1::11]:http-alt    Masq    3      0          0         \n"
            "  -> [2001:db8:1::12]:http        Route   1      0          0         \n"
            "TCP  [2001:db8::81]:http rr persistent 360\n"
            "TCP  [2001:db8::82]:http rr persistent 300\n"
            "UDP  [2001:db8::53]:domain wlc ops\n"
            "  -> [2001:db8:1::11]:domain      Masq    1      0          0         \n"
            "FWM  7 rr\n"
            "  -> 10.0.1.14:0                  Route   2      0          0         \n"
            "FWM  7 IPv6 rr persistent 60 mask 48\n"
            "  -> [2001:db8:1::14]:0           Route   2      0          0         \n");
}

// ipvsadm -L -n --stats and --rate printed the same rows under their titles (nothing counted).
const std::string kZeroCounterRows =
    "TCP  10.0.0.1:80                         0        0        0        0        0\n"
    "  -> 10.0.1.1:80                         0        0        0        0        0\n"
    "TCP  [2001:db8::80]:80                   0        0        0        0        0\n"
    "  -> [2001:db8:1::11]:8080               0        0        0        0        0\n"
    "  -> [2001:db8:1::12]:80                 0        0        0        0        0\n"
    "TCP  [2001:db8::81]:80                   0        0        0        0        0\n"
    "TCP  [2001:db8::82]:80                   0        0        0        0        0\n"
    "UDP  [2001:db8::53]:53                   0        0        0        0        0\n"
    "  -> [2001:db8:1::11]:53                 0        0        0        0        0\n"
    "FWM  7                                   0        0        0        0        0\n"
    "  -> 10.0.1.14:0                         0        0        0        0        0\n"
    "FWM  7 IPv6                              0        0        0        0        0\n"
    "  -> [2001:db8:1::14]:0                  0        0        0        0        0\n";

TEST(FormatIpv6, Stats) {
  // ipvsadm -L -n --stats
  EXPECT_EQ(format_services(state_of(kRules), numeric(Columns::Stats)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n" +
                kZeroCounterRows);
}

TEST(FormatIpv6, Rate) {
  // ipvsadm -L -n --rate
  EXPECT_EQ(format_services(state_of(kRules), numeric(Columns::Rate)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n" +
                kZeroCounterRows);
}

TEST(FormatIpv6, Thresholds) {
  // ipvsadm -L -n --thresholds
  EXPECT_EQ(format_services(state_of(kRules), numeric(Columns::Thresholds)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  10.0.0.1:80 rr\n"
            "  -> 10.0.1.1:80                  0          0          0          0         \n"
            "TCP  [2001:db8::80]:80 rr\n"
            "  -> [2001:db8:1::11]:8080        0          0          0          0         \n"
            "  -> [2001:db8:1::12]:80          0          0          0          0         \n"
            "TCP  [2001:db8::81]:80 rr persistent 360\n"
            "TCP  [2001:db8::82]:80 rr persistent 300\n"
            "UDP  [2001:db8::53]:53 wlc ops\n"
            "  -> [2001:db8:1::11]:53          0          0          0          0         \n"
            "FWM  7 rr\n"
            "  -> 10.0.1.14:0                  0          0          0          0         \n"
            "FWM  7 IPv6 rr persistent 60 mask 48\n"
            "  -> [2001:db8:1::14]:0           0          0          0          0         \n");
}

TEST(FormatIpv6, PersistentConn) {
  // ipvsadm -L -n --persistent-conn
  EXPECT_EQ(format_services(state_of(kRules), numeric(Columns::PersistentConn)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  10.0.0.1:80 rr\n"
            "  -> 10.0.1.1:80                  1         0           0          0         \n"
            "TCP  [2001:db8::80]:80 rr\n"
            "  -> [2001:db8:1::11]:8080        3         0           0          0         \n"
            "  -> [2001:db8:1::12]:80          1         0           0          0         \n"
            "TCP  [2001:db8::81]:80 rr persistent 360\n"
            "TCP  [2001:db8::82]:80 rr persistent 300\n"
            "UDP  [2001:db8::53]:53 wlc ops\n"
            "  -> [2001:db8:1::11]:53          1         0           0          0         \n"
            "FWM  7 rr\n"
            "  -> 10.0.1.14:0                  2         0           0          0         \n"
            "FWM  7 IPv6 rr persistent 60 mask 48\n"
            "  -> [2001:db8:1::14]:0           2         0           0          0         \n");
}

TEST(FormatIpv6, ALongAddressWidensTheLine) {
  // ipvsadm -L -n
  EXPECT_EQ(
      format_services(state_of(kLongRules), numeric()),
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
      "TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 wlc persistent 120 mask 64\n"
      "  -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443 Masq    1      0          0         \n");
  // ipvsadm -L -n --stats
  EXPECT_EQ(format_services(state_of(kLongRules), numeric(Columns::Stats)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443        0        0        0        0 "
            "       0\n"
            "  -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443        0        0        0        0    "
            "    0\n");
  // ipvsadm -L -n --thresholds
  EXPECT_EQ(format_services(state_of(kLongRules), numeric(Columns::Thresholds)),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 wlc persistent 120 mask 64\n"
            "  -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443 10         5          0          0     "
            "    \n");
  // ipvsadm -L
  EXPECT_EQ(
      format_services(state_of(kLongRules), names()),
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
      "TCP  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:https wlc persistent 120 mask 64\n"
      "  -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:https Masq    1      0          0         \n");
}

TEST(FormatIpv6, OneServiceAndOneIpv6FwmarkService) {
  const DirectorState state = state_of(kRules);
  // ipvsadm -L -n -t [2001:db8::80]:80
  EXPECT_EQ(format_one_service(state, tcp6("2001:db8::80", 80), numeric()).value(),
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  [2001:db8::80]:80 rr\n"
            "  -> [2001:db8:1::11]:8080        Masq    3      0          0         \n"
            "  -> [2001:db8:1::12]:80          Route   1      0          0         \n");
  // ipvsadm -L -n -f 7 -6
  EXPECT_EQ(format_one_service(state, fwmark6(7), numeric()).value(),
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "FWM  7 IPv6 rr persistent 60 mask 48\n"
            "  -> [2001:db8:1::14]:0           Route   2      0          0         \n");
}

TEST(FormatIpv6, Save) {
  const DirectorState state = state_of(kRules);
  // ipvsadm -S -n
  EXPECT_EQ(format_save(state.rules, true), test_oracle::kIpv6SaveNumeric);
  // ipvsadm -S
  EXPECT_EQ(format_save(state.rules, false),
            "-A -t 10.0.0.1:http -s rr\n"
            "-a -t 10.0.0.1:http -r 10.0.1.1:http -m -w 1\n"
            "-A -t [2001:db8::80]:http -s rr\n"
            "-a -t [2001:db8::80]:http -r [2001:db8:1::11]:http-alt -m -w 3\n"
            "-a -t [2001:db8::80]:http -r [2001:db8:1::12]:http -g -w 1\n"
            "-A -t [2001:db8::81]:http -s rr -p 360\n"
            "-A -t [2001:db8::82]:http -s rr -p 300\n"
            "-A -u [2001:db8::53]:domain -s wlc -o\n"
            "-a -u [2001:db8::53]:domain -r [2001:db8:1::11]:domain -m -w 1\n"
            "-A -f 7 -s rr\n"
            "-a -f 7 -r 10.0.1.14:0 -g -w 2\n"
            "-A -f 7 -6 -s rr -p 60 -M 48\n"
            "-a -f 7 -6 -r [2001:db8:1::14]:0 -g -w 2\n");
  // ipvsadm -S -n, the long address's lines
  EXPECT_EQ(format_save(state_of(kLongRules).rules, true),
            "-A -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 -s wlc -p 120 -M 64\n"
            "-a -t [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 -r "
            "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1]:443 -m -w 1\n");
}

// ipvsadm -R reads back what -S wrote, to the same rules (the run's -S -n, -C, -R, -S -n printed
// the same text).
TEST(FormatIpv6, SaveThenRestoreGivesTheSameRules) {
  for (const auto& lines : {kRules, kLongRules}) {
    const RuleSet rules = state_of(lines).rules;
    for (bool numeric_ports : {true, false}) {
      const std::string saved = format_save(rules, numeric_ports);
      RuleSet restored;
      std::istringstream in(saved);
      for (std::string line; std::getline(in, line);) run_ok(restored, line);
      EXPECT_EQ(format_save(restored, true), format_save(rules, true)) << saved;
      EXPECT_EQ(restored.services.size(), rules.services.size());
    }
  }
}

// The connection listing's columns (print_conn: %-18s, never cut) with IPv6 entries. The run
// had no IPv6 traffic, so this text is ipvsadm's printf formats applied by hand.
TEST(FormatIpv6, Connections) {
  DirectorState state;
  ConnectionEntry c;
  c.proto = Proto::Tcp;
  c.expires_s = 899;
  c.state = "ESTABLISHED";
  c.client = ep6("2001:db8:ffff::10", 40000);
  c.virtual_addr = ep6("2001:db8::80", 80);
  c.destination = ep6("2001:db8:1::11", 8080);
  state.connections.push_back(c);
  EXPECT_EQ(format_connections(state, numeric()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 14:59  ESTABLISHED [2001:db8:ffff::10]:40000 [2001:db8::80]:80  "
            "[2001:db8:1::11]:8080\n");
  EXPECT_EQ(format_connections(state, names()),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 14:59  ESTABLISHED [2001:db8:ffff::10]:40000 [2001:db8::80]:http "
            "[2001:db8:1::11]:http-alt\n");
}

}  // namespace
}  // namespace vsd::ctl
