// The sync daemon's command lines and listing, as ipvsadm 1.31 reads and prints them
// (ipvsadm.c: the --start-daemon/--stop-daemon values, the daemon options' ranges and words,
// the STARTD/STOPD rows of commands_v_options, list_daemon's line).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctl/command.h"
#include "ctl/format.h"
#include "ctl/protocol.h"
#include "ctl/test_commands.h"

namespace vsd::ctl {
namespace {

using namespace test_lines;

TEST(DaemonCommand, StartTakesIpvsadmsDefaults) {
  Command c = parsed("--start-daemon master");
  EXPECT_EQ(c.op, Op::StartDaemon);
  EXPECT_EQ(c.daemon.role, sync::Role::Master);
  EXPECT_EQ(c.daemon.mcast_ifn, "eth0");  // DEF_MCAST_IFN
  EXPECT_EQ(c.daemon.syncid, 0);          // the help's "default=255" is not what it sends
  EXPECT_EQ(c.daemon.sync_maxlen, 0);     // left to the kernel
  EXPECT_FALSE(c.daemon.mcast_group);
  EXPECT_EQ(c.daemon.mcast_port, 0);
  EXPECT_EQ(c.daemon.mcast_ttl, 0);
}

TEST(DaemonCommand, EveryOptionOfStart) {
  Command c = parsed(
      "--start-daemon backup --mcast-interface eth1 --syncid 7 --sync-maxlen 1400 "
      "--mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3");
  EXPECT_EQ(c.daemon.role, sync::Role::Backup);
  EXPECT_EQ(c.daemon.mcast_ifn, "eth1");
  EXPECT_EQ(c.daemon.syncid, 7);
  EXPECT_EQ(c.daemon.sync_maxlen, 1400);
  EXPECT_EQ(c.daemon.mcast_group, Ipv4::from_octets(239, 1, 2, 3));
  EXPECT_EQ(c.daemon.mcast_port, 9000);
  EXPECT_EQ(c.daemon.mcast_ttl, 3);
  EXPECT_EQ(parsed("--start-daemon=master --syncid=255").daemon.syncid, 255);
}

TEST(DaemonCommand, StopTakesTheRoleAndASyncId) {
  Command c = parsed("--stop-daemon backup");
  EXPECT_EQ(c.op, Op::StopDaemon);
  EXPECT_EQ(c.daemon.role, sync::Role::Backup);
  EXPECT_EQ(parsed("--stop-daemon master --syncid 3").daemon.syncid, 3);
}

TEST(DaemonCommand, IpvsadmsWordsForBadValues) {
  // fail(2, ...) in ipvsadm: exit 2, the message alone.
  EXPECT_EQ(failure_of("--start-daemon primary"),
            usage_error("illegal start-daemon parameter specified"));
  EXPECT_EQ(failure_of("--stop-daemon primary"), usage_error("illegal start_daemon specified"));
  EXPECT_EQ(failure_of("--start-daemon master --syncid 256"),
            usage_error("illegal syncid specified"));
  EXPECT_EQ(failure_of("--start-daemon master --syncid x"),
            usage_error("illegal syncid specified"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-port 0"),
            usage_error("illegal mcast-port specified"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-port 65536"),
            usage_error("illegal mcast-port specified"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-ttl 256"),
            usage_error("illegal mcast-ttl specified"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-ttl 0"),
            usage_error("illegal mcast-ttl specified"));
  EXPECT_EQ(failure_of("--start-daemon master --sync-maxlen 65508"),
            usage_error("illegal sync-maxlen specified"));
  EXPECT_EQ(parsed("--start-daemon master --sync-maxlen 65507").daemon.sync_maxlen, 65507);
  EXPECT_EQ(failure_of("--start-daemon master --mcast-group 10.0.0.1"),
            usage_error("invalid IPv4 mcast-group `10.0.0.1'"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-group 224.0.0"),
            usage_error("invalid IPv4 mcast-group `224.0.0'"));
  EXPECT_EQ(failure_of("--start-daemon master --mcast-group fe80::1"),
            usage_error("invalid IPv6 mcast-group `fe80::1'"));
  // A good IPv6 group passes ipvsadm's check; vsd's daemon is IPv4 only and says so.
  EXPECT_EQ(failure_of("--start-daemon master --mcast-group ff02::81").exit_code, kExitRefused);
}

TEST(DaemonCommand, TheOptionTable) {
  // STARTD takes the daemon options only; STOPD only --syncid.
  EXPECT_EQ(failure_of("--start-daemon master -n"),
            usage_error("Illegal 'numeric' option with the 'start-daemon' command"));
  EXPECT_EQ(failure_of("--stop-daemon master --mcast-interface eth0"),
            usage_error("Illegal 'mcast-interface' option with the 'stop-daemon' command"));
  EXPECT_EQ(failure_of("--stop-daemon master --mcast-ttl 2"),
            usage_error("Illegal 'mcast-ttl' option with the 'stop-daemon' command"));
  EXPECT_EQ(failure_of("-A -t 10.0.0.1:80 --syncid 1"),
            usage_error("Illegal 'syncid' option with the 'add-service' command"));
  EXPECT_EQ(failure_of("--start-daemon master --syncid 1 --syncid 2"),
            usage_error("multiple 'syncid' options specified"));
}

TEST(DaemonCommand, ListDaemon) {
  Command c = parsed("-L --daemon");
  EXPECT_EQ(c.op, Op::List);
  EXPECT_EQ(c.list.kind, ListKind::Daemons);
  EXPECT_EQ(parsed("-l --daemon").list.kind, ListKind::Daemons);
  EXPECT_EQ(parsed("-L --daemon --syncid 4").list.kind, ListKind::Daemons);  // ' ' in LIST
  // '1' columns: one of -c, a service, --timeout, --daemon.
  EXPECT_EQ(failure_of("-L --daemon -c"),
            usage_error("The option 'daemon' conflicts with the 'connection' option in the "
                        "'list' command"));
  EXPECT_EQ(failure_of("-L --daemon --stats"),
            usage_error("options conflicts in the list command"));
  EXPECT_EQ(failure_of("-L --daemon --persistent-conn"),
            usage_error("options conflicts in the list command"));
  EXPECT_EQ(failure_of("-L --mcast-interface eth0"),
            usage_error("Illegal 'mcast-interface' option with the 'list' command"));
}

// list_daemon's printf, byte for byte, for the kernel's reply (every field filled in).
TEST(DaemonListing, IpvsadmsLines) {
  sync::DaemonConfig master;
  master.mcast_ifn = "eth0";
  master = sync::with_defaults(master, 9000);
  sync::DaemonConfig backup;
  backup.role = sync::Role::Backup;
  backup.mcast_ifn = "eth1";
  backup.syncid = 9;
  backup.mcast_group = Ipv4::from_octets(239, 0, 0, 1);
  backup.mcast_port = 9999;
  backup.mcast_ttl = 2;
  backup = sync::with_defaults(backup, 9000);
  EXPECT_EQ(format_daemons({master, backup}),
            "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n"
            "backup sync daemon (mcast=eth1, syncid=9, maxlen=8972, group=239.0.0.1, "
            "port=9999, ttl=2)\n");
  EXPECT_EQ(format_daemons({}), "");
}

TEST(DaemonDefaults, MaxlenAsTheKernelComputesIt) {
  sync::DaemonConfig c;
  EXPECT_EQ(sync::with_defaults(c, 1500).sync_maxlen, 1472);
  EXPECT_EQ(sync::with_defaults(c, 9000).sync_maxlen, 1472);  // a master: 1500 whatever the MTU
  c.role = sync::Role::Backup;
  EXPECT_EQ(sync::with_defaults(c, 1400).sync_maxlen, 1472);  // MTU clamped up to 1500
  EXPECT_EQ(sync::with_defaults(c, 9000).sync_maxlen, 8972);
  c.sync_maxlen = 100;
  EXPECT_EQ(sync::with_defaults(c, 1500).sync_maxlen, 1024);  // a backup's floor
  c.role = sync::Role::Master;
  EXPECT_EQ(sync::with_defaults(c, 1500).sync_maxlen, 100);
}

// Over the protocol: a target without daemons refuses as a kernel without the sync code.
TEST(DaemonProtocol, StartStopAndListReachTheTarget) {
  struct Target : ControlTarget {
    RuleSet rules() const override { return {}; }
    std::string install(const RuleSet&) override { return ""; }
    DirectorState state() const override { return {}; }
    void zero(const std::optional<ServiceKey>&) override {}
    std::string start_daemon(const sync::DaemonConfig& c) override {
      if (!running.empty()) return "Daemon has already run";
      running.push_back(sync::with_defaults(c, 1500));
      return "";
    }
    std::string stop_daemon(sync::Role) override {
      if (running.empty()) return "No daemon is running";
      running.clear();
      return "";
    }
    std::vector<sync::DaemonConfig> daemons() const override { return running; }
    std::vector<sync::DaemonConfig> running;
  } target;
  auto ask = [&](std::vector<std::string> argv) {
    return nlohmann::json::parse(handle_request(apply_request(argv).dump(), target));
  };
  EXPECT_EQ(ask({"--start-daemon", "master", "--syncid", "5"})["exit"], 0);
  EXPECT_EQ(ask({"-L", "--daemon"})["output"],
            "master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
  auto again = ask({"--start-daemon", "master"});
  EXPECT_EQ(again["exit"], 255);
  EXPECT_EQ(again["error"], "Daemon has already run");
  EXPECT_EQ(ask({"--stop-daemon", "master"})["exit"], 0);
  EXPECT_EQ(ask({"--stop-daemon", "master"})["error"], "No daemon is running");
  struct Plain : ControlTarget {
    RuleSet rules() const override { return {}; }
    std::string install(const RuleSet&) override { return ""; }
    DirectorState state() const override { return {}; }
    void zero(const std::optional<ServiceKey>&) override {}
  } plain;
  auto refused = nlohmann::json::parse(
      handle_request(apply_request({"--start-daemon", "backup"}).dump(), plain));
  EXPECT_EQ(refused["error"], "Protocol not available");
}

}  // namespace
}  // namespace vsd::ctl
