#include "config/sysctl.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

namespace vsd {
namespace {

using S = SysctlSupport;

constexpr std::string_view kAnyInt = "an integer (0 off, anything else on)";
constexpr std::string_view kDefence = "0 (off), 1 (on while memory is short), 2, or 3 (always on)";
// proc_dointvec_jiffies keeps seconds * HZ in an int: HZ is 250 in Debian's kernel.
constexpr int64_t kMaxJiffySeconds = std::numeric_limits<int32_t>::max() / 250;
constexpr std::string_view kSeconds = "an integer of seconds, -8589934 to 8589934";

// What 6.1's vs_vars holds, in its order (debug_level is only built with CONFIG_IP_VS_DEBUG,
// which Debian leaves off).
constexpr std::array kTable{
    SysctlInfo{"amemthresh", "1024", "an integer (pages)", S::Acts, &Sysctls::amemthresh,
               "the defence modes at 1 or 2 are on while the host's free and buffer memory "
               "(MemFree + Buffers of /proc/meminfo) is below this many pages"},
    SysctlInfo{"am_droprate", "10", "an integer", S::Acts, &Sysctls::am_droprate,
               "drop_packet=3 drops one new connection in this many"},
    SysctlInfo{"drop_entry", "0", kDefence, S::Acts, &Sysctls::drop_entry,
               "on: every second, 1/32 of the connection table is looked at at random, and "
               "half-open connections and some idle ones with few packets are removed"},
    SysctlInfo{"drop_packet", "0", kDefence, S::Acts, &Sysctls::drop_packet,
               "on: one packet in N that would make a new connection is dropped (N: am_droprate "
               "at 3, amemthresh over the shortfall at 1 and 2)"},
    SysctlInfo{"conntrack", "0", kAnyInt, S::NoEffect, &Sysctls::conntrack,
               "vsd forwards beside netfilter, which never sees its connections"},
    SysctlInfo{"secure_tcp", "0", kDefence, S::Acts, &Sysctls::secure_tcp,
               "on: TCP moves by the kernel's secure state tables, where only the server's "
               "segments establish a connection (SYNACK until then)"},
    SysctlInfo{"snat_reroute", "1", kAnyInt, S::NoEffect, &Sysctls::snat_reroute,
               "vsd routes a NAT reply by its destination alone, with no policy routing by "
               "source for the rewritten VIP to change"},
    SysctlInfo{"sync_version", "1", "0 or 1", S::Acts, &Sysctls::sync_version,
               "0: vsd's master sends the old format (no fwmark, timeout or IPv6: IPv6 "
               "connections are not sent at all), 1: the current one"},
    SysctlInfo{"sync_ports", "1", "a power of 2, at least 1", S::Acts, &Sysctls::sync_ports,
               "a sync daemon started after it runs this many threads (at most 64), master "
               "thread N sending to and backup thread N listening on the port + N; a daemon "
               "started while the other runs takes the other's count"},
    SysctlInfo{"sync_persist_mode", "0", kAnyInt, S::Acts, &Sysctls::sync_persist_mode,
               "not 0: vsd's master sends the templates of a persistent service and none of "
               "the connections under them"},
    SysctlInfo{"sync_qlen_max", "65536", "an unsigned integer", S::Acts, nullptr,
               "the most messages waiting to be sent on each master thread: a message filled "
               "past it is dropped with its entries (vsd's default is fixed, the kernel's "
               "depends on memory)"},
    SysctlInfo{"sync_sock_size", "0", "an integer (bytes, 0 for the system's)", S::Acts,
               &Sysctls::sync_sock_size,
               "> 0: a sync daemon started after it gets a send (master) or receive (backup) "
               "buffer of twice the value, capped by the system's maximum"},
    SysctlInfo{"cache_bypass", "0", kAnyInt, S::Acts, &Sysctls::cache_bypass,
               "a packet of a fwmark service with no destination available goes on to its own "
               "destination address instead of being refused"},
    SysctlInfo{"expire_nodest_conn", "0", kAnyInt, S::Acts, &Sysctls::expire_nodest_conn,
               "a packet of a connection whose server was deleted expires the connection and is "
               "scheduled as new; deleting a server expires its connections; a SYN of a "
               "connection to a weight-0 server is scheduled anew"},
    SysctlInfo{"sloppy_tcp", "0", kAnyInt, S::Acts, &Sysctls::sloppy_tcp,
               "any TCP segment but a RST makes a connection, not only a SYN"},
    SysctlInfo{"sloppy_sctp", "0", kAnyInt, S::Acts, &Sysctls::sloppy_sctp,
               "any SCTP packet but one starting with an ABORT makes a connection, not only an "
               "INIT"},
    SysctlInfo{"expire_quiescent_template", "0", kAnyInt, S::Acts,
               &Sysctls::expire_quiescent_template,
               "a persistence template whose server has weight 0 is no longer used: the "
               "client's next connection is scheduled"},
    SysctlInfo{"sync_threshold", "3\t50",
               "two integers: threshold, period (0 <= threshold < "
               "period, or period 0)",
               S::Acts, &Sysctls::sync_threshold,
               "vsd's sync master sends an entry when its count of client packets is threshold "
               "modulo period (period 0: at threshold only)"},
    SysctlInfo{"sync_refresh_period", "0", "an integer (seconds)", S::Acts,
               &Sysctls::sync_refresh_period,
               "> 0: vsd's master sends an entry again only when its end of life moved by the "
               "period (or half its timeout, at least 10 s), and with sync_threshold's period 0 "
               "whatever its packet count"},
    SysctlInfo{"sync_retries", "0", "0 to 3", S::Acts, &Sysctls::sync_retries,
               "with sync_refresh_period: that many resends of an entry, an eighth of the "
               "period apart"},
    SysctlInfo{"nat_icmp_send", "0", kAnyInt, S::Acts, &Sysctls::nat_icmp_send,
               "a packet from a NAT real server's address and port that belongs to no "
               "connection (a RST excepted) is answered with port unreachable and dropped"},
    SysctlInfo{"pmtu_disc", "1", kAnyInt, S::Acts, &Sysctls::pmtu_disc,
               "0: a TUN packet with DF too big for the tunnel is not answered with "
               "fragmentation needed; it is wrapped, and the outer packet fragmented"},
    SysctlInfo{"backup_only", "0", kAnyInt, S::Acts, &Sysctls::backup_only,
               "not 0 while a backup sync daemon runs: vsd serves no virtual service; a packet "
               "to a VIP is answered as one to a port with no service"},
    SysctlInfo{"conn_reuse_mode", "1", "an integer (bit 0 and bit 1 count)", S::Acts,
               &Sysctls::conn_reuse_mode,
               "not 0: a SYN that finds a connection in TIME_WAIT or CLOSE (with bit 1 also "
               "FIN_WAIT of DR and TUN) expires it and is scheduled as new; 0: the SYN goes to "
               "the same server"},
    SysctlInfo{"schedule_icmp", "0", kAnyInt, S::Acts, &Sysctls::schedule_icmp,
               "an ICMP error from the client's side about a flow with no connection is "
               "scheduled as the flow's packet would be, and relayed to the server chosen"},
    SysctlInfo{"ignore_tunneled", "0", kAnyInt, S::NoEffect, &Sysctls::ignore_tunneled,
               "vsd decapsulates nothing: a tunnelled packet reaches it as an IPIP or GRE "
               "packet, which no service serves"},
    SysctlInfo{"run_estimation", "1", kAnyInt, S::Acts, &Sysctls::run_estimation,
               "0 stops the rate estimator: -L --rate keeps its last figures"},
    SysctlInfo{"lblc_expiration", "86400", kSeconds, S::Acts, &Sysctls::lblc_expiration,
               "lblc's periodic full check forgets a record unused for this long"},
    SysctlInfo{"lblcr_expiration", "86400", kSeconds, S::Acts, &Sysctls::lblcr_expiration,
               "lblcr forgets a set unused for this long, and drops a member from a set "
               "unchanged for this long"},
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Integers as the kernel's proc handlers read them: base 0 (0x.. hex, 0.. octal), signed,
// whitespace between them; nothing when any is malformed or out of 64-bit range.
std::optional<std::vector<int64_t>> parse_integers(std::string_view text) {
  std::vector<int64_t> out;
  std::string s(trim(text));
  const char* p = s.c_str();
  while (*p != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(p, &end, 0);
    if (end == p || errno == ERANGE) return std::nullopt;
    if (*end != '\0' && !std::isspace(static_cast<unsigned char>(*end))) return std::nullopt;
    out.push_back(v);
    p = end;
    while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

bool is_int(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

// Whether the kernel's handler takes these values for this setting.
bool kernel_accepts(std::string_view name, const std::vector<int64_t>& v) {
  if (name == "sync_threshold")
    return v.size() == 2 && is_int(v[0]) && is_int(v[1]) && v[0] >= 0 && v[1] >= 0 &&
           (v[0] < v[1] || v[1] == 0);
  if (v.size() != 1) return false;
  const int64_t x = v[0];
  if (name == "sync_qlen_max") return x >= 0;
  if (!is_int(x)) return false;
  if (name == "drop_entry" || name == "drop_packet" || name == "secure_tcp")
    return x >= 0 && x <= 3;
  if (name == "lblc_expiration" || name == "lblcr_expiration")
    return x >= -kMaxJiffySeconds && x <= kMaxJiffySeconds;
  if (name == "sync_version") return x == 0 || x == 1;
  if (name == "sync_ports") return x >= 1 && (x & (x - 1)) == 0;
  if (name == "sync_retries") return x >= 0 && x <= 3;
  return true;
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

}  // namespace

std::span<const SysctlInfo> sysctl_table() {
  return kTable;
}

const SysctlInfo* find_sysctl(std::string_view name) {
  for (std::string_view prefix : {"net.ipv4.vs.", "net/ipv4/vs/"})
    if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  auto it = std::find_if(kTable.begin(), kTable.end(),
                         [&](const SysctlInfo& s) { return s.name == name; });
  return it == kTable.end() ? nullptr : &*it;
}

std::optional<std::pair<std::string, std::string>> split_assignment(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  auto name = trim(text.substr(0, eq));
  auto value = trim(text.substr(eq + 1));
  if (name.empty() || value.empty()) return std::nullopt;
  return std::pair{std::string(name), std::string(value)};
}

std::string set_sysctl(Sysctls& to, std::string_view name, std::string_view value) {
  const SysctlInfo* info = find_sysctl(name);
  if (!info)
    return "unknown sysctl " + quoted(name) + ": vsd knows the net.ipv4.vs settings of Linux 6.1";
  const std::string full = "net.ipv4.vs." + std::string(info->name);
  const auto numbers = parse_integers(value);
  if (!numbers || !kernel_accepts(info->name, *numbers))
    return "invalid value " + quoted(value) + " for " + full + ": allowed is " +
           std::string(info->allowed);
  if (info->support == S::DefaultOnly) {
    if (*numbers != *parse_integers(info->fallback))
      return full + "=" + std::string(trim(value)) + " is not supported by vsd, which takes " +
             "only the default " + quoted(info->fallback) + ": " + std::string(info->effect);
    return "";
  }
  if (info->name == "sync_qlen_max") {
    to.sync_qlen_max = (*numbers)[0];
    return "";
  }
  to.*(info->field) = int32_t((*numbers)[0]);
  if (info->field == &Sysctls::sync_threshold) to.sync_period = int32_t((*numbers)[1]);
  return "";
}

std::optional<std::string> get_sysctl(const Sysctls& from, std::string_view name) {
  const SysctlInfo* info = find_sysctl(name);
  if (!info) return std::nullopt;
  if (info->name == "sync_qlen_max") return std::to_string(from.sync_qlen_max);
  if (!info->field) return std::string(info->fallback);
  if (info->field == &Sysctls::sync_threshold)  // two values, as /proc/sys prints them
    return std::to_string(from.sync_threshold) + "\t" + std::to_string(from.sync_period);
  return std::to_string(from.*(info->field));
}

std::string list_sysctls(const Sysctls& from) {
  std::string out;
  for (const auto& info : kTable)
    out += "net.ipv4.vs." + std::string(info.name) + " = " + *get_sysctl(from, info.name) + "\n";
  return out;
}

}  // namespace vsd
