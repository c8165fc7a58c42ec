// ipvsadm 1.31's listing formats (see format.h).
#include "ctl/format.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <tuple>
#include <vector>

#include "ctl/port_names.h"

namespace vsd::ctl {
namespace {

// ipvsadm cuts IPv4 names to fit its columns (svc_name[33], dname[28]); IPv6 ones it prints
// whole, widening the line.
constexpr std::size_t kServiceNameWidth = 33;
constexpr std::size_t kDestinationNameWidth = 28;

std::string truncated(std::string text, std::size_t width) {
  if (text.size() > width) text.resize(width);
  return text;
}

std::string truncated_if_ipv4(std::string text, Family family, std::size_t width) {
  return family == Family::V4 ? truncated(std::move(text), width) : text;
}

// addrport_to_anyname: "10.0.0.1:80", "[2001:db8::1]:http".
std::string endpoint_text(const IpEndpoint& endpoint, Proto proto, bool numeric) {
  if (numeric) return endpoint.str();
  return bracketed(endpoint.addr) + ":" + port_name_or_number(endpoint.port, proto);
}

// ipvsadm prints the mark with %d (print_service_entry), so a mark above 2^31 - 1 shows
// negative, in -S too, where ipvsadm -R (and vsadm -R) then refuse it. vsd prints what ipvsadm
// prints.
int32_t mark_as_ipvsadm_prints_it(uint32_t mark) {
  return static_cast<int32_t>(mark);
}

// "TCP  10.0.0.1:80", "TCP  [2001:db8::1]:80", "FWM  7", "FWM  7 IPv6".
std::string service_label(const ServiceKey& key, bool numeric) {
  if (key.fwmark != 0) {
    return fmt::format("FWM  {}{}", mark_as_ipvsadm_prints_it(key.fwmark),
                       key.family() == Family::V6 ? " IPv6" : "");
  }
  return truncated_if_ipv4(
      fmt::format("{:<4} {}", proto_name(key.proto), endpoint_text(key.vip, key.proto, numeric)),
      key.family(), kServiceNameWidth);
}

// "-t 10.0.0.1:80", "-t [2001:db8::1]:80", "-f 7", "-f 7 -6".
std::string service_option(const ServiceKey& key, bool numeric) {
  if (key.fwmark != 0) {
    return fmt::format("-f {}{}", mark_as_ipvsadm_prints_it(key.fwmark),
                       key.family() == Family::V6 ? " -6" : "");
  }
  // ipvsadm's option_from_protocol: SCTP has no short option.
  const char* option = key.proto == Proto::Udp    ? "-u"
                       : key.proto == Proto::Sctp ? "--sctp-service"
                                                  : "-t";
  return fmt::format("{} {}", option, endpoint_text(key.vip, key.proto, numeric));
}

std::string method_switch(Method method) {
  switch (method) {
    case Method::Nat:
      return "-m";
    case Method::Dr:
      return "-g";
    case Method::Tun:
      return "-i";
    case Method::FullNat:
      return "-b";  // DPVS
  }
  return "-g";
}

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

// The persistence granularity as -L ("mask ...") and -S ("-M ...") print it, or nothing when it
// is the default (one client address): an IPv4 mask, an IPv6 prefix length.
std::optional<std::string> persistence_granularity(const Service& service) {
  if (service.family() == Family::V6) {
    if (service.persistence_prefix6 == 128) return std::nullopt;
    return std::to_string(service.persistence_prefix6);
  }
  if (service.persistence_mask.value == ~0u) return std::nullopt;
  return service.persistence_mask.str();
}

// ---------------------------------------------------------------------------------------------
// Order and lookups.

std::vector<const Service*> listing_order(const RuleSet& rules, bool sorted) {
  std::vector<const Service*> services;
  for (const Service& s : rules.services) services.push_back(&s);
  if (!sorted) return services;
  // ipvs_cmp_services: mark, family (IPv4 first), protocol, address, port. It subtracts
  // addresses as ints, which misorders addresses more than 2^31 apart; vsd compares them as the
  // unsigned numbers they are (IpAddr orders by family, then its bytes in network order).
  auto key_of = [](const Service* s) {
    return std::tuple(s->key.fwmark, s->key.family(), static_cast<int>(s->key.proto),
                      s->key.vip.addr, s->key.vip.port);
  };
  std::stable_sort(services.begin(), services.end(),
                   [&](const Service* a, const Service* b) { return key_of(a) < key_of(b); });
  return services;
}

std::vector<const Destination*> listing_order(const Service& service, bool sorted) {
  std::vector<const Destination*> dests;
  for (const Destination& d : service.destinations) dests.push_back(&d);
  if (!sorted) return dests;
  std::stable_sort(dests.begin(), dests.end(), [](const Destination* a, const Destination* b) {
    return std::tuple(a->addr.addr, a->addr.port) < std::tuple(b->addr.addr, b->addr.port);
  });
  return dests;
}

const ServiceState* find_state(const DirectorState& state, const ServiceKey& key) {
  for (const ServiceState& s : state.services) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// Counters the director has not reported yet read as zero.
const DestinationState& find_state(const ServiceState* service, const IpEndpoint& addr) {
  static const DestinationState kNothingYet;
  if (service == nullptr) return kNothingYet;
  for (const DestinationState& d : service->destinations) {
    if (d.addr == addr) return d;
  }
  return kNothingYet;
}

// ---------------------------------------------------------------------------------------------
// -L

std::string title(Columns columns) {
  constexpr std::string_view kRemote = "  -> RemoteAddress:Port\n";
  switch (columns) {
    case Columns::Stats:
      return fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{}", "Prot LocalAddress:Port",
                         "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes", kRemote);
    case Columns::Rate:
      return fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{}", "Prot LocalAddress:Port",
                         "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS", kRemote);
    case Columns::Thresholds:
      return fmt::format("{:<33} {:<10} {:<10} {:<10} {:<10}\n{}", "Prot LocalAddress:Port",
                         "Uthreshold", "Lthreshold", "ActiveConn", "InActConn", kRemote);
    case Columns::PersistentConn:
      return fmt::format("{:<33} {:<9} {:<11} {:<10} {:<10}\n{}", "Prot LocalAddress:Port",
                         "Weight", "PersistConn", "ActiveConn", "InActConn", kRemote);
    case Columns::Default:
      break;
  }
  return "Prot LocalAddress:Port Scheduler Flags\n"
         "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
}

std::string counters_columns(const Counters& c, bool exact) {
  return format_counter(c.conns, exact) + format_counter(c.in_packets, exact) +
         format_counter(c.out_packets, exact) + format_counter(c.in_bytes, exact) +
         format_counter(c.out_bytes, exact);
}

// "TCP  10.0.0.1:80 sh (sh-port) persistent 60 mask 255.255.255.0 ops"
std::string service_settings_text(const Service& service, bool numeric) {
  std::string line = service_label(service.key, numeric) + " " + service.scheduler;
  if (!service.sched_flags.empty()) line += " (" + joined(service.sched_flags, ",") + ")";
  if (service.persistent) {
    line += fmt::format(" persistent {}", service.persistence_timeout);
    if (auto mask = persistence_granularity(service)) line += " mask " + *mask;
    // ipvsadm names the engine only inside the persistence part of the line.
    if (!service.persistence_engine.empty()) line += " pe " + service.persistence_engine;
  }
  if (service.one_packet) line += " ops";
  if (service.toa) line += " toa";  // vsd's, as --toa is
  return line;
}

std::string service_line(const Service& service, const ServiceState* state,
                         const ListOptions& options) {
  static const ServiceState kNothingYet;
  const ServiceState& counters = state != nullptr ? *state : kNothingYet;
  switch (options.columns) {
    case Columns::Stats:
      return fmt::format("{:<33}", service_label(service.key, options.numeric)) +
             counters_columns(counters.totals, options.exact) + "\n";
    case Columns::Rate:
      return fmt::format("{:<33}", service_label(service.key, options.numeric)) +
             counters_columns(counters.rates, options.exact) + "\n";
    default:
      return service_settings_text(service, options.numeric) + "\n";
  }
}

std::string destination_line(const Destination& dest, const DestinationState& state, Proto proto,
                             const ListOptions& options) {
  const std::string name = truncated_if_ipv4(endpoint_text(dest.addr, proto, options.numeric),
                                             dest.addr.family(), kDestinationNameWidth);
  switch (options.columns) {
    case Columns::Stats:
      return fmt::format("  -> {:<28}", name) + counters_columns(state.totals, options.exact) +
             "\n";
    case Columns::Rate:
      // ipvsadm prints a destination's CPS and packet rates unabbreviated, its byte rates not.
      return fmt::format("  -> {:<28} {:>8} {:>8} {:>8}", name, state.rates.conns,
                         state.rates.in_packets, state.rates.out_packets) +
             format_counter(state.rates.in_bytes, options.exact) +
             format_counter(state.rates.out_bytes, options.exact) + "\n";
    case Columns::Thresholds:
      return fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}\n", name, dest.upper_threshold,
                         dest.lower_threshold, state.active, state.inactive);
    case Columns::PersistentConn:
      return fmt::format("  -> {:<28} {:<9} {:<11} {:<10} {:<10}\n", name, dest.weight,
                         state.persistent, state.active, state.inactive);
    case Columns::Default:
      break;
  }
  return fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n", name, method_name(dest.method),
                     dest.weight, state.active, state.inactive);
}

std::string service_entry(const DirectorState& state, const Service& service,
                          const ListOptions& options) {
  const ServiceState* service_state = find_state(state, service.key);
  std::string out = service_line(service, service_state, options);
  for (const Destination* dest : listing_order(service, options.sorted)) {
    out +=
        destination_line(*dest, find_state(service_state, dest->addr), service.key.proto, options);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// -S

std::string save_service(const Service& service, bool numeric) {
  const std::string option = service_option(service.key, numeric);
  std::string out = "-A " + option + " -s " + service.scheduler;
  if (service.persistent) {
    out += fmt::format(" -p {}", service.persistence_timeout);
    if (auto mask = persistence_granularity(service)) out += " -M " + *mask;
  }
  if (!service.persistence_engine.empty()) out += " --pe " + service.persistence_engine;
  if (service.one_packet) out += " -o";
  if (!service.sched_flags.empty()) out += " -b " + joined(service.sched_flags, ",");
  if (service.toa) out += " --toa";
  out += "\n";
  for (const Destination* dest : listing_order(service, true)) {
    // Like ipvsadm, -S saves method and weight only: thresholds are not part of the script.
    out += fmt::format("-a {} -r {} {} -w {}", option,
                       endpoint_text(dest->addr, service.key.proto, numeric),
                       method_switch(dest->method), dest->weight);
    if (dest->method == Method::Tun) out += " --tun-type ipip";
    out += "\n";
  }
  for (Ipv4 local : service.local_addresses) {
    out += fmt::format("--add-laddr -z {} {}\n", local.str(), option);
  }
  for (const IpAddr& local : service.local_addresses6) {
    out += fmt::format("--add-laddr -z {} {}\n", local.str(), option);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// --get-laddr (DPVS: list_laddrs_print_title/_service/_laddr)

std::string local_addresses_entry(const Service& service) {
  const std::string name =
      service.key.fwmark != 0 ? service_label(service.key, true) : service.key.vip.str();
  std::string out = fmt::format("{:<20} {:<8} \n", name,
                                service.local_addresses.size() + service.local_addresses6.size());
  // vsd does not count per local address; DPVS's CONFLICTS and CONNS read 0.
  for (Ipv4 local : service.local_addresses)
    out += fmt::format("{:<20} {:<8} {:<20} {:<10} {:<10}\n", "", "", local.str(), 0, 0);
  for (const IpAddr& local : service.local_addresses6)
    out += fmt::format("{:<20} {:<8} {:<20} {:<10} {:<10}\n", "", "", local.str(), 0, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The classifier (vsd's own): --list-marks and the --add-mark lines of -S --marks.

std::string port_range_text(const MarkRule& rule) {
  if (rule.dport_min == rule.dport_max) return std::to_string(rule.dport_min);
  return fmt::format("{}:{}", rule.dport_min, rule.dport_max);
}

std::string prefix_text(const MarkRule& rule) {
  return fmt::format("{}/{}", rule.dest.str(), rule.prefix_len);
}

// Every field is written out, defaults too, so the line reads the same whatever the defaults.
std::string save_mark(const MarkRule& rule) {
  return fmt::format("--add-mark -f {} --proto {} --dest {} --dport {}\n", rule.mark,
                     mark_proto_name(rule.proto), prefix_text(rule), port_range_text(rule));
}

std::string no_such_service_text() {
  return "No such service";
}

}  // namespace

std::string format_counter(uint64_t value, bool exact) {
  if (exact) {
    const std::string digits = std::to_string(value);
    const std::size_t width = digits.size() <= 8 ? 9 : digits.size() + 1;
    return fmt::format("{:>{}}", digits, width);
  }
  if (value < 100'000'000ULL) return fmt::format("{:>9}", value);
  if (value < 1'000'000'000ULL) return fmt::format("{:>8}K", value / 1'000ULL);
  if (value < 100'000'000'000ULL) return fmt::format("{:>8}M", value / 1'000'000ULL);
  if (value < 100'000'000'000'000ULL) return fmt::format("{:>8}G", value / 1'000'000'000ULL);
  return fmt::format("{:>8}T", value / 1'000'000'000'000ULL);
}

std::string format_services(const DirectorState& state, const ListOptions& options) {
  std::string out =
      fmt::format("IP Virtual Server version 1.2.1 (size={})\n", state.connection_table_size);
  out += title(options.columns);
  for (const Service* service : listing_order(state.rules, options.sorted)) {
    out += service_entry(state, *service, options);
  }
  return out;
}

Result<std::string> format_one_service(const DirectorState& state, const ServiceKey& key,
                                       const ListOptions& options) {
  const Service* service = state.rules.find_service(key);
  if (service == nullptr) return Failure{kExitListing, no_such_service_text()};
  return title(options.columns) + service_entry(state, *service, options);
}

std::string format_connections(const DirectorState& state, const ListOptions& options) {
  std::string out = connections_title(options);
  append_connections(state.connections, options, out);
  return out;
}

std::string connections_title(const ListOptions& options) {
  std::string out = "IPVS connection entries\n";
  if (options.columns == Columns::PersistentConn) {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n", "state", "source",
                       "virtual", "destination", "pe name", "pe_data");
  } else {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {}\n", "state", "source", "virtual",
                       "destination");
  }
  return out;
}

namespace {

// endpoint_text without its allocations: a million lines of -L -c make three each.
struct EndpointText {
  char text[64];  // "[" + 39 + "]:" + a port name cut to fit
  std::size_t size = 0;
  // names: nullptr for -n.
  EndpointText(const IpEndpoint& endpoint, Proto proto, const PortNames* names) {
    char* end = text;
    if (endpoint.addr.is_v4()) {
      const uint32_t a = endpoint.addr.v4().value;
      end = fmt::format_to(text, "{}.{}.{}.{}:", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
                           a & 0xff);
    } else {
      end = fmt::format_to(text, "{}:", bracketed(endpoint.addr));
    }
    const std::string_view name =
        names != nullptr ? names->name(endpoint.port, proto) : std::string_view();
    if (name.empty()) {
      end = fmt::format_to(end, "{}", endpoint.port);
    } else {
      end = std::copy_n(name.data(), std::min<std::size_t>(name.size(), text + sizeof text - end),
                        end);
    }
    size = static_cast<std::size_t>(end - text);
  }
  std::string_view view() const { return {text, size}; }
};

}  // namespace

void append_connections(const std::vector<ConnectionEntry>& entries, const ListOptions& options,
                        std::string& out, const PortNames* names) {
  std::optional<PortNames> own;
  if (!options.numeric && names == nullptr) names = &own.emplace();
  fmt::memory_buffer line;
  for (const ConnectionEntry& c : entries) {
    // ipvsadm names ports only for TCP and UDP entries (print_conn), so an "IP" template's
    // ports stay numbers.
    const PortNames* named = options.numeric || c.any_protocol ? nullptr : names;
    char expire[16];
    const auto written =
        fmt::format_to_n(expire, sizeof expire, "{:02}:{:02}", c.expires_s / 60, c.expires_s % 60);
    line.clear();
    const std::string_view proto = c.any_protocol ? std::string_view("IP") : proto_name(c.proto);
    if (options.columns == Columns::PersistentConn && !c.pe_name.empty()) {
      // print_conn with --persistent-conn: the engine's name and data end the line, the
      // destination narrower than in the title. ipvsadm reads the data with sscanf's %s, so it
      // shows it up to the first blank (a Call-ID has none).
      fmt::format_to(std::back_inserter(line),
                     "{:<3} {:<6} {:<11} {:<18} {:<18} {:<16} {:<18} {}\n", proto,
                     std::string_view(expire, written.size), c.state,
                     EndpointText(c.client, c.proto, named).view(),
                     EndpointText(c.virtual_addr, c.proto, named).view(),
                     EndpointText(c.destination, c.proto, named).view(), c.pe_name, c.pe_data);
      out.append(line.data(), line.size());
      continue;
    }
    fmt::format_to(std::back_inserter(line), "{:<3} {:<6} {:<11} {:<18} {:<18} {}\n", proto,
                   std::string_view(expire, written.size), c.state,
                   EndpointText(c.client, c.proto, named).view(),
                   EndpointText(c.virtual_addr, c.proto, named).view(),
                   EndpointText(c.destination, c.proto, named).view());
    out.append(line.data(), line.size());
  }
}

std::string format_timeouts(const Timeouts& timeouts) {
  return fmt::format("Timeout (tcp tcpfin udp): {} {} {}\n", timeouts.tcp, timeouts.tcp_fin,
                     timeouts.udp);
}

std::string format_save(const RuleSet& rules, bool numeric, bool with_marks) {
  std::string out;
  for (const Service* service : listing_order(rules, true)) out += save_service(*service, numeric);
  if (with_marks) {
    for (const MarkRule& rule : rules.marks) out += save_mark(rule);
  }
  return out;
}

std::string format_marks(const RuleSet& rules) {
  std::string out =
      fmt::format("{:<4} {:<18} {:<11} {}\n", "Prot", "DestinationNet", "DestPorts", "Mark");
  for (const MarkRule& rule : rules.marks) {
    std::string proto(mark_proto_name(rule.proto));
    for (char& c : proto) c = static_cast<char>(c - 'a' + 'A');
    out += fmt::format("{:<4} {:<18} {:<11} {}\n", proto, prefix_text(rule), port_range_text(rule),
                       rule.mark);
  }
  return out;
}

Result<std::string> format_local_addresses(const RuleSet& rules,
                                           const std::optional<ServiceKey>& only) {
  std::string out = fmt::format("{:<20} {:<8} {:<20} {:<10} {:<10}\n", "VIP:VPORT", "TOTAL",
                                "SNAT_IP", "CONFLICTS", "CONNS");
  if (only) {
    const Service* service = rules.find_service(*only);
    if (service == nullptr) return Failure{kExitListing, no_such_service_text()};
    return out + local_addresses_entry(*service);
  }
  for (const Service* service : listing_order(rules, true)) out += local_addresses_entry(*service);
  return out;
}

std::string format_daemons(const std::vector<sync::DaemonConfig>& daemons) {
  std::string out;
  for (const auto& d : daemons) {
    out += std::string(sync::role_name(d.role)) + " sync daemon (mcast=" + d.mcast_ifn +
           ", syncid=" + std::to_string(d.syncid);
    if (d.sync_maxlen) out += ", maxlen=" + std::to_string(d.sync_maxlen);
    if (d.mcast_group) out += ", group=" + d.mcast_group->str();
    if (d.mcast_port) out += ", port=" + std::to_string(d.mcast_port);
    if (d.mcast_ttl) out += ", ttl=" + std::to_string(d.mcast_ttl);
    out += ")\n";
  }
  return out;
}

Result<std::string> format_command(const DirectorState& state, const Command& command) {
  switch (command.op) {
    case Op::List:
      switch (command.list.kind) {
        case ListKind::Connections:
          return format_connections(state, command.list);
        case ListKind::Timeouts:
          return format_timeouts(state.rules.timeouts);
        case ListKind::Daemons:
          return usage_error("-L --daemon asks the daemon, not the rules");
        case ListKind::Services:
          break;
      }
      if (command.service) return format_one_service(state, *command.service, command.list);
      return format_services(state, command.list);
    case Op::Save:
      return format_save(state.rules, command.list.numeric, command.list.marks);
    case Op::ListMarks:
      return format_marks(state.rules);
    case Op::ListLocalAddresses:
      return format_local_addresses(state.rules, command.service);
    default:
      return usage_error("not a listing command");
  }
}

}  // namespace vsd::ctl
