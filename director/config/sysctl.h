// Linux IPVS's net.ipv4.vs.* settings as vsd takes them: every name the 6.1 kernel has, with
// its default and the values its handler accepts, and what vsd does with it (docs/ipvs.md
// section 11). The data plane reads a setting as a plain field of Sysctls; the table here is
// only for the edges (vsd --sysctl, vsadm --sysctl), which check and convert.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vsd {

// The values vsd acts on, at the kernel's defaults. The others are known by name only (their
// value is fixed: see SysctlSupport).
struct Sysctls {
  int32_t expire_nodest_conn = 0;
  int32_t expire_quiescent_template = 0;
  int32_t conn_reuse_mode = 1;
  int32_t sloppy_tcp = 0;
  int32_t sloppy_sctp = 0;
  int32_t nat_icmp_send = 0;
  int32_t cache_bypass = 0;
  int32_t schedule_icmp = 0;
  int32_t run_estimation = 1;
  int32_t pmtu_disc = 1;
  // sync_threshold's two values: the sync master sends an entry when its count of client
  // packets is threshold modulo period (period 0: at threshold only).
  int32_t sync_threshold = 3;
  int32_t sync_period = 50;
  // The defence modes, 0 to 3 (conn/defence.h): a mode at 1 shows as 2 while memory is short.
  int32_t drop_entry = 0;
  int32_t drop_packet = 0;
  int32_t secure_tcp = 0;
  int32_t amemthresh = 1024;  // pages
  int32_t am_droprate = 10;
  // Seconds: how long lblc and lblcr keep a record nobody uses (sched/locality_table.h).
  int32_t lblc_expiration = 24 * 60 * 60;
  int32_t lblcr_expiration = 24 * 60 * 60;
  // The rest of the master's send rules (sync/master_tracker.h) and what its daemons take.
  int32_t sync_version = 1;         // 0: the old format, which has no IPv6 form
  int32_t sync_persist_mode = 0;    // not 0: a persistent service's connections are not sent
  int32_t sync_refresh_period = 0;  // seconds; > 0: sent again only once its end moved this much
  int32_t sync_retries = 0;         // resends within a refresh period
  int32_t sync_sock_size = 0;       // > 0: the daemons' socket buffers, from their next start
  int32_t sync_ports = 1;           // master and backup threads (a power of 2), read at start
  // The most messages waiting on a master thread; unsigned long in the kernel, so not an int.
  int64_t sync_qlen_max = 1 << 16;
  // Not 0, with a backup daemon running: vsd serves no virtual service.
  int32_t backup_only = 0;
  // Accepted and kept, with no effect in vsd (why: the table's `effect`).
  int32_t ignore_tunneled = 0;
  int32_t snat_reroute = 1;
  int32_t conntrack = 0;
  bool operator==(const Sysctls&) const = default;
};

enum class SysctlSupport : uint8_t {
  Acts,         // vsd does what the kernel does with every value it accepts
  NoEffect,     // any value the kernel accepts is taken and kept; vsd has nothing it changes
  DefaultOnly,  // only the kernel's default is taken: another value names what is missing
};

struct SysctlInfo {
  std::string_view name;      // as the kernel spells it, without net.ipv4.vs.
  std::string_view fallback;  // the kernel's default, as /proc/sys prints it
  std::string_view allowed;   // the values the kernel's handler takes, in words
  SysctlSupport support;
  int32_t Sysctls::*field;  // nullptr for DefaultOnly settings and the 64-bit sync_qlen_max
  std::string_view effect;  // what it changes in vsd, or why nothing / why only the default
};

// Every net.ipv4.vs.* setting of Linux 6.1, in /proc/sys order.
std::span<const SysctlInfo> sysctl_table();

// The entry for a name, with or without the "net.ipv4.vs." prefix (or its slash form
// "net/ipv4/vs/"); nullptr for a name the kernel does not have.
const SysctlInfo* find_sysctl(std::string_view name);

// "NAME=VALUE" split at the first '='; nothing when there is none or a side is empty.
std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view text);

// Sets one value, checked as the kernel's handler checks it. "" or the error, naming the
// sysctl and the values allowed; `to` is unchanged on error.
std::string set_sysctl(Sysctls& to, std::string_view name, std::string_view value);

// A value as /proc/sys prints it; nothing for an unknown name.
std::optional<std::string> get_sysctl(const Sysctls& from, std::string_view name);

// "name = value" lines for every setting, as `sysctl net.ipv4.vs` prints them (prefixed).
std::string list_sysctls(const Sysctls& from);

}  // namespace vsd
