// parse.cpp: topology TOML -> Topology. Each kind of table is read and checked by one
// function; links, bridges and reach are resolved once every node is known. Errors carry their
// position and are sorted at the end (toml/reader.h), so the user sees them in file order
// whatever order the checks ran in.
#include "topology/parse.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "toml/reader.h"

namespace vslab::topo {
namespace {

// ---------------------------------------------------------------------------------------------
// Errors and positions: the harness's TOML reading, and the model's positions

using toml_file::Diagnostics;
using toml_file::for_each_string;
using toml_file::Located;
using toml_file::optional_bool;
using toml_file::optional_integer;
using toml_file::optional_string;
using toml_file::optional_table;
using toml_file::reject_unknown_keys;
using toml_file::required_string;
using toml_file::tables_of;

SourcePos pos_of(toml::source_position pos) {
  return {static_cast<int>(pos.line), static_cast<int>(pos.column)};
}
SourcePos pos_of(const toml::source_region& region) {
  return pos_of(region.begin);
}

bool comes_before(SourcePos x, SourcePos y) {
  return std::tie(x.line, x.column) < std::tie(y.line, y.column);
}

// A value, or why there is none.
template <typename T>
struct Result {
  std::optional<T> value;
  std::string problem;

  static Result ok(T v) { return {std::move(v), {}}; }
  static Result fail(std::string why) { return {std::nullopt, std::move(why)}; }
};

// Remembers the line each name was first defined at, to report later duplicates against it.
class FirstDefinitions {
 public:
  // The line `name` was defined at before, if it was; otherwise records `pos` as its first.
  std::optional<int> earlier_line(const std::string& name, SourcePos pos) {
    auto [it, inserted] = lines_.try_emplace(name, pos.line);
    if (inserted) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, int> lines_;
};

// "node 'client'", or just "node" while the name is unknown.
std::string described(std::string_view kind, std::string_view name) {
  if (name.empty()) return std::string(kind);
  return fmt::format("{} '{}'", kind, name);
}

// ---------------------------------------------------------------------------------------------
// Names

// A node name is a network namespace name: a file under /var/run/netns and an argument to
// `ip netns exec`, so it stays within what every tool takes unquoted.
constexpr std::size_t kMaxNodeName = 32;
// IFNAMSIZ is 16 and includes the terminating NUL.
constexpr std::size_t kMaxNetdevName = 15;

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_node_name_char(char c) {
  return is_ascii_alnum(c) || c == '_' || c == '-';
}
bool is_netdev_name_char(char c) {
  return is_node_name_char(c) || c == '.';
}

// Shows a byte so that a space or a control character is visible in a message.
std::string quoted_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("'\\x{:02x}'", byte);
}

std::optional<std::string> node_name_problem(std::string_view name) {
  if (name.empty()) return "node name is empty";
  if (name.size() > kMaxNodeName)
    return fmt::format("node name '{}' is {} bytes; at most {} are allowed", name, name.size(),
                       kMaxNodeName);
  for (char c : name)
    if (!is_node_name_char(c))
      return fmt::format("node name '{}' has a character iproute2 would reject: {}", name,
                         quoted_char(c));
  return std::nullopt;
}

// dev_valid_name() in net/core/dev.c, narrowed by what iproute2 parses as separators ('/',
// ':', whitespace). `kind` is "interface" or "bridge": both become Linux network devices.
std::optional<std::string> netdev_name_problem(std::string_view name, std::string_view kind) {
  if (name.empty()) return fmt::format("{} name is empty", kind);
  if (name.size() > kMaxNetdevName)
    return fmt::format("{} name '{}' is {} bytes; Linux allows at most {}", kind, name, name.size(),
                       kMaxNetdevName);
  if (name == "." || name == "..")
    return fmt::format("{} name '{}' is not allowed by Linux", kind, name);
  for (char c : name)
    if (!is_netdev_name_char(c))
      return fmt::format("{} name '{}' has a character iproute2 would reject: {}", kind, name,
                         quoted_char(c));
  return std::nullopt;
}

// Every namespace already has "lo"; a second device of that name cannot be created.
std::optional<std::string> topology_netdev_name_problem(std::string_view name,
                                                        std::string_view kind) {
  if (auto problem = netdev_name_problem(name, kind)) return problem;
  if (name == "lo") return fmt::format("{} name 'lo' is reserved for the loopback device", kind);
  return std::nullopt;
}

bool is_sysctl_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

std::optional<std::string> sysctl_name_problem(std::string_view name) {
  for (char c : name)
    if (!is_sysctl_name_char(c))
      return fmt::format("sysctl name '{}' has a character sysctl names do not use: {}", name,
                         quoted_char(c));
  if (name.find('.') == std::string_view::npos)
    return fmt::format("sysctl name '{}' has no dot; write the full name, e.g. net.ipv4.ip_forward",
                       name);
  // Dots become '/' under /proc/sys, so an empty part would name no file.
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos)
    return fmt::format("sysctl name '{}' has an empty part between dots", name);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Addresses

struct Address {
  bool is_v6 = false;
  std::string text;  // canonical (inet_ntop)
};

// inet_pton takes only the strict forms (no leading zeros in IPv4, no zone in IPv6), and
// inet_ntop gives the one canonical spelling, so "FD00::0001" and "fd00::1" compare equal.
std::optional<Address> parse_address(std::string_view text) {
  // inet_pton stops at a NUL, which a TOML string may contain ("\u0000").
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string terminated(text);
  unsigned char bytes[sizeof(in6_addr)];
  char canonical[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, terminated.c_str(), bytes) == 1 &&
        inet_ntop(family, bytes, canonical, sizeof canonical) != nullptr)
      return Address{family == AF_INET6, canonical};
  }
  return std::nullopt;
}

Result<Cidr> parse_cidr(std::string_view text) {
  using R = Result<Cidr>;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return R::fail(
        fmt::format("'{}' has no prefix length; write address/prefix, e.g. 10.1.0.2/24", text));
  const std::string_view address_text = text.substr(0, slash);
  const std::string_view prefix_text = text.substr(slash + 1);
  const auto address = parse_address(address_text);
  if (!address)
    return R::fail(fmt::format("'{}': '{}' is not an IPv4 or IPv6 address", text, address_text));

  const bool digits_only =
      !prefix_text.empty() && std::all_of(prefix_text.begin(), prefix_text.end(),
                                          [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only)
    return R::fail(fmt::format("'{}': prefix length '{}' is not a number", text, prefix_text));
  const int max_prefix = address->is_v6 ? 128 : 32;
  int prefix = 0;
  const auto [end, error] =
      std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (error != std::errc{} || prefix > max_prefix)
    return R::fail(fmt::format("'{}': prefix length {} is more than {} for {}", text, prefix_text,
                               max_prefix, address->is_v6 ? "IPv6" : "IPv4"));
  return R::ok(Cidr{address->is_v6, address->text, prefix});
}

// The network a CIDR lies in: its address with the host bits cleared.
Cidr network_of(const Cidr& cidr) {
  const int family = cidr.is_v6 ? AF_INET6 : AF_INET;
  unsigned char bytes[sizeof(in6_addr)] = {};
  inet_pton(family, cidr.address.c_str(), bytes);
  const int total_bits = cidr.is_v6 ? 128 : 32;
  for (int bit = cidr.prefix; bit < total_bits; ++bit)
    bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  char canonical[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes, canonical, sizeof canonical);
  return Cidr{cidr.is_v6, canonical, cidr.prefix};
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Only "xx:xx:xx:xx:xx:xx", the form `ip link` prints, so files and captures compare as text.
Result<std::string> parse_mac(std::string_view text) {
  using R = Result<std::string>;
  const auto bad_form = [&] {
    return R::fail(fmt::format("MAC address '{}' is not of the form xx:xx:xx:xx:xx:xx", text));
  };
  if (text.size() != 17) return bad_form();
  std::string lower;
  bool all_zero = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool is_separator_position = i % 3 == 2;
    if (is_separator_position ? c != ':' : hex_digit_value(c) < 0) return bad_form();
    if (!is_separator_position && c != '0') all_zero = false;
    lower.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  // is_valid_ether_addr() in the kernel refuses multicast and all-zero addresses.
  const int first_octet = hex_digit_value(text[0]) * 16 + hex_digit_value(text[1]);
  if (first_octet & 1)
    return R::fail(fmt::format(
        "MAC address '{}' is multicast (low bit of the first octet set); use a unicast one, "
        "e.g. 02:00:00:00:00:01",
        text));
  if (all_zero) return R::fail(fmt::format("MAC address '{}' is all zeros", text));
  return R::ok(lower);
}

// ---------------------------------------------------------------------------------------------
// The topology

constexpr std::string_view kTopLevelKeys[] = {"name",   "description", "node", "link",
                                              "bridge", "reach",       "lvs"};
constexpr std::string_view kNodeKeys[] = {"name",    "role",     "routes",
                                          "sysctls", "loopback", "interface"};
constexpr std::string_view kInterfaceKeys[] = {"name", "addresses", "mac", "mtu", "offloads"};
constexpr std::string_view kOffloadKeys[] = {"tx_checksum", "rx_checksum", "tso", "gso", "gro"};
constexpr std::string_view kRouteKeys[] = {"to", "via", "nexthops", "dev"};
constexpr std::string_view kLinkKeys[] = {"a", "b"};
constexpr std::string_view kBridgeKeys[] = {"name", "ports"};
constexpr std::string_view kReachKeys[] = {"from", "to"};
constexpr std::string_view kLvsKeys[] = {"mode", "vip", "local_addresses", "vip6",
                                         "local_addresses6"};
constexpr std::string_view kLvsModes[] = {"nat", "dr", "tun", "fullnat"};

// ETH_MIN_MTU and ETH_MAX_MTU, the range veth accepts.
constexpr int kMinMtu = 68;
constexpr int kMaxMtu = 65535;
// Below this, Linux turns IPv6 off on the device (RFC 8200, section 5).
constexpr int kMinIpv6Mtu = 1280;

struct EndpointUse {
  Endpoint endpoint;
  SourcePos pos;
};

struct SysctlEntry {
  std::string name;  // dotted keys joined back: net.ipv4.ip_forward
  const toml::node* value;
  SourcePos pos;  // of the last key part, which is where file order comes from
};

class TopologyReader {
 public:
  explicit TopologyReader(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  Topology read(const toml::table& root) {
    reject_unknown_keys(root, kTopLevelKeys, "at top level", diagnostics_);
    if (auto name = required_string(root, "name", "topology", diagnostics_))
      topology_.name = name->value;
    if (auto description = optional_string(root, "description", diagnostics_))
      topology_.description = description->value;
    // Nodes first whatever the file order: links, bridges and reach refer to them.
    for (const toml::table* t : tables_of(root, "node", diagnostics_)) read_node(*t);
    for (const toml::table* t : tables_of(root, "link", diagnostics_)) read_link(*t);
    for (const toml::table* t : tables_of(root, "bridge", diagnostics_)) read_bridge(*t);
    check_endpoints_used_once();
    check_every_interface_connected();
    for (const toml::table* t : tables_of(root, "reach", diagnostics_)) read_reach(*t);
    if (const toml::table* lvs = optional_table(root, "lvs", diagnostics_)) read_lvs(*lvs);
    return std::move(topology_);
  }

 private:
  void error(toml_file::Position pos, std::string message) {
    diagnostics_.add(pos, std::move(message));
  }
  void error(SourcePos pos, std::string message) {
    error(toml_file::Position{static_cast<toml::source_index>(pos.line),
                              static_cast<toml::source_index>(pos.column)},
          std::move(message));
  }

  std::optional<Cidr> read_cidr(const Located<std::string>& text) {
    Result<Cidr> cidr = parse_cidr(text.value);
    if (!cidr.value) error(text.pos, cidr.problem);
    return cidr.value;
  }

  void read_node(const toml::table& table) {
    Node node;
    node.pos = pos_of(table.source());
    if (auto name = required_string(table, "name", "node", diagnostics_)) {
      node.name = name->value;
      if (auto problem = node_name_problem(node.name))
        error(name->pos, *problem);
      else if (auto line = node_names_.earlier_line(node.name, pos_of(name->pos)))
        error(name->pos,
              fmt::format("duplicate node name '{}' (first defined at line {})", node.name, *line));
    }
    const std::string where = described("node", node.name);
    reject_unknown_keys(table, kNodeKeys, "in " + where, diagnostics_);

    if (auto role = optional_string(table, "role", diagnostics_)) {
      node.role = role->value;
      // Suites find "the director" by role, so a role names one node.
      if (!node.role.empty())
        if (auto line = roles_.earlier_line(node.role, pos_of(role->pos)))
          error(role->pos,
                fmt::format("duplicate role '{}' (first used at line {})", node.role, *line));
    }
    // Interfaces before routes: a route's dev must name one of them.
    FirstDefinitions interface_names;
    for (const toml::table* t : tables_of(table, "interface", diagnostics_))
      node.interfaces.push_back(read_interface(*t, node.name, interface_names));
    for (const toml::table* t : tables_of(table, "routes", diagnostics_))
      node.routes.push_back(read_route(*t, node));
    for_each_string(table, "loopback", diagnostics_, [&](const Located<std::string>& text) {
      if (auto cidr = read_cidr(text)) node.loopback_addresses.push_back(*cidr);
    });
    if (const toml::table* sysctls = optional_table(table, "sysctls", diagnostics_))
      node.sysctls = read_sysctls(*sysctls);
    topology_.nodes.push_back(std::move(node));
  }

  Interface read_interface(const toml::table& table, const std::string& node_name,
                           FirstDefinitions& interface_names) {
    Interface iface;
    iface.pos = pos_of(table.source());
    const std::string node_described = described("node", node_name);
    if (auto name =
            required_string(table, "name", "interface of " + node_described, diagnostics_)) {
      iface.name = name->value;
      if (auto problem = topology_netdev_name_problem(iface.name, "interface"))
        error(name->pos, *problem);
      else if (auto line = interface_names.earlier_line(iface.name, pos_of(name->pos)))
        error(name->pos,
              fmt::format("duplicate interface name '{}' in {} (first defined at line {})",
                          iface.name, node_described, *line));
    }
    const std::string where = described("interface", iface.name) + " of " + node_described;
    reject_unknown_keys(table, kInterfaceKeys, "in " + where, diagnostics_);

    for_each_string(table, "addresses", diagnostics_, [&](const Located<std::string>& text) {
      if (auto cidr = read_cidr(text)) iface.addresses.push_back(*cidr);
    });
    if (auto mac_text = optional_string(table, "mac", diagnostics_)) {
      Result<std::string> mac = parse_mac(mac_text->value);
      if (mac.value)
        iface.mac = *mac.value;
      else
        error(mac_text->pos, mac.problem);
    }
    if (auto mtu = optional_integer(table, "mtu", kMinMtu, kMaxMtu, diagnostics_))
      read_mtu(*mtu, iface, where);
    if (const toml::table* offloads = optional_table(table, "offloads", diagnostics_))
      iface.offloads = read_offloads(*offloads, "in offloads of " + where);
    return iface;
  }

  // Needs the addresses read first: IPv6 sets a higher floor.
  void read_mtu(const Located<int64_t>& mtu, Interface& iface, const std::string& where) {
    iface.mtu = static_cast<int>(mtu.value);
    const bool has_ipv6 = std::any_of(iface.addresses.begin(), iface.addresses.end(),
                                      [](const Cidr& c) { return c.is_v6; });
    if (has_ipv6 && iface.mtu < kMinIpv6Mtu)
      error(mtu.pos, fmt::format("{} has IPv6 addresses but 'mtu' {}; Linux turns IPv6 off "
                                 "below {}",
                                 where, iface.mtu, kMinIpv6Mtu));
  }

  Offloads read_offloads(const toml::table& table, const std::string& where) {
    reject_unknown_keys(table, kOffloadKeys, where, diagnostics_);
    Offloads offloads;
    const std::pair<std::string_view, bool*> flags[] = {
        {"tx_checksum", &offloads.tx_checksum},
        {"rx_checksum", &offloads.rx_checksum},
        {"tso", &offloads.tso},
        {"gso", &offloads.gso},
        {"gro", &offloads.gro},
    };
    for (const auto& [key, flag] : flags)
      if (auto value = optional_bool(table, key, diagnostics_)) *flag = value->value;
    return offloads;
  }

  Route read_route(const toml::table& table, const Node& node) {
    Route route;
    route.pos = pos_of(table.source());
    const std::string where = "route of " + described("node", node.name);
    reject_unknown_keys(table, kRouteKeys, "in " + where, diagnostics_);
    const auto to = required_string(table, "to", where, diagnostics_);
    const auto via_text = optional_string(table, "via", diagnostics_);
    const auto dev = optional_string(table, "dev", diagnostics_);
    if (!table.contains("via") && !table.contains("dev") && !table.contains("nexthops"))
      error(route.pos, fmt::format("{} needs 'via', 'nexthops' or 'dev'", where));
    if (table.contains("via") && table.contains("nexthops"))
      error(route.pos, fmt::format("{} has both 'via' and 'nexthops'; give one", where));
    const auto nexthops = read_nexthops(table, where);

    std::optional<Address> via;
    if (via_text) {
      via = parse_address(via_text->value);
      if (via)
        route.via = via->text;
      else
        error(via_text->pos,
              fmt::format("'via' '{}' is not an IPv4 or IPv6 address", via_text->value));
    }
    if (dev) {
      route.dev = dev->value;
      if (dev->value != "lo" && node.find_interface(dev->value) == nullptr)
        error(dev->pos, fmt::format("'dev' '{}' is not an interface of {}", dev->value,
                                    described("node", node.name)));
    }
    for (const auto& hop : nexthops) route.nexthops.push_back(hop.address.text);
    if (!to) return route;
    if (to->value == "default") {
      route.to = "default";
      route.is_v6 = via ? via->is_v6 : !nexthops.empty() && nexthops.front().address.is_v6;
      for (const auto& hop : nexthops)
        if (hop.address.is_v6 != route.is_v6)
          error(hop.pos, fmt::format("next hop '{}' is not of the first next hop's family",
                                     hop.address.text));
      return route;
    }
    const auto destination = read_cidr(*to);
    if (!destination) return route;
    route.to = destination->str();
    route.is_v6 = destination->is_v6;
    // The kernel refuses an IPv4 route whose destination has host bits set ("Invalid prefix
    // for given prefix length") and silently masks an IPv6 one; either way it is a typo.
    const Cidr network = network_of(*destination);
    if (network != *destination)
      error(to->pos, fmt::format("route destination '{}' has host bits set; the network is '{}'",
                                 destination->str(), network.str()));
    if (via && via->is_v6 != route.is_v6)
      error(via_text->pos,
            fmt::format("gateway '{}' is {} but the destination '{}' is {}", via->text,
                        via->is_v6 ? "IPv6" : "IPv4", route.to, route.is_v6 ? "IPv6" : "IPv4"));
    for (const auto& hop : nexthops)
      if (hop.address.is_v6 != route.is_v6)
        error(hop.pos, fmt::format("next hop '{}' is {} but the destination '{}' is {}",
                                   hop.address.text, hop.address.is_v6 ? "IPv6" : "IPv4", route.to,
                                   route.is_v6 ? "IPv6" : "IPv4"));
    return route;
  }

  struct NextHop {
    Address address;
    toml_file::Position pos;
  };

  // `nexthops`: two or more distinct gateways (one is `via`'s job).
  std::vector<NextHop> read_nexthops(const toml::table& table, const std::string& where) {
    std::vector<NextHop> hops;
    const auto texts = optional_strings(table, "nexthops", diagnostics_);
    if (!texts) return hops;
    if (texts->size() < 2)
      error(pos_of(table.source()),
            fmt::format("'nexthops' of the {} has {} gateway(s); a multipath route needs two "
                        "or more ('via' names one)",
                        where, texts->size()));
    for (const auto& text : *texts) {
      const auto address = parse_address(text.value);
      if (!address) {
        error(text.pos, fmt::format("next hop '{}' is not an IPv4 or IPv6 address", text.value));
        continue;
      }
      for (const auto& earlier : hops)
        if (earlier.address.text == address->text)
          error(text.pos, fmt::format("next hop '{}' is named twice", text.value));
      hops.push_back({*address, text.pos});
    }
    return hops;
  }

  // An unquoted key (net.ipv4.ip_forward = 1) is a TOML dotted key, i.e. nested tables; it
  // means the same as the quoted one, so both are accepted.
  static void collect_sysctls(const toml::table& table, const std::string& prefix,
                              std::vector<SysctlEntry>& entries) {
    for (auto&& [key, value] : table) {
      std::string name =
          prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      if (const toml::table* nested = value.as_table())
        collect_sysctls(*nested, name, entries);
      else
        entries.push_back({std::move(name), &value, pos_of(key.source())});
    }
  }

  // toml::table is a sorted map; the order sysctls are applied in is the file's.
  std::vector<std::pair<std::string, std::string>> read_sysctls(const toml::table& table) {
    std::vector<SysctlEntry> entries;
    collect_sysctls(table, "", entries);
    std::stable_sort(
        entries.begin(), entries.end(),
        [](const SysctlEntry& x, const SysctlEntry& y) { return comes_before(x.pos, y.pos); });
    std::vector<std::pair<std::string, std::string>> sysctls;
    FirstDefinitions names;
    for (const SysctlEntry& entry : entries) {
      if (auto problem = sysctl_name_problem(entry.name))
        error(entry.pos, *problem);
      else if (auto line = names.earlier_line(entry.name, entry.pos))
        error(entry.pos,
              fmt::format("sysctl '{}' is set twice (first set at line {})", entry.name, *line));
      if (auto value = sysctl_value_text(*entry.value))
        sysctls.emplace_back(entry.name, *value);
      else
        error(pos_of(entry.value->source()),
              fmt::format("sysctl '{}' must be a string, integer or boolean", entry.name));
    }
    return sysctls;
  }

  // What `sysctl -w` would be given.
  static std::optional<std::string> sysctl_value_text(const toml::node& value) {
    if (const auto* text = value.as_string()) return text->get();
    if (const auto* number = value.as_integer()) return std::to_string(number->get());
    if (const auto* flag = value.as_boolean()) return flag->get() ? "1" : "0";
    return std::nullopt;
  }

  // "node:ifname" naming a declared interface, or nothing (after reporting why).
  std::optional<Endpoint> resolve_endpoint(const Located<std::string>& text) {
    const std::string& s = text.value;
    const auto colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() ||
        s.find(':', colon + 1) != std::string::npos) {
      error(text.pos, fmt::format("malformed endpoint '{}': expected node:interface", s));
      return std::nullopt;
    }
    Endpoint endpoint{s.substr(0, colon), s.substr(colon + 1)};
    const Node* node = topology_.find_node(endpoint.node);
    if (node == nullptr) {
      error(text.pos, fmt::format("endpoint '{}' names unknown node '{}'", s, endpoint.node));
      return std::nullopt;
    }
    if (node->find_interface(endpoint.ifname) == nullptr) {
      error(text.pos, fmt::format("endpoint '{}': node '{}' has no interface '{}'", s,
                                  endpoint.node, endpoint.ifname));
      return std::nullopt;
    }
    return endpoint;
  }

  void read_link(const toml::table& table) {
    Link link;
    link.pos = pos_of(table.source());
    reject_unknown_keys(table, kLinkKeys, "in link", diagnostics_);
    const auto a_text = required_string(table, "a", "link", diagnostics_);
    const auto b_text = required_string(table, "b", "link", diagnostics_);
    const auto a = a_text ? resolve_endpoint(*a_text) : std::nullopt;
    const auto b = b_text ? resolve_endpoint(*b_text) : std::nullopt;
    if (a) {
      link.a = *a;
      endpoint_uses_.push_back({*a, pos_of(a_text->pos)});
    }
    if (a && b && *a == *b) {
      // Recorded once: "used twice" would repeat this error.
      error(b_text->pos, fmt::format("link connects '{}' to itself", b->str()));
    } else if (b) {
      link.b = *b;
      endpoint_uses_.push_back({*b, pos_of(b_text->pos)});
    }
    topology_.links.push_back(std::move(link));
  }

  void read_bridge(const toml::table& table) {
    Bridge bridge;
    bridge.pos = pos_of(table.source());
    if (auto name = required_string(table, "name", "bridge", diagnostics_)) {
      bridge.name = name->value;
      if (auto problem = topology_netdev_name_problem(bridge.name, "bridge"))
        error(name->pos, *problem);
      else if (auto line = bridge_names_.earlier_line(bridge.name, pos_of(name->pos)))
        error(name->pos, fmt::format("duplicate bridge name '{}' (first defined at line {})",
                                     bridge.name, *line));
    }
    const std::string where = described("bridge", bridge.name);
    reject_unknown_keys(table, kBridgeKeys, "in " + where, diagnostics_);
    for_each_string(table, "ports", diagnostics_, [&](const Located<std::string>& text) {
      if (auto port = resolve_endpoint(text)) {
        bridge.ports.push_back(*port);
        endpoint_uses_.push_back({*port, pos_of(text.pos)});
      }
    });
    const toml::node* ports = table.get("ports");
    if (ports == nullptr || ports->is_array()) {
      const std::size_t count = ports ? ports->as_array()->size() : 0;
      if (count < 2)
        error(bridge.pos, fmt::format("{} has {} port{}; a bridge needs at least 2", where, count,
                                      count == 1 ? "" : "s"));
    }
    topology_.bridges.push_back(std::move(bridge));
  }

  // Each endpoint is one veth end; a second use would need a second device of that name.
  void check_endpoints_used_once() {
    std::vector<EndpointUse> uses = endpoint_uses_;
    std::stable_sort(uses.begin(), uses.end(), [](const EndpointUse& x, const EndpointUse& y) {
      return comes_before(x.pos, y.pos);
    });
    FirstDefinitions first_uses;
    for (const EndpointUse& use : uses)
      if (auto line = first_uses.earlier_line(use.endpoint.str(), use.pos))
        error(use.pos, fmt::format("endpoint '{}' is used twice (first used at line {})",
                                   use.endpoint.str(), *line));
  }

  // An interface nothing plugs in would be created without a peer: a half-wired topology.
  void check_every_interface_connected() {
    std::set<std::string> connected;
    for (const EndpointUse& use : endpoint_uses_) connected.insert(use.endpoint.str());
    for (const Node& node : topology_.nodes) {
      // Unnamed nodes and interfaces and duplicate nodes are reported already, and endpoints
      // cannot name them.
      if (node.name.empty() || topology_.find_node(node.name) != &node) continue;
      for (const Interface& iface : node.interfaces)
        if (!iface.name.empty() && !connected.contains(Endpoint{node.name, iface.name}.str()))
          error(iface.pos,
                fmt::format("interface '{}' of node '{}' is not connected to any link or bridge",
                            iface.name, node.name));
    }
  }

  void read_reach(const toml::table& table) {
    Reachability reach;
    reach.pos = pos_of(table.source());
    reject_unknown_keys(table, kReachKeys, "in reach", diagnostics_);
    if (auto from = required_string(table, "from", "reach", diagnostics_)) {
      reach.from = from->value;
      if (topology_.find_node(reach.from) == nullptr)
        error(from->pos, fmt::format("reach from unknown node '{}'", reach.from));
    }
    if (auto to = required_string(table, "to", "reach", diagnostics_)) {
      if (auto address = parse_address(to->value))
        reach.to = address->text;
      else
        error(to->pos, fmt::format("reach 'to' '{}' is not an IPv4 or IPv6 address", to->value));
    }
    topology_.reachability.push_back(std::move(reach));
  }

  void read_lvs(const toml::table& table) {
    reject_unknown_keys(table, kLvsKeys, "in lvs", diagnostics_);
    LvsInfo& lvs = topology_.lvs;
    if (auto mode = optional_string(table, "mode", diagnostics_)) {
      if (std::find(std::begin(kLvsModes), std::end(kLvsModes), mode->value) == std::end(kLvsModes))
        error(mode->pos,
              fmt::format("unknown lvs mode '{}'; expected nat, dr, tun or fullnat", mode->value));
      lvs.mode = mode->value;
    }
    if (auto vip = optional_string(table, "vip", diagnostics_)) lvs.vip = read_ipv4(*vip, "'vip'");
    for_each_string(table, "local_addresses", diagnostics_, [&](const Located<std::string>& text) {
      if (auto address = read_ipv4(text, "local address")) lvs.local_addresses.push_back(*address);
    });
    if (auto vip = optional_string(table, "vip6", diagnostics_))
      lvs.vip6 = read_address(*vip, "'vip6'", true);
    for_each_string(table, "local_addresses6", diagnostics_, [&](const Located<std::string>& text) {
      if (auto address = read_address(text, "IPv6 local address", true))
        lvs.local_addresses6.push_back(*address);
    });
  }

  std::optional<std::string> read_ipv4(const Located<std::string>& text, std::string_view what) {
    return read_address(text, what, false);
  }

  std::optional<std::string> read_address(const Located<std::string>& text, std::string_view what,
                                          bool is_v6) {
    const auto address = parse_address(text.value);
    if (address && address->is_v6 == is_v6) return address->text;
    error(text.pos,
          fmt::format("{} '{}' is not an {} address", what, text.value, is_v6 ? "IPv6" : "IPv4"));
    return std::nullopt;
  }

  Diagnostics& diagnostics_;
  Topology topology_;
  FirstDefinitions node_names_;
  FirstDefinitions roles_;
  FirstDefinitions bridge_names_;
  std::vector<EndpointUse> endpoint_uses_;  // link ends and bridge ports that resolved
};

}  // namespace

ParseResult parse_topology(std::string_view text, const std::string& source_name) {
  Diagnostics diagnostics(source_name);
  std::optional<Topology> topology;
  if (auto document = toml_file::parse(text, diagnostics)) {
    topology = TopologyReader(diagnostics).read(*document);
    topology->source_file = source_name;
  }
  ParseResult result;
  result.errors = diagnostics.in_file_order();
  if (result.errors.empty()) result.topology = std::move(topology);
  return result;
}

ParseResult parse_topology_file(const std::string& path) {
  toml_file::FileText file = toml_file::read_text_file(path);
  if (!file.text) return ParseResult{std::nullopt, {file.error}};
  return parse_topology(*file.text, path);
}

bool is_valid_node_name(std::string_view name) {
  return !node_name_problem(name);
}

bool is_valid_interface_name(std::string_view name) {
  return !netdev_name_problem(name, "interface");
}

}  // namespace vslab::topo
