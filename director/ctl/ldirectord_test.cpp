// vsadm as a drop-in ipvsadm for Debian's ldirectord: every command line ldirectord builds
// (ld_start, _restore_service, _remove_service, purge_*) parsed and applied in the order it
// sends them, and the two listings it parses (-L -n and -L -n --thresholds: it skips three
// title lines, then reads "PROTO ADDR:PORT SCHED [persistent N [mask M]]" and
// "  -> ADDR:PORT FORWARD WEIGHT ..." / "  -> ADDR:PORT UTHR LTHR ..."). The command lines are
// written as ldirectord joins them (its trailing and doubled blanks included, which the shell
// drops); the expected listings are written by hand from ipvsadm 1.31's printf formats.
#include <gtest/gtest.h>

#include "ctl/apply.h"
#include "ctl/format.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

using test_lines::ep;
using test_lines::ep6;
using test_lines::fwmark6;
using test_lines::parsed;
using test_lines::run_ok;
using test_lines::tcp;
using test_lines::tcp6;

std::string listing(const RuleSet& rules, const std::string& line) {
  DirectorState state;
  state.rules = rules;
  auto text = format_command(state, parsed(line));
  EXPECT_TRUE(text.ok()) << line;
  return text.ok() ? text.value() : "";
}

const Destination* find_destination(const RuleSet& rules, const ServiceKey& key,
                                    const IpEndpoint& addr) {
  for (const Service& service : rules.services) {
    if (!(service.key == key)) continue;
    for (const Destination& dest : service.destinations) {
      if (dest.addr == addr) return &dest;
    }
  }
  return nullptr;
}

// The listing commands ldirectord runs before every change.
TEST(Ldirectord, ListingCommandsParse) {
  const Command plain = parsed("-L -n");
  EXPECT_EQ(plain.op, Op::List);
  EXPECT_TRUE(plain.list.numeric);
  EXPECT_EQ(plain.list.columns, Columns::Default);
  const Command thresholds = parsed("-L -n --thresholds");
  EXPECT_EQ(thresholds.op, Op::List);
  EXPECT_TRUE(thresholds.list.numeric);
  EXPECT_EQ(thresholds.list.columns, Columns::Thresholds);
}

// ld_start: -A for a new virtual service, -E when -L -n already lists it; the flags string is
// "$proto $vip [-o] [-s SCHED] [-p T [-M MASK]] [-b FLAGS] ".
TEST(Ldirectord, VirtualServiceForms) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.20.0.100:80 -s rr ");
  run_ok(rules, "-E -t 10.20.0.100:80 -s wlc -p 300 -M 255.255.255.0 ");
  run_ok(rules, "-A -u 10.20.0.100:53 -o -s rr ");
  run_ok(rules, "-A -t 10.20.0.100:443 -s sh -b sh-port ");
  run_ok(rules, "-A -f 7 -s wrr ");
  run_ok(rules, "-A -t 10.20.0.100:8080 ");  // no scheduler= line: ipvsadm's default, wlc
  ASSERT_EQ(rules.services.size(), 5u);
  EXPECT_EQ(rules.services[0].scheduler, "wlc");
  EXPECT_TRUE(rules.services[0].persistent);
  EXPECT_EQ(rules.services[0].persistence_timeout, 300u);
  EXPECT_EQ(rules.services[0].persistence_mask, Ipv4::from_octets(255, 255, 255, 0));
  EXPECT_TRUE(rules.services[1].one_packet);
  EXPECT_EQ(rules.services[4].scheduler, "wlc");

  run_ok(rules, "-D -t 10.20.0.100:8080");  // purge_virtual
  run_ok(rules, "-D -f 7");
  EXPECT_EQ(rules.services.size(), 3u);
}

// _restore_service: "-a|-e $proto $vip -x U -y L -r RIP:PORT $forw -w W", the thresholds
// before -r; _remove_service: "-e ... -r RIP:PORT $forw -w 0" (quiescent), "-a ... -w 0"
// (readdquiescent) or "-d $proto $vip -r RIP:PORT".
TEST(Ldirectord, RealServerForms) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.20.0.100:80 -s rr ");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.11:8080 -m -w 1");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 100 -y 50 -r 192.168.10.12:8080 -m -w 3");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.13:80 -g -w 1");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.14:80 -i -w 1");
  const ServiceKey vip = tcp("10.20.0.100", 80);

  const Destination* rs2 = find_destination(rules, vip, ep("192.168.10.12", 8080));
  ASSERT_NE(rs2, nullptr);
  EXPECT_EQ(rs2->method, Method::Nat);
  EXPECT_EQ(rs2->weight, 3);
  EXPECT_EQ(rs2->upper_threshold, 100u);
  EXPECT_EQ(rs2->lower_threshold, 50u);

  run_ok(rules, "-e -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 0");  // quiescent
  EXPECT_EQ(find_destination(rules, vip, ep("192.168.10.11", 8080))->weight, 0);
  run_ok(rules, "-e -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.11:8080 -m -w 1");  // restored
  EXPECT_EQ(find_destination(rules, vip, ep("192.168.10.11", 8080))->weight, 1);

  run_ok(rules, "-d -t 10.20.0.100:80 -r 192.168.10.11:8080");  // quiescent=no
  EXPECT_EQ(find_destination(rules, vip, ep("192.168.10.11", 8080)), nullptr);
  run_ok(rules, "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 0");  // readdquiescent
  EXPECT_EQ(find_destination(rules, vip, ep("192.168.10.11", 8080))->weight, 0);

  // A fallback server is restored like a real server, with weight 1.
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.11:8081 -m -w 1");
  run_ok(rules, "-d -t 10.20.0.100:80 -r 192.168.10.11:8081");
  EXPECT_EQ(find_destination(rules, vip, ep("192.168.10.11", 8081)), nullptr);
}

// A real server whose forward is unknown to ldirectord gets " " for its flag, so the line has
// no method switch: ipvsadm's default, gatewaying.
TEST(Ldirectord, RealServerWithoutMethodIsRouted) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.20.0.100:80 -s rr ");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.11:80   -w 2");
  const Destination* rs = find_destination(rules, tcp("10.20.0.100", 80), ep("192.168.10.11", 80));
  ASSERT_NE(rs, nullptr);
  EXPECT_EQ(rs->method, Method::Dr);
  EXPECT_EQ(rs->weight, 2);
}

// What ldirectord reads back after ld_start for a masq virtual with three real servers, one
// quiesced, and a persistent service; written from ipvsadm's print_title and
// print_service_entry formats ("%s %s", " persistent %u", " mask %s", "  -> %-28s %-7s %-6d
// %-10u %-10u").
TEST(Ldirectord, ListingAsIpvsadmPrintsIt) {
  RuleSet rules;
  run_ok(rules, "-A -t 10.20.0.100:80 -s rr ");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.11:8080 -m -w 1");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 0 -y 0 -r 192.168.10.12:8080 -m -w 1");
  run_ok(rules, "-a -t 10.20.0.100:80 -x 20 -y 10 -r 192.168.10.13:8080 -m -w 1");
  run_ok(rules, "-e -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 0");
  run_ok(rules, "-A -t 10.20.0.100:443 -s wlc -p 300 -M 255.255.255.0 ");
  run_ok(rules, "-a -t 10.20.0.100:443 -x 0 -y 0 -r 192.168.10.11:443 -g -w 2");
  run_ok(rules, "-A -u 10.20.0.100:53 -s rr -p 60 ");
  run_ok(rules, "-a -u 10.20.0.100:53 -x 0 -y 0 -r 192.168.10.11:53 -i -w 1");

  EXPECT_EQ(listing(rules, "-L -n"),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.20.0.100:80 rr\n"
            "  -> 192.168.10.11:8080           Masq    1      0          0         \n"
            "  -> 192.168.10.12:8080           Masq    0      0          0         \n"
            "  -> 192.168.10.13:8080           Masq    1      0          0         \n"
            "TCP  10.20.0.100:443 wlc persistent 300 mask 255.255.255.0\n"
            "  -> 192.168.10.11:443            Route   2      0          0         \n"
            "UDP  10.20.0.100:53 rr persistent 60\n"
            "  -> 192.168.10.11:53             Tunnel  1      0          0         \n");

  // print_title with thresholds: "%-33s %-10s %-10s %-10s %-10s"; a destination
  // "  -> %-28s %-10u %-10u %-10u %-10u".
  EXPECT_EQ(listing(rules, "-L -n --thresholds"),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  10.20.0.100:80 rr\n"
            "  -> 192.168.10.11:8080           0          0          0          0         \n"
            "  -> 192.168.10.12:8080           0          0          0          0         \n"
            "  -> 192.168.10.13:8080           20         10         0          0         \n"
            "TCP  10.20.0.100:443 wlc persistent 300 mask 255.255.255.0\n"
            "  -> 192.168.10.11:443            0          0          0          0         \n"
            "UDP  10.20.0.100:53 rr persistent 60\n"
            "  -> 192.168.10.11:53             0          0          0          0         \n");
}

// A firewall-mark virtual (ldirectord's "virtual=7") lists as "FWM  7 SCHED", which its
// service pattern reads as protocol FWM, service 7.
TEST(Ldirectord, FirewallMarkListing) {
  RuleSet rules;
  run_ok(rules, "-A -f 7 -s rr ");
  run_ok(rules, "-a -f 7 -x 0 -y 0 -r 192.168.10.11:80 -g -w 1");
  EXPECT_EQ(listing(rules, "-L -n"),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "FWM  7 rr\n"
            "  -> 192.168.10.11:80             Route   1      0          0         \n");
}

// The same over IPv6 (virtual6=, real6=, fallback6=): ldirectord writes every address as
// [addr]:port (getnameinfo's compressed form), adds " -6" after a firewall mark, takes netmask=
// as a prefix length, and reads the listing back with "\[[0-9A-Fa-f:]+\]:\d+" for an address
// and an optional " IPv6" after a mark ("FWM  7 IPv6 rr" is its service "7 fwm6"). The
// listings' widths are ipvsadm's, as director/ctl/format_ipv6_test.cpp holds them.
TEST(Ldirectord, Ipv6Forms) {
  RuleSet rules;
  run_ok(rules, "-A -t [fd00:20::100]:80 -s rr ");
  run_ok(rules, "-E -t [fd00:20::100]:80 -s wlc -p 300 -M 64 ");
  run_ok(rules, "-A -f 7 -6 -s rr ");
  run_ok(rules, "-a -t [fd00:20::100]:80 -x 20 -y 10 -r [fd00:168:10::11]:8080 -m -w 1");
  run_ok(rules, "-a -t [fd00:20::100]:80 -x 0 -y 0 -r [fd00:168:10::12]:8080 -m -w 1");
  // quiescent (its -e, without -x/-y, would clear thresholds: rs2 has none to lose)
  run_ok(rules, "-e -t [fd00:20::100]:80 -r [fd00:168:10::12]:8080 -m -w 0");
  run_ok(rules, "-a -f 7 -6 -x 0 -y 0 -r [fd00:168:10::13]:80 -g -w 1");
  const Destination* rs2 =
      find_destination(rules, tcp6("fd00:20::100", 80), ep6("fd00:168:10::12", 8080));
  ASSERT_NE(rs2, nullptr);
  EXPECT_EQ(rs2->weight, 0);

  EXPECT_EQ(listing(rules, "-L -n"),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  [fd00:20::100]:80 wlc persistent 300 mask 64\n"
            "  -> [fd00:168:10::11]:8080       Masq    1      0          0         \n"
            "  -> [fd00:168:10::12]:8080       Masq    0      0          0         \n"
            "FWM  7 IPv6 rr\n"
            "  -> [fd00:168:10::13]:80         Route   1      0          0         \n");
  EXPECT_EQ(listing(rules, "-L -n --thresholds"),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  [fd00:20::100]:80 wlc persistent 300 mask 64\n"
            "  -> [fd00:168:10::11]:8080       20         10         0          0         \n"
            "  -> [fd00:168:10::12]:8080       0          0          0          0         \n"
            "FWM  7 IPv6 rr\n"
            "  -> [fd00:168:10::13]:80         0          0          0          0         \n");

  // cleanstop: each real server, then each virtual service.
  run_ok(rules, "-d -t [fd00:20::100]:80 -r [fd00:168:10::11]:8080");
  run_ok(rules, "-d -f 7 -6 -r [fd00:168:10::13]:80");
  EXPECT_EQ(find_destination(rules, fwmark6(7), ep6("fd00:168:10::13", 80)), nullptr);
  run_ok(rules, "-D -t [fd00:20::100]:80");
  run_ok(rules, "-D -f 7 -6");
  EXPECT_TRUE(rules.services.empty());
}

}  // namespace
}  // namespace vsd::ctl
