// An ipvsadm command line (argv without the program name) parsed into a typed Command. The
// syntax is ipvsadm 1.31's (popt): clustered short options (-Ln), --long[=value], -p with an
// optional value, non-option words only for --set; the errors are ipvsadm's, word for word.
// DPVS additions: FULLNAT destinations (-b/--fullnat on -a/-e) and local addresses
// (--add-laddr/--del-laddr/--get-laddr with -z).
// vsd additions: the mark classifier (--add-mark/--del-mark -f MARK [--proto tcp|udp|any]
// [--dest ADDR[/LEN]] [--dport PORT[:PORT]], --list-marks, -S --marks); see director/README.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rules.h"
#include "ctl/result.h"
#include "sync/daemon_config.h"

namespace vsd::ctl {

enum class Op : uint8_t {
  AddService,          // -A
  EditService,         // -E
  DeleteService,       // -D
  Clear,               // -C
  List,                // -L, -l
  AddServer,           // -a
  DeleteServer,        // -d
  EditServer,          // -e
  SetTimeouts,         // --set tcp tcpfin udp
  Restore,             // -R (rules come from standard input)
  Save,                // -S
  Zero,                // -Z
  AddLocalAddress,     // --add-laddr (DPVS)
  DeleteLocalAddress,  // --del-laddr (DPVS)
  ListLocalAddresses,  // --get-laddr (DPVS)
  AddMark,             // --add-mark (vsd)
  DeleteMark,          // --del-mark (vsd)
  ListMarks,           // --list-marks (vsd)
  StartDaemon,         // --start-daemon master|backup
  StopDaemon,          // --stop-daemon master|backup
  Help,                // -h
  Version,             // -v
};

// What -L shows.
enum class ListKind : uint8_t { Services, Connections, Timeouts, Daemons };
// Which columns a service listing has; ipvsadm's precedence when several are given is
// stats, rate, thresholds, persistent-conn.
enum class Columns : uint8_t { Default, Stats, Rate, Thresholds, PersistentConn };

struct ListOptions {
  ListKind kind = ListKind::Services;
  Columns columns = Columns::Default;
  bool numeric = false;  // -n; without it ports are shown by service name
  bool exact = false;    // --exact: no K/M/G abbreviation
  bool sorted = true;    // --nosort turns it off
  // -S --marks: the classifier's --add-mark lines follow the services. Not by default: ipvsadm
  // -R cannot read them (it has no such option, and treats no line as a comment).
  bool marks = false;
  bool operator==(const ListOptions&) const = default;
};

// Scheduler flag bits as the kernel numbers them (IP_VS_SVC_F_SCHED1..3); their names depend on
// the scheduler (sh-fallback and mh-fallback are both SCHED1).
inline constexpr uint32_t kSchedFlag1 = 1;
inline constexpr uint32_t kSchedFlag2 = 2;
inline constexpr uint32_t kSchedFlag3 = 4;

// The service part of -A/-E. ipvsadm sends all of it, defaults included, so -E replaces every
// field (see apply.h).
struct ServiceSettings {
  std::string scheduler = "wlc";
  std::string persistence_engine;  // --pe; only "sip" is known when applied, as in the kernel
  bool persistent = false;
  uint32_t persistence_timeout = 360;                   // -p without a value
  Ipv4 persistence_mask = Ipv4::from_host(0xffffffff);  // IPv4 services
  uint8_t persistence_prefix6 = 128;                    // IPv6 services: -M as a prefix length
  bool one_packet = false;
  uint32_t sched_flags = 0;  // kSchedFlag bits
  bool toa = false;          // --toa: FULLNAT connections carry the client address (DPVS)
  bool operator==(const ServiceSettings&) const = default;
};

struct Command {
  Op op = Op::List;
  // -t/-u/-f; fwmark keys have proto TCP and the zero address of their family (-6: IPv6).
  std::optional<ServiceKey> service;
  ServiceSettings settings;             // -A, -E
  Destination destination;              // -a, -e, -d; DR/TUN ports already forced
  std::optional<IpAddr> local_address;  // -z, IPv4 or IPv6
  MarkRule mark_rule;                   // --add-mark, --del-mark; its mark is the -f MARK
  Timeouts timeouts;                    // --set; 0 keeps the current value
  ListOptions list;                     // -L, -S, --get-laddr
  // --start-daemon (every field), --stop-daemon (role and syncid): what ipvsadm sends, defaults
  // unfilled (mcast_ifn "eth0" when not given, as ipvsadm does).
  sync::DaemonConfig daemon;
  bool operator==(const Command&) const = default;
};

// An empty argv means -L (ipvsadm with no arguments lists the table).
Result<Command> parse_command(const std::vector<std::string>& args);

// Whether the command edits the rule set (everything apply() acts on).
bool changes_rules(Op op);

// `vsadm -h` and `vsadm -v`.
std::string usage_text();
std::string version_text();

}  // namespace vsd::ctl
