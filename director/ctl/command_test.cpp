// ipvsadm command lines: what each one means, and each bad one's message and exit code as
// ipvsadm 1.31 prints them (spec 10; ipvsadm.c for the wording of the others).
#include "ctl/command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/port_names.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

using namespace test_lines;

// --- what commands mean ----------------------------------------------------------------------

TEST(ParseCommand, AnEmptySchedulerIsTheDefault) {
  // ipvsadm fills an empty scheduler name with DEF_SCHED after the option checks, for -A and
  // -E alike; -b's flags were checked against the empty name before that.
  for (const char* op : {"-A", "-E"}) {
    auto c = parse_command({op, "-t", "10.0.0.1:80", "-s", ""});
    ASSERT_TRUE(c.ok()) << op << ": " << c.failure().message;
    EXPECT_EQ(c.value().settings.scheduler, "wlc") << op;
  }
  auto flagged = parse_command({"-A", "-t", "10.0.0.1:80", "-s", "", "-b", "sh-port"});
  ASSERT_FALSE(flagged.ok());
  EXPECT_EQ(flagged.failure().message, "incompatible scheduler flag `sh-port'");
}

TEST(ParseCommand, AddressesAndMasksAreReadAsInetAtonReadsThem) {
  // ipvsadm's parse_service and parse_netmask call inet_aton: short, hex and octal forms.
  EXPECT_EQ(parsed("-A -t 10.1:80").service, tcp("10.0.0.1", 80));
  EXPECT_EQ(parsed("-A -t 0x0a000002:80").service, tcp("10.0.0.2", 80));
  EXPECT_EQ(parsed("-A -t 012.0.0.3:80").service, tcp("10.0.0.3", 80));
  // No contiguity check: 24 is an address, 0.0.0.24.
  for (auto [mask, want] : {std::pair{"0xffffff00", Ipv4::from_octets(255, 255, 255, 0)},
                            {"255.255.255", Ipv4::from_octets(255, 255, 0, 255)},
                            {"24", Ipv4::from_octets(0, 0, 0, 24)}})
    EXPECT_EQ(parsed(std::string("-A -t 10.0.0.1:80 -p -M ") + mask).settings.persistence_mask,
              want)
        << mask;
  for (const char* bad : {"-A -t 10.0.0.256:80", "-A -t 10.0.0.1.2:80"})
    EXPECT_EQ(failure_of(bad).message, "illegal virtual server address[:port] specified") << bad;
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -p -M 256.0.0.0").message,
            "illegal virtual server persistent mask specified");
}

TEST(ParseCommand, AddServiceTakesIpvsadmDefaults) {
  Command c = parsed("-A -t 10.0.0.1:80");
  EXPECT_EQ(c.op, Op::AddService);
  EXPECT_EQ(c.service, tcp("10.0.0.1", 80));
  EXPECT_EQ(c.settings.scheduler, "wlc");
  EXPECT_FALSE(c.settings.persistent);
  EXPECT_EQ(c.settings.persistence_mask, Ipv4::from_octets(255, 255, 255, 255));
  EXPECT_FALSE(c.settings.one_packet);
  EXPECT_EQ(c.settings.sched_flags, 0u);
}

TEST(ParseCommand, ToaIsAServiceOptionOnly) {
  EXPECT_TRUE(parsed("-A -t 10.0.0.1:80 -s rr --toa").settings.toa);
  EXPECT_FALSE(parsed("-A -t 10.0.0.1:80 -s rr").settings.toa);
  EXPECT_TRUE(parsed("-E -t 10.0.0.1:80 -s rr --toa").settings.toa);
  // ipvsadm's words for an option a command does not take.
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -b --toa").message,
            "Illegal 'toa' option with the 'add-server' command");
}

TEST(ParseCommand, PersistentWithoutValueMeans360Seconds) {
  Command c = parsed("-A -t 10.0.0.1:80 -p");
  EXPECT_TRUE(c.settings.persistent);
  EXPECT_EQ(c.settings.persistence_timeout, 360u);
}

TEST(ParseCommand, PersistentTakesTheNextWordUnlessItIsAnOption) {
  EXPECT_EQ(parsed("-A -t 10.0.0.1:80 -p 120").settings.persistence_timeout, 120u);
  Command c = parsed("-A -t 10.0.0.1:80 -p -s rr");
  EXPECT_EQ(c.settings.persistence_timeout, 360u);
  EXPECT_EQ(c.settings.scheduler, "rr");
}

TEST(ParseCommand, ValuesMayBeAttachedToShortAndLongOptions) {
  EXPECT_EQ(parsed("-A -t 10.0.0.1:80 -p60").settings.persistence_timeout, 60u);
  EXPECT_EQ(parsed("-A -t 10.0.0.1:80 --persistent=90").settings.persistence_timeout, 90u);
  EXPECT_EQ(parsed("-At10.0.0.1:80 -srr").settings.scheduler, "rr");
}

TEST(ParseCommand, ClusteredShortOptions) {
  Command c = parsed("-Ln");
  EXPECT_EQ(c.op, Op::List);
  EXPECT_TRUE(c.list.numeric);
  Command add = parsed("-At 10.0.0.1:80");
  EXPECT_EQ(add.op, Op::AddService);
  EXPECT_EQ(add.service, tcp("10.0.0.1", 80));
}

TEST(ParseCommand, LongOptionNames) {
  Command c = parsed(
      "--add-service --tcp-service 10.0.0.1:80 --scheduler rr --persistent 30 --netmask "
      "255.255.255.0");
  EXPECT_EQ(c.op, Op::AddService);
  EXPECT_EQ(c.settings.scheduler, "rr");
  EXPECT_EQ(c.settings.persistence_timeout, 30u);
  EXPECT_EQ(c.settings.persistence_mask, Ipv4::from_octets(255, 255, 255, 0));
  Command d = parsed(
      "--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.1.1:8080 --masquerading "
      "--weight 4 --u-threshold 10 --l-threshold 5");
  EXPECT_EQ(d.op, Op::AddServer);
  EXPECT_EQ(d.destination, (Destination{ep("10.0.1.1", 8080), Method::Nat, 4, 10, 5}));
}

TEST(ParseCommand, UdpServiceWithOnePacketScheduling) {
  Command c = parsed("-A -u 192.168.1.100:53 -s sh -o");
  EXPECT_EQ(c.service, (ServiceKey{Proto::Udp, ep("192.168.1.100", 53), 0}));
  EXPECT_TRUE(c.settings.one_packet);
}

TEST(ParseCommand, FwmarkServiceHasProtocolTcpAndNoAddress) {
  Command c = parsed("-A -f 7 -s mh -b mh-fallback,mh-port");
  EXPECT_EQ(c.service, (ServiceKey{Proto::Tcp, Endpoint{}, 7}));
  EXPECT_EQ(c.settings.sched_flags, kSchedFlag1 | kSchedFlag2);
}

TEST(ParseCommand, ServicePortByName) {
  if (!port_by_name("http", Proto::Tcp)) GTEST_SKIP() << "no /etc/services entry for http";
  EXPECT_EQ(parsed("-A -t 10.0.0.1:http").service, tcp("10.0.0.1", 80));
}

TEST(ParseCommand, ServiceWithoutPortIsPortZero) {
  EXPECT_EQ(parsed("-A -t 10.9.9.7 -p").service, tcp("10.9.9.7", 0));
}

TEST(ParseCommand, ServerDefaultsAreDirectRoutingWeightOne) {
  Command c = parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:80");
  EXPECT_EQ(c.destination, (Destination{ep("192.168.1.11", 80), Method::Dr, 1, 0, 0}));
}

TEST(ParseCommand, DirectRoutingForcesTheServicePort) {
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -g").destination.addr,
            ep("192.168.1.11", 80));
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080").destination.addr,
            ep("192.168.1.11", 80));
}

TEST(ParseCommand, TunnelingForcesTheServicePort) {
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -i --tun-type ipip").destination.addr,
            ep("192.168.1.11", 80));
}

TEST(ParseCommand, MasqueradingKeepsTheServerPort) {
  Command c = parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -m -w 3");
  EXPECT_EQ(c.destination, (Destination{ep("192.168.1.11", 8080), Method::Nat, 3, 0, 0}));
}

TEST(ParseCommand, ServerWithoutPortTakesTheServicePort) {
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11 -m").destination.addr,
            ep("192.168.1.11", 80));
}

TEST(ParseCommand, FwmarkServersKeepTheirPort) {
  EXPECT_EQ(parsed("-a -f 7 -r 192.168.1.14:8080 -g").destination.addr, ep("192.168.1.14", 8080));
  EXPECT_EQ(parsed("-a -f 7 -r 192.168.1.14 -g").destination.addr, ep("192.168.1.14", 0));
}

TEST(ParseCommand, DashBOnServersMeansFullNat) {
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -b").destination.method,
            Method::FullNat);
  EXPECT_EQ(parsed("-e -t 10.0.0.1:80 -r 192.168.1.11:8080 --fullnat").destination.method,
            Method::FullNat);
  // FULLNAT rewrites ports, so the server port stays.
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 192.168.1.11:8080 -b").destination.addr.port, 8080);
}

TEST(ParseCommand, DashBOnServicesMeansSchedulerFlags) {
  Command c = parsed("-E -t 10.0.0.1:80 -s sh -b sh-port");
  EXPECT_EQ(c.op, Op::EditService);
  EXPECT_EQ(c.settings.sched_flags, kSchedFlag2);
  EXPECT_EQ(parsed("-A -t 10.0.0.1:80 --sched-flags flag-3").settings.sched_flags, kSchedFlag3);
}

TEST(ParseCommand, WeightOf70000IsAccepted) {
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 70000").destination.weight, 70000u);
}

TEST(ParseCommand, SetTakesThreeTimeouts) {
  Command c = parsed("--set 900 0 300");
  EXPECT_EQ(c.op, Op::SetTimeouts);
  EXPECT_EQ(c.timeouts, (Timeouts{900, 0, 300}));
}

TEST(ParseCommand, ListOptions) {
  Command c = parsed("-L -n --stats --exact --nosort");
  EXPECT_EQ(c.list, (ListOptions{ListKind::Services, Columns::Stats, true, true, false}));
  EXPECT_EQ(parsed("-L -n -c").list.kind, ListKind::Connections);
  EXPECT_EQ(parsed("-L --timeout").list.kind, ListKind::Timeouts);
  EXPECT_EQ(parsed("-L --rate --thresholds").list.columns, Columns::Rate);
  EXPECT_EQ(parsed("-l --persistent-conn").list.columns, Columns::PersistentConn);
  Command one = parsed("-L -n -t 10.0.0.1:80");
  EXPECT_EQ(one.service, tcp("10.0.0.1", 80));
}

TEST(ParseCommand, NoArgumentsListsEverythingWithNames) {
  auto c = parse_command({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value().op, Op::List);
  EXPECT_FALSE(c.value().list.numeric);
}

TEST(ParseCommand, SaveZeroClearRestore) {
  EXPECT_TRUE(parsed("-S -n").list.numeric);
  EXPECT_EQ(parsed("-Z").service, std::nullopt);
  EXPECT_EQ(parsed("-Z -t 10.0.0.1:80").service, tcp("10.0.0.1", 80));
  EXPECT_EQ(parsed("-C").op, Op::Clear);
  EXPECT_EQ(parsed("-R").op, Op::Restore);
}

TEST(ParseCommand, LocalAddresses) {
  Command add = parsed("--add-laddr -z 10.0.0.5 -t 192.168.1.100:80");
  EXPECT_EQ(add.op, Op::AddLocalAddress);
  EXPECT_EQ(add.local_address, Ipv4::from_octets(10, 0, 0, 5));
  EXPECT_EQ(add.service, tcp("192.168.1.100", 80));
  EXPECT_EQ(parsed("--del-laddr --laddr 10.0.0.5 -t 192.168.1.100:80").op, Op::DeleteLocalAddress);
  EXPECT_EQ(parsed("--get-laddr").op, Op::ListLocalAddresses);
}

TEST(ParseCommand, HelpAndVersionIgnoreTheRest) {
  EXPECT_EQ(parsed("-h").op, Op::Help);
  EXPECT_EQ(parsed("--help --bogus").op, Op::Help);
  EXPECT_EQ(parsed("-v").op, Op::Version);
}

// --- spec 10: errors and exit codes ---------------------------------------------------------

TEST(ParseCommandErrors, ZeroPortNeedsPersistence) {
  EXPECT_EQ(failure_of("-A -t 10.9.9.7"),
            (Failure{2, "Zero port specified for non-persistent service"}));
  EXPECT_EQ(failure_of("-E -t 10.9.9.7 -s rr"),
            (Failure{2, "Zero port specified for non-persistent service"}));
}

TEST(ParseCommandErrors, IllegalVirtualAddress) {
  EXPECT_EQ(failure_of("-A -t 999.1.1.1:80"),
            (Failure{2, "illegal virtual server address[:port] specified"}));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:99999"),
            (Failure{2, "illegal virtual server address[:port] specified"}));
  EXPECT_EQ(failure_of("-A -t 80"),
            (Failure{2, "illegal virtual server address[:port] specified"}));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:nosuchservicename"),
            (Failure{2, "illegal virtual server address[:port] specified"}));
}

TEST(ParseCommandErrors, IllegalRealServerAddress) {
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1:70000"),
            (Failure{2, "illegal real server address[:port] specified"}));
}

TEST(ParseCommandErrors, NegativeWeight) {
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -w -1"),
            (Failure{2, "illegal weight specified"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 2147483648"),
            (Failure{2, "illegal weight specified"}));
}

TEST(ParseCommandErrors, IllegalThresholds) {
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -x ten"),
            (Failure{2, "illegal u_threshold specified"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -y -3"),
            (Failure{2, "illegal l_threshold specified"}));
}

TEST(ParseCommandErrors, NegativePersistenceIsAnUnknownOption) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -p -5"), (Failure{255, "-5: unknown option"}));
}

TEST(ParseCommandErrors, UnknownLongOption) {
  EXPECT_EQ(failure_of("-L --bogus"), (Failure{255, "--bogus: unknown option"}));
}

TEST(ParseCommandErrors, UnknownFirstOptionAlsoSuggestsHelp) {
  EXPECT_EQ(failure_of("--bogus"),
            (Failure{255,
                     "--bogus: unknown option\n"
                     "Try `vsadm -h' or 'vsadm --help' for more information."}));
}

TEST(ParseCommandErrors, FirstOptionMustBeACommand) {
  EXPECT_EQ(failure_of("-t 10.0.0.1:80 -A"),
            (Failure{255, "Try `vsadm -h' or 'vsadm --help' for more information."}));
}

TEST(ParseCommandErrors, SecondCommandIsAnInvalidOption) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -D"), (Failure{2, "invalid option `-D'"}));
}

TEST(ParseCommandErrors, MissingOptionValue) {
  EXPECT_EQ(failure_of("-A -t"), (Failure{255, "-t: missing argument"}));
  EXPECT_EQ(failure_of("-A --tcp-service"), (Failure{255, "--tcp-service: missing argument"}));
}

TEST(ParseCommandErrors, ValueGivenToAFlag) {
  EXPECT_EQ(failure_of("-L --numeric=1"),
            (Failure{255, "--numeric=1: option does not take an argument"}));
}

TEST(ParseCommandErrors, UnexpectedArgument) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 extra"), (Failure{2, "unexpected argument extra"}));
}

TEST(ParseCommandErrors, SetNeedsThreeValidTimeouts) {
  EXPECT_EQ(failure_of("--set 1 2"), (Failure{2, "--set option requires 3 timeout values"}));
  EXPECT_EQ(failure_of("--set 1 2 x"), (Failure{2, "invalid timeout value `x' specified"}));
  EXPECT_EQ(failure_of("--set 1 2 3 4"), (Failure{2, "unexpected argument 4"}));
}

TEST(ParseCommandErrors, PersistenceTimeoutRange) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -p 0"),
            (Failure{2, "invalid timeout value `0' specified"}));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -p 2678401"),
            (Failure{2, "invalid timeout value `2678401' specified"}));
}

TEST(ParseCommandErrors, RequiredOptionMissing) {
  EXPECT_EQ(failure_of("-A -s rr"),
            (Failure{2,
                     "You need to supply the 'service-address' option for the 'add-service' "
                     "command"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80"),
            (Failure{2,
                     "You need to supply the 'real-server' option for the 'add-server' "
                     "command"}));
}

TEST(ParseCommandErrors, OptionIllegalWithCommand) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -w 2"),
            (Failure{2, "Illegal 'weight' option with the 'add-service' command"}));
  EXPECT_EQ(failure_of("-d -t 10.0.0.1:80 -r 10.0.1.1 -m"),
            (Failure{2, "Illegal 'forwarding-method' option with the 'delete-server' command"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 --sched-flags flag-1"),
            (Failure{2, "Illegal 'sched-flags' option with the 'add-server' command"}));
  EXPECT_EQ(failure_of("-C -n"), (Failure{2, "Illegal 'numeric' option with the 'flush' command"}));
}

TEST(ParseCommandErrors, ExclusiveListOptions) {
  EXPECT_EQ(failure_of("-L -c -t 10.0.0.1:80"),
            (Failure{2,
                     "The option 'service-address' conflicts with the 'connection' option in "
                     "the 'list' command"}));
  EXPECT_EQ(failure_of("-L -c --stats"), (Failure{2, "options conflicts in the list command"}));
  EXPECT_EQ(failure_of("-L --timeout --persistent-conn"),
            (Failure{2, "options conflicts in the list command"}));
}

TEST(ParseCommandErrors, RepeatedOption) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -u 10.0.0.1:53"),
            (Failure{2, "multiple 'service-address' options specified"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -m -g"),
            (Failure{2, "multiple 'forwarding-method' options specified"}));
}

TEST(ParseCommandErrors, SchedulerFlags) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -b sh-port"),
            (Failure{2, "incompatible scheduler flag `sh-port'"}));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -s sh -b sh-port,bogus"),
            (Failure{2, "invalid scheduler flag `bogus'"}));
}

TEST(ParseCommandErrors, OnePacketSchedulingIsForUdp) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -o"),
            (Failure{2, "One-Packet Scheduling is only for UDP virtual services"}));
}

TEST(ParseCommandErrors, BadValues) {
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -p -M 255.255.255.0.0"),
            (Failure{2, "illegal virtual server persistent mask specified"}));
  EXPECT_EQ(failure_of("-A -f 0"), (Failure{2, "invalid fwmark value `0' specified"}));
  EXPECT_EQ(failure_of("--add-laddr -z nothing -t 10.0.0.1:80"),
            (Failure{2, "illegal local address specified"}));
}

TEST(ParseCommandErrors, TunnelTypes) {
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -m --tun-type ipip"),
            (Failure{2, "Tunnel options conflict with forward method"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type vxlan"),
            (Failure{2, "illegal tunnel type specified"}));
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type gue").exit_code, 2);
}

TEST(ParseCommandErrors, TheFirstBadValueIsReported) {
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -w -1 -r 999.0.0.1"),
            (Failure{2, "illegal weight specified"}));
}

// --- IPv6: ipvsadm 1.31's parse_service, -6 and -M as a prefix length --------------------------
// The messages, exit codes and accepted forms below are what ipvsadm 1.31 printed for the same
// lines on Debian 12 (its Linux 6.1 IPVS booted under qemu, the qemu-kernel DUT's guest).

TEST(ParseCommandIpv6, BracketedServiceAndServerAddresses) {
  Command c = parsed("-A -t [2001:db8::80]:80 -s rr");
  EXPECT_EQ(c.service, tcp6("2001:db8::80", 80));
  EXPECT_EQ(c.settings.persistence_prefix6, 128);
  EXPECT_EQ(parsed("-A -u [2001:db8::53]:53").service, udp6("2001:db8::53", 53));
  // Any spelling inet_pton takes, stored as the address it is.
  EXPECT_EQ(parsed("-A -t [2001:0DB8:0000::0080]:80").service, tcp6("2001:db8::80", 80));
  Command a = parsed("-a -t [2001:db8::80]:80 -r [2001:db8:1::2]:8080 -m -w 3");
  EXPECT_EQ(a.destination.addr, ep6("2001:db8:1::2", 8080));
  EXPECT_EQ(a.destination.method, Method::Nat);
  EXPECT_EQ(a.destination.weight, 3u);
}

TEST(ParseCommandIpv6, PortsByNameAndLongOptions) {
  EXPECT_EQ(parsed("-A --tcp-service [2001:db8::80]:http").service, tcp6("2001:db8::80", 80));
  EXPECT_EQ(parsed("-A -t[2001:db8::80]:443").service, tcp6("2001:db8::80", 443));
  EXPECT_EQ(parsed("-a -t [2001:db8::80]:80 --real-server=[2001:db8::2]:https -m").destination.addr,
            ep6("2001:db8::2", 443));
}

// parse_service tries the whole word as an IPv6 address first: unbracketed, it has no port
// (the last group is part of the address), so a service needs -p to be accepted.
TEST(ParseCommandIpv6, AnUnbracketedAddressHasNoPort) {
  EXPECT_EQ(parsed("-A -t 2001:db8::1:80 -p").service, tcp6("2001:db8::1:80", 0));
  EXPECT_EQ(failure_of("-A -t 2001:db8::1"),
            (Failure{2, "Zero port specified for non-persistent service"}));
  // A server without a port takes the service's, in either spelling.
  EXPECT_EQ(parsed("-a -t [2001:db8::80]:80 -r 2001:db8::2").destination.addr,
            ep6("2001:db8::2", 80));
}

TEST(ParseCommandIpv6, DrAndTunForceTheServicePort) {
  EXPECT_EQ(parsed("-a -t [2001:db8::80]:80 -r [2001:db8::2]:8080 -g").destination.addr,
            ep6("2001:db8::2", 80));
  EXPECT_EQ(parsed("-a -t [2001:db8::80]:80 -r [2001:db8::2]:8080 -i").destination.addr,
            ep6("2001:db8::2", 80));
}

// "[10.0.0.1]:80": the brackets are cut first, then the IPv4 branch finds no colon in
// "10.0.0.1", so the port is lost; ipvsadm's quirk, kept.
TEST(ParseCommandIpv6, ABracketedIpv4AddressLosesItsPort) {
  EXPECT_EQ(parsed("-A -t [10.0.0.1]:80 -p").service, tcp("10.0.0.1", 0));
}

TEST(ParseCommandIpv6, MalformedAddresses) {
  for (const char* bad :
       {"-A -t [2001:db8::80]", "-A -t [2001:db8::80]80", "-A -t [2001:db8::80:80",
        "-A -t [2001:db8::80]:", "-A -t [2001:db8::80]:70000",
        "-A -t [2001:db8::80]:nosuchservicename", "-A -t [2001:db8:::80]:80",
        "-A -t [fe80::1%eth0]:80", "-A -t []:80", "-A -t 2001:db8:::1:80"}) {
    EXPECT_EQ(failure_of(bad), (Failure{2, "illegal virtual server address[:port] specified"}))
        << bad;
  }
  EXPECT_EQ(failure_of("-a -t [2001:db8::80]:80 -r [2001:db8::2"),
            (Failure{2, "illegal real server address[:port] specified"}));
  // Seen on ipvsadm 1.31 (Debian 12, Linux 6.1): "[addr]" needs its ":port" on -r too.
  EXPECT_EQ(failure_of("-a -t [2001:db8::80]:80 -r [2001:db8:1::13] -i"),
            (Failure{2, "illegal real server address[:port] specified"}));
}

TEST(ParseCommandIpv6, NetmaskIsAPrefixLength) {
  EXPECT_EQ(parsed("-A -t [2001:db8::80]:80 -p -M 64").settings.persistence_prefix6, 64);
  EXPECT_EQ(parsed("-A -t [2001:db8::80]:80 -p -M 1").settings.persistence_prefix6, 1);
  EXPECT_EQ(parsed("-A -t [2001:db8::80]:80 -p -M 128").settings.persistence_prefix6, 128);
  // atoi: digits then anything.
  EXPECT_EQ(parsed("-A -t [2001:db8::80]:80 -p -M 48x").settings.persistence_prefix6, 48);
  for (const char* bad :
       {"-A -t [2001:db8::80]:80 -p -M 0", "-A -t [2001:db8::80]:80 -p -M 129",
        "-A -t [2001:db8::80]:80 -p -M ffff::", "-A -t [2001:db8::80]:80 -p -M 255.255.255.0"}) {
    EXPECT_EQ(failure_of(bad), (Failure{2, "illegal ipv6 netmask specified"})) << bad;
  }
}

// -M is read for the family known when it comes: before an IPv6 -t it is an IPv4 mask, which
// the IPv6 address then replaces with 128 (parse_service sets the netmask).
TEST(ParseCommandIpv6, ANetmaskBeforeTheIpv6AddressIsForgotten) {
  Command c = parsed("-A -p -M 255.255.0.0 -t [2001:db8::80]:80");
  EXPECT_EQ(c.settings.persistence_prefix6, 128);
}

TEST(ParseCommandIpv6, DashSixMakesAFwmarkServiceIpv6) {
  Command c = parsed("-A -f 7 -6 -s rr");
  EXPECT_EQ(c.service, fwmark6(7));
  EXPECT_EQ(c.service->family(), Family::V6);
  EXPECT_NE(c.service, (ServiceKey{Proto::Tcp, {}, 7}));  // -f 7 alone: IPv4
  EXPECT_EQ(parsed("-A -f 7 --ipv6 -p -M 56").settings.persistence_prefix6, 56);
  EXPECT_EQ(parsed("-a -f 7 -6 -r [2001:db8::2]:80 -m").destination.addr, ep6("2001:db8::2", 80));
  EXPECT_EQ(parsed("-L -f 7 -6 -n").service, fwmark6(7));
  EXPECT_EQ(parsed("-D -f 7 -6").service, fwmark6(7));
}

// ipvsadm's message ends in a newline of its own, to which fail() adds one.
TEST(ParseCommandIpv6, DashSixNeedsAFwmarkBeforeIt) {
  EXPECT_EQ(failure_of("-A -6 -f 7"), (Failure{2, "-6 used before -f\n"}));
  EXPECT_EQ(failure_of("-A -t [2001:db8::80]:80 -6"), (Failure{2, "-6 used before -f\n"}));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 -6"), (Failure{2, "-6 used before -f\n"}));
}

// ipvsadm refuses a real server of the other family before asking the kernel, except for a
// tunnel (which the kernel takes and vsd refuses when applying, see apply_test).
TEST(ParseCommandIpv6, MixedFamiliesOnlyForTunnels) {
  const Failure mixed{2, "Different address family is allowed only for tunneling servers"};
  EXPECT_EQ(failure_of("-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -m"), mixed);
  EXPECT_EQ(failure_of("-a -t [2001:db8::80]:80 -r 10.0.1.2:80 -g"), mixed);
  EXPECT_EQ(failure_of("-e -t [2001:db8::80]:80 -r 10.0.1.2:80 -m -w 2"), mixed);
  EXPECT_EQ(failure_of("-a -f 7 -r [2001:db8::2]:80 -m"), mixed);
  EXPECT_EQ(failure_of("-a -f 7 -6 -r 10.0.1.2:80 -m"), mixed);
  EXPECT_EQ(parsed("-a -t 10.0.0.1:80 -r [2001:db8::2]:8080 -i").destination.addr,
            ep6("2001:db8::2", 80));
  // -d asks the kernel, which finds no such destination (apply_test).
  EXPECT_EQ(parsed("-d -t 10.0.0.1:80 -r [2001:db8::2]:80").destination.addr,
            ep6("2001:db8::2", 80));
}

// vsadm -h lists the schedulers from the registry of sched/: the kernel's thirteen and twos, on the
// --scheduler line.
TEST(Usage, TheSchedulerLineNamesEveryScheduler) {
  const std::string usage = usage_text();
  const auto at = usage.find("  --scheduler      -s  ");
  ASSERT_NE(at, std::string::npos);
  std::istringstream line(usage.substr(at + 23, usage.find('\n', at) - at - 23));
  std::vector<std::string> listed;
  for (std::string name; line >> name;) listed.push_back(name);
  std::sort(listed.begin(), listed.end());
  std::vector<std::string> kernels = {"rr",    "wrr", "lc", "wlc", "sed", "nq",  "lblc",
                                      "lblcr", "dh",  "sh", "mh",  "fo",  "ovf", "twos"};
  std::sort(kernels.begin(), kernels.end());
  EXPECT_EQ(listed, kernels);
}

}  // namespace
}  // namespace vsd::ctl
