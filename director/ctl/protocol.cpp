// The vsadm/vsd JSON protocol: conversions, request handling, serving a connection.
#include "ctl/protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <limits>
#include <stdexcept>

#include "ctl/apply.h"
#include "ctl/command.h"
#include "ctl/connection_listing.h"
#include "ctl/format.h"
#include "os/whole_io.h"

using nlohmann::json;

namespace vsd {
namespace {

// ---------------------------------------------------------------------------------------------
// Strict field access: every error names the field and what was expected.

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument(what);
}

const json& field(const json& j, const char* name) {
  if (!j.is_object()) bad(std::string("expected an object holding '") + name + "'");
  auto it = j.find(name);
  if (it == j.end()) bad(std::string("missing field '") + name + "'");
  return *it;
}

template <class Unsigned>
Unsigned unsigned_field(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_number_unsigned() || value.get<uint64_t>() > std::numeric_limits<Unsigned>::max()) {
    bad(std::string("field '") + name + "': expected an unsigned " +
        std::to_string(8 * sizeof(Unsigned)) + "-bit integer");
  }
  return static_cast<Unsigned>(value.get<uint64_t>());
}

uint32_t u32(const json& j, const char* name) {
  return unsigned_field<uint32_t>(j, name);
}
uint64_t u64(const json& j, const char* name) {
  return unsigned_field<uint64_t>(j, name);
}

std::string string_field(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_string()) bad(std::string("field '") + name + "': expected a string");
  return value.get<std::string>();
}

bool bool_field(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_boolean()) bad(std::string("field '") + name + "': expected true or false");
  return value.get<bool>();
}

// A field decoded by its own from_json, with the field name added to any error.
template <class T>
T typed_field(const json& j, const char* name) {
  const json& value = field(j, name);
  try {
    return value.get<T>();
  } catch (const std::exception& e) {
    bad(std::string("field '") + name + "': " + e.what());
  }
}

template <class T>
std::vector<T> array_field(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_array()) bad(std::string("field '") + name + "': expected an array");
  std::vector<T> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    try {
      items.push_back(value[i].get<T>());
    } catch (const std::exception& e) {
      bad(std::string("field '") + name + "[" + std::to_string(i) + "]': " + e.what());
    }
  }
  return items;
}

std::string expect_string(const json& j, std::string_view what) {
  if (!j.is_string()) bad("expected " + std::string(what) + " as a string");
  return j.get<std::string>();
}

}  // namespace

void to_json(json& j, const Ipv4& v) {
  j = v.str();
}
void from_json(const json& j, Ipv4& v) {
  const std::string text = expect_string(j, "an IPv4 address");
  auto parsed = Ipv4::parse(text);
  if (!parsed) bad("'" + text + "' is not an IPv4 address");
  v = *parsed;
}

void to_json(json& j, const IpAddr& v) {
  j = v.str();
}
void from_json(const json& j, IpAddr& v) {
  const std::string text = expect_string(j, "an IPv4 or IPv6 address");
  auto parsed = IpAddr::parse(text);
  if (!parsed) bad("'" + text + "' is not an IPv4 or IPv6 address");
  v = *parsed;
}

// "10.0.0.1:80" or "[2001:db8::1]:80", as IpEndpoint::str() writes it.
void to_json(json& j, const IpEndpoint& v) {
  j = v.str();
}
void from_json(const json& j, IpEndpoint& v) {
  const std::string text = expect_string(j, "an address:port");
  const std::size_t colon = text.rfind(':');
  const std::string port = colon == std::string::npos ? "" : text.substr(colon + 1);
  std::string_view addr_text = std::string_view(text).substr(0, colon);
  const bool bracketed =
      addr_text.size() > 2 && addr_text.front() == '[' && addr_text.back() == ']';
  std::optional<IpAddr> addr;
  if (bracketed) {
    addr = IpAddr::parse_v6(addr_text.substr(1, addr_text.size() - 2));
  } else if (auto v4 = Ipv4::parse(addr_text)) {
    addr = *v4;
  }
  const bool port_is_number = !port.empty() && port.size() <= 5 &&
                              port.find_first_not_of("0123456789") == std::string::npos &&
                              std::stoul(port) <= 65535;
  if (!addr || !port_is_number) bad("'" + text + "' is not an address:port");
  v = IpEndpoint{*addr, static_cast<uint16_t>(std::stoul(port))};
}

void to_json(json& j, const Proto& v) {
  j = std::string(proto_name(v));
}
void from_json(const json& j, Proto& v) {
  const std::string text = expect_string(j, "a protocol");
  if (text == "TCP") {
    v = Proto::Tcp;
  } else if (text == "UDP") {
    v = Proto::Udp;
  } else if (text == "SCTP") {
    v = Proto::Sctp;
  } else if (text == "ICMP") {
    v = Proto::Icmp;
  } else {
    bad("'" + text + "' is not a protocol (TCP, UDP, SCTP or ICMP)");
  }
}

void to_json(json& j, const Method& v) {
  switch (v) {
    case Method::Nat:
      j = "nat";
      return;
    case Method::Dr:
      j = "dr";
      return;
    case Method::Tun:
      j = "tun";
      return;
    case Method::FullNat:
      j = "fullnat";
      return;
  }
  j = "dr";
}
void from_json(const json& j, Method& v) {
  const std::string text = expect_string(j, "a forwarding method");
  if (text == "nat") {
    v = Method::Nat;
  } else if (text == "dr") {
    v = Method::Dr;
  } else if (text == "tun") {
    v = Method::Tun;
  } else if (text == "fullnat") {
    v = Method::FullNat;
  } else {
    bad("'" + text + "' is not a forwarding method (nat, dr, tun or fullnat)");
  }
}

void to_json(json& j, const ServiceKey& v) {
  j = json{{"proto", v.proto}, {"vip", v.vip}, {"fwmark", v.fwmark}};
}
void from_json(const json& j, ServiceKey& v) {
  if (!j.is_object()) bad("expected a service key object");
  ServiceKey key;
  key.fwmark = j.contains("fwmark") ? u32(j, "fwmark") : 0;
  // A fwmark key needs nothing else (ipvsadm gives it protocol TCP and no address).
  const bool address_needed = key.fwmark == 0;
  if (address_needed || j.contains("proto")) key.proto = typed_field<Proto>(j, "proto");
  // A fwmark key's vip says its family (the zero address of it).
  if (address_needed || j.contains("vip")) key.vip = typed_field<IpEndpoint>(j, "vip");
  v = key;
}

void to_json(json& j, const Destination& v) {
  j = json{{"addr", v.addr},
           {"method", v.method},
           {"weight", v.weight},
           {"upper_threshold", v.upper_threshold},
           {"lower_threshold", v.lower_threshold}};
}
void from_json(const json& j, Destination& v) {
  v.addr = typed_field<IpEndpoint>(j, "addr");
  v.method = typed_field<Method>(j, "method");
  v.weight = u32(j, "weight");
  v.upper_threshold = u32(j, "upper_threshold");
  v.lower_threshold = u32(j, "lower_threshold");
}

void to_json(json& j, const Service& v) {
  j = json{{"key", v.key},
           {"scheduler", v.scheduler},
           {"sched_flags", v.sched_flags},
           {"persistent", v.persistent},
           {"persistence_timeout", v.persistence_timeout},
           {"persistence_mask", v.persistence_mask},
           {"persistence_prefix6", v.persistence_prefix6},
           {"one_packet", v.one_packet},
           {"persistence_engine", v.persistence_engine},
           {"toa", v.toa},
           {"destinations", v.destinations},
           {"local_addresses", v.local_addresses},
           {"local_addresses6", v.local_addresses6}};
}
void from_json(const json& j, Service& v) {
  v.key = typed_field<ServiceKey>(j, "key");
  v.scheduler = string_field(j, "scheduler");
  v.sched_flags = array_field<std::string>(j, "sched_flags");
  v.persistent = bool_field(j, "persistent");
  v.persistence_timeout = u32(j, "persistence_timeout");
  v.persistence_mask = typed_field<Ipv4>(j, "persistence_mask");
  // Absent from a client older than IPv6 services.
  v.persistence_prefix6 = 128;
  if (j.contains("persistence_prefix6")) {
    const uint32_t len = u32(j, "persistence_prefix6");
    if (len < 1 || len > 128) bad("'persistence_prefix6' must be 1..128");
    v.persistence_prefix6 = static_cast<uint8_t>(len);
  }
  v.one_packet = bool_field(j, "one_packet");
  v.toa = j.contains("toa") && bool_field(j, "toa");
  if (j.contains("persistence_engine"))
    v.persistence_engine = string_field(j, "persistence_engine");
  v.destinations = array_field<Destination>(j, "destinations");
  v.local_addresses = array_field<Ipv4>(j, "local_addresses");
  // Absent from a client older than IPv6 FULLNAT.
  if (j.contains("local_addresses6"))
    v.local_addresses6 = array_field<IpAddr>(j, "local_addresses6");
}

void to_json(json& j, const MarkProto& v) {
  j = std::string(mark_proto_name(v));
}
void from_json(const json& j, MarkProto& v) {
  const std::string text = expect_string(j, "a mark protocol");
  for (MarkProto p : {MarkProto::Any, MarkProto::Tcp, MarkProto::Udp}) {
    if (mark_proto_name(p) == text) {
      v = p;
      return;
    }
  }
  bad("'" + text + "' is not a mark protocol (tcp, udp or any)");
}

void to_json(json& j, const MarkRule& v) {
  j = json{{"mark", v.mark},           {"proto", v.proto},
           {"dest", v.dest},           {"prefix_len", v.prefix_len},
           {"dport_min", v.dport_min}, {"dport_max", v.dport_max}};
}
void from_json(const json& j, MarkRule& v) {
  MarkRule rule;
  rule.mark = u32(j, "mark");
  rule.proto = typed_field<MarkProto>(j, "proto");
  rule.dest = typed_field<IpAddr>(j, "dest");
  rule.prefix_len = unsigned_field<uint8_t>(j, "prefix_len");
  rule.dport_min = unsigned_field<uint16_t>(j, "dport_min");
  rule.dport_max = unsigned_field<uint16_t>(j, "dport_max");
  // The data plane relies on these; a peer that breaks them is refused, not obeyed.
  if (rule.mark == 0) bad("field 'mark': 0 is no mark");
  if (rule.prefix_len > rule.max_prefix_len())
    bad("field 'prefix_len': expected 0.." + std::to_string(rule.max_prefix_len()));
  if (!rule.dest_is_network()) bad("field 'dest': host bits set");
  if (rule.dport_min > rule.dport_max) bad("field 'dport_min': above 'dport_max'");
  v = rule;
}

void to_json(json& j, const Timeouts& v) {
  j = json{{"tcp", v.tcp}, {"tcp_fin", v.tcp_fin}, {"udp", v.udp}};
}
void from_json(const json& j, Timeouts& v) {
  v.tcp = u32(j, "tcp");
  v.tcp_fin = u32(j, "tcp_fin");
  v.udp = u32(j, "udp");
}

void to_json(json& j, const RuleSet& v) {
  j = json{{"services", v.services}, {"timeouts", v.timeouts}, {"marks", v.marks}};
}
void from_json(const json& j, RuleSet& v) {
  v.services = array_field<Service>(j, "services");
  v.timeouts = typed_field<Timeouts>(j, "timeouts");
  // Optional: a rule set from before the classifier has no mark rules.
  v.marks = j.contains("marks") ? array_field<MarkRule>(j, "marks") : std::vector<MarkRule>{};
}

void to_json(json& j, const Counters& v) {
  j = json{{"conns", v.conns},
           {"in_packets", v.in_packets},
           {"out_packets", v.out_packets},
           {"in_bytes", v.in_bytes},
           {"out_bytes", v.out_bytes}};
}
void from_json(const json& j, Counters& v) {
  v.conns = u64(j, "conns");
  v.in_packets = u64(j, "in_packets");
  v.out_packets = u64(j, "out_packets");
  v.in_bytes = u64(j, "in_bytes");
  v.out_bytes = u64(j, "out_bytes");
}

void to_json(json& j, const DestinationState& v) {
  j = json{{"addr", v.addr},
           {"active", v.active},
           {"inactive", v.inactive},
           {"persistent", v.persistent},
           {"overloaded", v.overloaded},
           {"totals", v.totals},
           {"rates", v.rates}};
}
void from_json(const json& j, DestinationState& v) {
  v.addr = typed_field<IpEndpoint>(j, "addr");
  v.active = u32(j, "active");
  v.inactive = u32(j, "inactive");
  v.persistent = u32(j, "persistent");
  v.overloaded = bool_field(j, "overloaded");
  v.totals = typed_field<Counters>(j, "totals");
  v.rates = typed_field<Counters>(j, "rates");
}

void to_json(json& j, const ServiceState& v) {
  j = json{
      {"key", v.key}, {"totals", v.totals}, {"rates", v.rates}, {"destinations", v.destinations}};
}
void from_json(const json& j, ServiceState& v) {
  v.key = typed_field<ServiceKey>(j, "key");
  v.totals = typed_field<Counters>(j, "totals");
  v.rates = typed_field<Counters>(j, "rates");
  v.destinations = array_field<DestinationState>(j, "destinations");
}

void to_json(json& j, const ConnectionEntry& v) {
  j = json{{"proto", v.proto},
           {"expires_s", v.expires_s},
           {"state", v.state},
           {"client", v.client},
           {"virtual_addr", v.virtual_addr},
           {"destination", v.destination},
           {"any_protocol", v.any_protocol},
           {"pe_name", v.pe_name},
           {"pe_data", v.pe_data}};
}
void from_json(const json& j, ConnectionEntry& v) {
  v.proto = typed_field<Proto>(j, "proto");
  // Optional: only fwmark templates have it set, and older peers do not send it.
  v.any_protocol = j.contains("any_protocol") && bool_field(j, "any_protocol");
  v.expires_s = u32(j, "expires_s");
  v.state = string_field(j, "state");
  v.client = typed_field<IpEndpoint>(j, "client");
  v.virtual_addr = typed_field<IpEndpoint>(j, "virtual_addr");
  v.destination = typed_field<IpEndpoint>(j, "destination");
  // Optional: only templates of a service with --pe have them.
  if (j.contains("pe_name")) v.pe_name = string_field(j, "pe_name");
  if (j.contains("pe_data")) v.pe_data = string_field(j, "pe_data");
}

void to_json(json& j, const DirectorState& v) {
  j = json{{"rules", v.rules},
           {"services", v.services},
           {"connections", v.connections},
           {"connection_table_size", v.connection_table_size}};
}
void from_json(const json& j, DirectorState& v) {
  v.rules = typed_field<RuleSet>(j, "rules");
  v.services = array_field<ServiceState>(j, "services");
  v.connections = array_field<ConnectionEntry>(j, "connections");
  v.connection_table_size = u32(j, "connection_table_size");
}

}  // namespace vsd

namespace vsd::ctl {
namespace {

json response(bool ok, int exit_code, std::string output, std::string error) {
  return json{
      {"ok", ok}, {"exit", exit_code}, {"output", std::move(output)}, {"error", std::move(error)}};
}

json success(std::string output = "") {
  return response(true, 0, std::move(output), "");
}

json failure(const Failure& f) {
  return response(false, f.exit_code, "", f.message);
}

json bad_request(const std::string& why) {
  return failure(usage_error("vsd: bad request: " + why));
}

json install(ControlTarget& target, const RuleSet& next) {
  const std::string error = target.install(next);
  if (!error.empty()) return failure(refused(error));
  return success();
}

json zero(ControlTarget& target, const std::optional<ServiceKey>& which) {
  if (which && target.rules().find_service(*which) == nullptr) {
    return failure(refused("No such service"));
  }
  target.zero(which);
  return success();
}

json handle_apply(const json& request, ControlTarget& target) {
  const json& argv = field(request, "argv");
  if (!argv.is_array()) return bad_request("'argv' must be an array of strings");
  std::vector<std::string> args;
  for (const json& word : argv) {
    if (!word.is_string()) return bad_request("'argv' must be an array of strings");
    args.push_back(word.get<std::string>());
  }
  auto parsed = parse_command(args);
  if (!parsed.ok()) return failure(parsed.failure());
  const Command& command = parsed.value();

  if (changes_rules(command.op)) {
    RuleSet next = target.rules();
    if (auto f = apply(next, command)) return failure(*f);
    return install(target, next);
  }
  switch (command.op) {
    case Op::List:
      if (command.list.kind == ListKind::Daemons) return success(format_daemons(target.daemons()));
      [[fallthrough]];
    case Op::Save:
    case Op::ListLocalAddresses:
    case Op::ListMarks: {
      auto text = format_command(target.summary(), command);
      if (!text.ok()) return failure(text.failure());
      return success(text.value());
    }
    case Op::Zero:
      return zero(target, command.service);
    case Op::Help:
      return success(usage_text());
    case Op::Version:
      return success(version_text());
    case Op::Restore:
      return failure(usage_error("-R reads rules from standard input: send op \"restore\""));
    case Op::StartDaemon:
    case Op::StopDaemon: {
      const std::string error = command.op == Op::StartDaemon
                                    ? target.start_daemon(command.daemon)
                                    : target.stop_daemon(command.daemon.role);
      return error.empty() ? success() : failure(refused(error));
    }
    default:
      return failure(usage_error("command not handled by vsd"));
  }
}

json handle_restore(const json& request, ControlTarget& target) {
  const json& text = field(request, "text");
  if (!text.is_string()) return bad_request("'text' must be a string");
  RuleSet next = target.rules();
  if (auto f = apply_restore(next, text.get<std::string>())) return failure(*f);
  return install(target, next);
}

json handle_state(ControlTarget& target) {
  json answer = success();
  answer["state"] = target.state();
  return answer;
}

json handle_zero(const json& request, ControlTarget& target) {
  auto it = request.find("service");
  if (it == request.end() || it->is_null()) return zero(target, std::nullopt);
  ServiceKey key;
  try {
    key = it->get<ServiceKey>();
  } catch (const std::exception& e) {
    return bad_request(std::string("'service': ") + e.what());
  }
  return zero(target, key);
}

// How deep arrays and objects nest in a JSON text, brackets inside strings not counted; stops
// counting past `limit`.
std::size_t nesting_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) break;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

json handle_counters(ControlTarget& target) {
  json values = json::object();
  std::string text;
  for (const auto& [name, value] : target.counters()) {
    values[name] = value;
    text += name + " " + std::to_string(value) + "\n";
  }
  json answer = success(std::move(text));
  answer["counters"] = std::move(values);
  return answer;
}

json handle_sysctl(const json& request, ControlTarget& target) {
  for (const char* field : {"name", "value"})
    if (request.contains(field) && !request[field].is_string())
      return bad_request(std::string("'") + field + "' must be a string");
  if (!request.contains("name")) {
    if (request.contains("value")) return bad_request("'value' needs a 'name'");
    return success(list_sysctls(target.sysctls()));
  }
  const std::string name = request["name"].get<std::string>();
  const SysctlInfo* info = find_sysctl(name);
  if (!info) {
    Sysctls scratch;  // only for the refusal's words
    return failure(refused(vsd::set_sysctl(scratch, name, "0")));
  }
  if (request.contains("value")) {
    const std::string error = target.set_sysctl(name, request["value"].get<std::string>());
    if (!error.empty()) return failure(refused(error));
  }
  return success("net.ipv4.vs." + std::string(info->name) + " = " +
                 *get_sysctl(target.sysctls(), info->name) + "\n");
}

// The checks every request passes before its op is looked at: the refusal, or nothing.
std::optional<json> refusal_of(std::string_view line, json& request) {
  if (nesting_depth(line, kMaxRequestDepth) > kMaxRequestDepth)
    return bad_request("request nests deeper than " + std::to_string(kMaxRequestDepth) + " levels");
  request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return bad_request("not a JSON document");
  if (!request.is_object()) return bad_request("expected a JSON object");
  if (!request.contains("version")) return bad_request("missing 'version'");
  const json& version = request["version"];
  if (!version.is_number_integer()) return bad_request("'version' must be an integer");
  if (version.get<int64_t>() != kProtocolVersion) {
    return bad_request("unsupported protocol version " + version.dump() + " (vsd speaks " +
                       std::to_string(kProtocolVersion) + ")");
  }
  if (!request.contains("op")) return bad_request("missing 'op'");
  if (!request["op"].is_string()) return bad_request("'op' must be a string");
  if (request.contains("stream") && !request["stream"].is_boolean())
    return bad_request("'stream' must be true or false");
  return std::nullopt;
}

json respond(const json& request, ControlTarget& target) {
  const std::string op = request["op"].get<std::string>();
  try {
    if (op == "apply") return handle_apply(request, target);
    if (op == "restore") return handle_restore(request, target);
    if (op == "state") return handle_state(target);
    if (op == "zero") return handle_zero(request, target);
    if (op == "counters") return handle_counters(target);
    if (op == "sysctl") return handle_sysctl(request, target);
  } catch (const std::invalid_argument& e) {  // a missing field
    return bad_request(e.what());
  }
  return bad_request("unknown op '" + op + "'");
}

std::string response_line(const std::function<json()>& make) {
  try {
    return dump_json(make()) + "\n";
  } catch (const std::exception& e) {
    return dump_json(failure(refused(std::string("vsd: internal error: ") + e.what()))) + "\n";
  } catch (...) {
    return dump_json(failure(refused("vsd: internal error"))) + "\n";
  }
}

// Every answer but a connection listing: one response line, made at the first step.
class OneLine final : public Answer {
 public:
  OneLine(json request, ControlTarget& target) : request_(std::move(request)), target_(&target) {}
  // An answer known already (a refusal).
  explicit OneLine(const json& response) : line_(response_line([&] { return response; })) {}
  bool next(std::string& out) override {
    if (line_.empty()) line_ = response_line([&] { return respond(request_, *target_); });
    out += line_;
    return false;
  }

 private:
  json request_;
  ControlTarget* target_ = nullptr;
  std::string line_;
};

// The -L -c command a request carries, if that is what it is.
std::optional<Command> connection_listing(const json& request) {
  if (request["op"] != "apply") return std::nullopt;
  auto argv = request.find("argv");
  if (argv == request.end() || !argv->is_array()) return std::nullopt;
  std::vector<std::string> args;
  for (const json& word : *argv) {
    if (!word.is_string()) return std::nullopt;
    args.push_back(word.get<std::string>());
  }
  auto parsed = parse_command(args);
  if (!parsed.ok() || parsed.value().op != Op::List ||
      parsed.value().list.kind != ListKind::Connections)
    return std::nullopt;
  return parsed.value();
}

}  // namespace

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unique_ptr<Answer> start_request(std::string_view request_line, ControlTarget& target) {
  if (!request_line.empty() && request_line.back() == '\n') request_line.remove_suffix(1);
  json request;
  try {
    if (auto refusal = refusal_of(request_line, request))
      return std::make_unique<OneLine>(*refusal);
    if (auto listing = connection_listing(request)) {
      const bool stream = request.value("stream", false);
      return make_connection_listing(target, listing->list, stream);
    }
  } catch (const std::exception& e) {
    return std::make_unique<OneLine>(
        failure(refused(std::string("vsd: internal error: ") + e.what())));
  }
  return std::make_unique<OneLine>(std::move(request), target);
}

std::string handle_request(std::string_view request_line, ControlTarget& target) {
  auto answer = start_request(request_line, target);
  std::string lines;
  while (answer->next(lines)) {
  }
  if (!lines.empty() && lines.back() == '\n') lines.pop_back();
  return lines;
}

void serve_connection(int fd, ControlTarget& target) {
  std::string request;
  char buffer[4096];
  bool complete = false;
  while (!complete && request.size() <= kMaxRequestBytes) {
    const ssize_t n = vslab::os::read_some(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
    complete = request.find('\n') != std::string::npos;
  }
  if (request.size() > kMaxRequestBytes) {
    vslab::os::send_all(fd, dump_json(bad_request("request larger than " +
                                                  std::to_string(kMaxRequestBytes) + " bytes")) +
                                "\n");
    return;
  }
  auto answer = start_request(std::string_view(request).substr(0, request.find('\n')), target);
  for (bool more = true; more;) {
    std::string lines;
    more = answer->next(lines);
    if (!vslab::os::send_all(fd, lines)) return;
  }
}

json apply_request(const std::vector<std::string>& argv) {
  return json{{"version", kProtocolVersion}, {"op", "apply"}, {"argv", argv}};
}

json restore_request(std::string_view text) {
  return json{{"version", kProtocolVersion}, {"op", "restore"}, {"text", std::string(text)}};
}

json state_request() {
  return json{{"version", kProtocolVersion}, {"op", "state"}};
}

json counters_request() {
  return json{{"version", kProtocolVersion}, {"op", "counters"}};
}

json sysctl_request(std::string_view name, std::string_view value) {
  json request{{"version", kProtocolVersion}, {"op", "sysctl"}};
  if (!name.empty()) request["name"] = std::string(name);
  if (!value.empty()) request["value"] = std::string(value);
  return request;
}

json zero_request(const std::optional<ServiceKey>& which) {
  json request{{"version", kProtocolVersion}, {"op", "zero"}};
  request["service"] = which ? json(*which) : json(nullptr);
  return request;
}

}  // namespace vsd::ctl
