// The control protocol between vsadm and vsd, over a unix stream socket: one JSON request per
// connection, on one line ending in '\n', answered by one JSON response line (or, when the
// request asks for it, a stream of lines ending with that response line).
//
// Requests (version 1):
//   {"version":1,"op":"apply","argv":["-A","-t","10.0.0.1:80"]}  an ipvsadm command line: the
//       daemon parses it, applies it to a copy of its rules and installs the copy; listings
//       (-L, -S, --get-laddr) come back as "output"
//   {"version":1,"op":"restore","text":"-A -t ...\n-a ...\n"}    -R, all or nothing
//   {"version":1,"op":"state"}                                   the whole DirectorState
//   {"version":1,"op":"zero","service":SERVICE-KEY}              -Z; service absent or null:
//                                                                 every service
//   {"version":1,"op":"counters"}                                the daemon's own counters
//       (vsadm --counters): "output" holds "name value" lines, "counters" the same as an object
//   {"version":1,"op":"sysctl"[,"name":N[,"value":V]]}           the net.ipv4.vs settings
//       (vsadm --sysctl, config/sysctl.h): every one, one, or one set; "output" holds
//       "net.ipv4.vs.NAME = VALUE" lines as sysctl(8) prints them; a refusal exits 255
// Response: {"ok":bool,"exit":int,"output":"...","error":"..."}, plus "state" for op state.
// "output" goes to stdout as is; "error" is one message without the final newline; "exit" is
// ipvsadm's exit code (0, 1, 2 or 255). A malformed request gets ok=false, exit 2.
//
// Streamed responses: a request with "stream":true may be answered by any number of lines
// {"output":"..."} (no "exit": a piece of stdout, to print as it comes) before the response
// line above, whose "output" is then the last piece. vsd streams the connection listing (-L -c),
// a chunk of entries a line, so that a million entries neither wait in one string nor hold the
// data plane; without "stream" the same listing comes whole in the response line.
//
// Limits (vsd/control_server.h): a request larger than kMaxRequestBytes or nesting deeper than
// kMaxRequestDepth is refused before it is parsed; a request must be complete within the
// server's deadline from connecting.
//
// JSON shapes: addresses "10.0.0.1" or "2001:db8::1"; endpoints "10.0.0.1:80" or
// "[2001:db8::1]:80"; protocols "TCP"/"UDP"/"ICMP"; methods "nat"/"dr"/"tun"/"fullnat"; a
// service key {"proto","vip","fwmark"} (fwmark 0 for an address service; a fwmark key needs only
// "fwmark", and its vip "[::]:0" makes it an IPv6 one, -f MARK -6); a Service's
// "persistence_prefix6" (an IPv6 service's -M, 128 when absent); mark rules {"mark","proto" ("tcp",
// "udp" or "any"),"dest","prefix_len","dport_min","dport_max"}; every other struct field under
// its own C++ name. Decoding is strict: a missing field or a wrong type is an error naming the
// field, except RuleSet "marks", ConnectionEntry "any_protocol" and Service
// "persistence_prefix6", which older peers leave out.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/rules.h"
#include "config/state.h"
#include "config/sysctl.h"
#include "sync/daemon_config.h"

namespace vsd {

// nlohmann::json conversions, found by argument-dependent lookup. from_json throws
// std::invalid_argument (or nlohmann::json::exception) naming what is wrong.
void to_json(nlohmann::json& j, const Ipv4& v);
void from_json(const nlohmann::json& j, Ipv4& v);
void to_json(nlohmann::json& j, const IpAddr& v);
void from_json(const nlohmann::json& j, IpAddr& v);
void to_json(nlohmann::json& j, const IpEndpoint& v);
void from_json(const nlohmann::json& j, IpEndpoint& v);
void to_json(nlohmann::json& j, const Proto& v);
void from_json(const nlohmann::json& j, Proto& v);
void to_json(nlohmann::json& j, const Method& v);
void from_json(const nlohmann::json& j, Method& v);
void to_json(nlohmann::json& j, const ServiceKey& v);
void from_json(const nlohmann::json& j, ServiceKey& v);
void to_json(nlohmann::json& j, const Destination& v);
void from_json(const nlohmann::json& j, Destination& v);
void to_json(nlohmann::json& j, const Service& v);
void from_json(const nlohmann::json& j, Service& v);
void to_json(nlohmann::json& j, const MarkProto& v);
void from_json(const nlohmann::json& j, MarkProto& v);
void to_json(nlohmann::json& j, const MarkRule& v);
void from_json(const nlohmann::json& j, MarkRule& v);
void to_json(nlohmann::json& j, const Timeouts& v);
void from_json(const nlohmann::json& j, Timeouts& v);
void to_json(nlohmann::json& j, const RuleSet& v);
void from_json(const nlohmann::json& j, RuleSet& v);
void to_json(nlohmann::json& j, const Counters& v);
void from_json(const nlohmann::json& j, Counters& v);
void to_json(nlohmann::json& j, const DestinationState& v);
void from_json(const nlohmann::json& j, DestinationState& v);
void to_json(nlohmann::json& j, const ServiceState& v);
void from_json(const nlohmann::json& j, ServiceState& v);
void to_json(nlohmann::json& j, const ConnectionEntry& v);
void from_json(const nlohmann::json& j, ConnectionEntry& v);
void to_json(nlohmann::json& j, const DirectorState& v);
void from_json(const nlohmann::json& j, DirectorState& v);

}  // namespace vsd

namespace vsd::ctl {

inline constexpr int kProtocolVersion = 1;
// A request larger than this is refused rather than buffered (a restore of ~100k rules fits).
inline constexpr std::size_t kMaxRequestBytes = 16u << 20;
// No request of vsadm nests deeper than 3; a deeper one is refused before it is parsed, so that a
// megabyte of '[' costs vsd a scan, not a tree of a million empty arrays.
inline constexpr std::size_t kMaxRequestDepth = 16;

// ControlTarget::connections() is done.
inline constexpr std::size_t kNoMoreConnections = std::numeric_limits<std::size_t>::max();

// What the daemon exposes to the control side. install() swaps in the new rules atomically
// and returns "" or why it could not.
struct ControlTarget {
  virtual ~ControlTarget() = default;
  virtual RuleSet rules() const = 0;
  virtual std::string install(const RuleSet& next) = 0;
  // Everything, connection entries included.
  virtual DirectorState state() const = 0;
  virtual void zero(const std::optional<ServiceKey>& which) = 0;
  // The state without its connection entries: what every listing but -L -c needs. By
  // default state() without them; a daemon with a large table makes it cheaper.
  virtual DirectorState summary() const {
    DirectorState s = state();
    s.connections.clear();
    return s;
  }
  // The connection entries a chunk a call: appends the chunk that starts at cursor `from` (0
  // first) to out and returns the cursor of the next one, or kNoMoreConnections. A listing
  // made of chunks is no snapshot: entries made or gone in between may be missing or there.
  // By default all of state()'s in one chunk.
  virtual std::size_t connections(std::size_t from, std::vector<ConnectionEntry>& out) const {
    if (from == 0) out = state().connections;
    return kNoMoreConnections;
  }
  // The daemon's own counters, name and value (op "counters"); none by default.
  virtual std::vector<std::pair<std::string, uint64_t>> counters() const { return {}; }
  // The connection synchronization daemons (--start-daemon, --stop-daemon, -L --daemon):
  // "" or the refusal in ipvsadm's words ("Daemon has already run", "No daemon is running",
  // "No such device"). A target without them refuses as a kernel without ip_vs_sync would.
  virtual std::string start_daemon(const sync::DaemonConfig&) { return "Protocol not available"; }
  virtual std::string stop_daemon(sync::Role) { return "Protocol not available"; }
  // The running ones, master first, with the defaults the daemon filled in.
  virtual std::vector<sync::DaemonConfig> daemons() const { return {}; }
  // The net.ipv4.vs settings in force; by default the kernel's defaults, which a target
  // without them cannot change.
  virtual Sysctls sysctls() const { return {}; }
  // One setting, checked and applied atomically: "" or the refusal (config/sysctl.h's words).
  virtual std::string set_sysctl(std::string_view name, std::string_view value) {
    Sysctls scratch;
    std::string error = vsd::set_sysctl(scratch, name, value);
    return error.empty() ? "this director cannot change net.ipv4.vs settings" : error;
  }
};

// One request's answer, produced a step at a time, so that a server can take turns between
// clients and stop producing for a client that does not read.
class Answer {
 public:
  virtual ~Answer() = default;
  // Appends the next protocol lines (each ending in '\n') to out; false once the response line,
  // the last, is in. Never throws: a failure becomes the response line.
  virtual bool next(std::string& out) = 0;
};

// The answer to one request line (with or without its '\n'). Nothing is asked of the target
// before the first next(). The answer refers to target, which must outlive it.
std::unique_ptr<Answer> start_request(std::string_view request_line, ControlTarget& target);

// One request line (with or without its '\n') to one response (JSON, without the '\n'): a
// request without "stream" answered whole. Never throws. A failing command changes nothing: rule
// changes are applied to a copy of target.rules() and installed only when they all succeed. Calls
// must be serialized by the caller (rules() then install() is not atomic against another request).
std::string handle_request(std::string_view request_line, ControlTarget& target);

// Serves one accepted connection: reads a request line, writes the answer's lines as they are
// made. Does not close fd. For a simple server (tests); vsd serves many at once
// (vsd/control_server.h).
void serve_connection(int fd, ControlTarget& target);

// Request builders for clients.
nlohmann::json apply_request(const std::vector<std::string>& argv);
nlohmann::json restore_request(std::string_view text);
nlohmann::json state_request();
nlohmann::json counters_request();
// name empty: every setting; value empty: read the one named.
nlohmann::json sysctl_request(std::string_view name = {}, std::string_view value = {});
nlohmann::json zero_request(const std::optional<ServiceKey>& which);

// JSON text that survives invalid UTF-8 in strings (replaced by U+FFFD) instead of throwing.
std::string dump_json(const nlohmann::json& j);

}  // namespace vsd::ctl
