// case.cpp: case.toml read into a Case (every mistake one "FILE:LINE:COL: message" line, in
// file order), and a Case written back out.
#include "replay/case.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "replay/readdress.h"
#include "replay/roles.h"
#include "toml/reader.h"
#include "topology/parse.h"

namespace vslab::replay {

std::string timing_name(Timing t) {
  switch (t) {
    case Timing::Asap:
      return "asap";
    case Timing::Recorded:
      return "recorded";
    case Timing::AfterExpected:
      return "after-expected";
  }
  return "?";
}

std::optional<expect::Field> field_by_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(expect::Field::Malformed); ++i)
    if (expect::field_name(static_cast<expect::Field>(i)) == name)
      return static_cast<expect::Field>(i);
  // The diff prints L4 rows by protocol ("tcp.sport", "udp.csum"): the same fields.
  static const std::map<std::string, expect::Field> kDiffNames = {
      {"tcp.sport", expect::Field::SrcPort},
      {"udp.sport", expect::Field::SrcPort},
      {"tcp.dport", expect::Field::DstPort},
      {"udp.dport", expect::Field::DstPort},
      {"tcp.csum", expect::Field::L4Checksum},
      {"udp.csum", expect::Field::L4Checksum},
      {"icmp.csum", expect::Field::L4Checksum},
      // IPv6 headers share the IPv4 fields under names of their own (expect/fields.h).
      {"ip6.src", expect::Field::IpSrc},
      {"ip6.dst", expect::Field::IpDst},
      {"ip6.hlim", expect::Field::IpTtl},
      {"ip6.nxt", expect::Field::IpProto},
      {"ip6.tclass", expect::Field::IpTos},
      {"ip6.plen", expect::Field::IpLength},
      {"ip6.frag.id", expect::Field::IpId},
      {"ip6.frag.offset", expect::Field::IpFragOffset},
      {"ip6.frag.m", expect::Field::IpMf},
      {"inner.ip6.src", expect::Field::InnerIpSrc},
      {"inner.ip6.dst", expect::Field::InnerIpDst},
      {"inner.ip6.hlim", expect::Field::InnerIpTtl},
      {"icmp6.type", expect::Field::IcmpType},
      {"icmp6.code", expect::Field::IcmpCode},
      {"icmp6.id", expect::Field::IcmpId},
      {"icmp6.seq", expect::Field::IcmpSeq},
      {"icmp6.mtu", expect::Field::IcmpNextHopMtu},
      {"icmp6.csum", expect::Field::L4Checksum},
      {"quoted.ip6.src", expect::Field::QuotedIpSrc},
      {"quoted.ip6.dst", expect::Field::QuotedIpDst},
      {"quoted.ip6.hlim", expect::Field::QuotedIpTtl},
  };
  if (auto it = kDiffNames.find(name); it != kDiffNames.end()) return it->second;
  return std::nullopt;
}

namespace {

using toml_file::Diagnostics;
using toml_file::Located;
using toml_file::optional_bool;
using toml_file::optional_integer;
using toml_file::optional_string;
using toml_file::optional_table;
using toml_file::Position;
using toml_file::reject_unknown_keys;
using toml_file::required_string;
using toml_file::string_or_strings;
using toml_file::tables_of;

// Where a mistake that belongs to no key is reported (a missing section, a found file).
constexpr Position kTopOfFile{1, 1};

const std::set<std::string> kSettable = {
    "eth.src",
    "eth.dst",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.tos",
    "ip.df",
    "ip.id",
    "l4.sport",
    "l4.dport",
    "inner.ip.src",
    "inner.ip.dst",
    "inner.ip.ttl",
    // IPv6 (an IPv6 expected frame; roles stand for their IPv6 addresses).
    "ip6.src",
    "ip6.dst",
    "ip6.hlim",
    "ip6.tclass",
};

const std::regex kExpectFile("expect-(.+)\\.pcap");

std::vector<std::string> values_of(const std::vector<Located<std::string>>& texts) {
  std::vector<std::string> values;
  for (const auto& text : texts) values.push_back(text.value);
  return values;
}

bool timeval_less(const timeval& a, const timeval& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_usec < b.tv_usec;
}

// Reads case.toml one section at a time, in the order they depend on each other: the topology
// names the roles and ports every later section uses, the inputs number the frames that
// expectations, admin steps and patches refer to, and an [[expect]] captures the variables a
// later one or a [[patch]] uses.
class CaseReader {
 public:
  CaseReader(const toml::table& root, const std::filesystem::path& dir,
             const std::filesystem::path& topologies_dir, Diagnostics& diagnostics)
      : root_(root), dir_(dir), topologies_dir_(topologies_dir), diagnostics_(diagnostics) {}

  // Nothing when the topology cannot be read: every later section needs it.
  std::optional<Case> read() {
    reject_unknown_keys(
        root_,
        {"description", "topology", "rules", "rules_file", "timing", "input", "expect", "no_other",
         "no_other_window_ms", "admin", "patch", "readdress", "quiet_hosts"},
        "at top level", diagnostics_);
    case_.dir = dir_;
    case_.name = std::filesystem::absolute(dir_).lexically_normal().filename().string();
    if (case_.name.empty())
      case_.name = std::filesystem::absolute(dir_).parent_path().filename().string();
    read_description();
    read_rules();
    read_run_settings();
    if (!read_topology()) return std::nullopt;
    read_readdress();
    read_inputs();
    for (const toml::table* table : tables_of(root_, "expect", diagnostics_))
      case_.expectations.push_back(read_expectation(*table));
    read_expect_files();
    read_no_other();
    read_admin();
    read_patches();
    if (case_.expectations.empty() && !root_.contains("no_other") && diagnostics_.empty())
      diagnostics_.add(kTopOfFile,
                       "the case expects nothing: give [[expect]], expect-<port>.pcap or no_other");
    return std::move(case_);
  }

 private:
  void read_description() {
    if (auto description = required_string(root_, "description", "case.toml", diagnostics_)) {
      case_.description = description->value;
      if (case_.description.find_first_not_of(" \t\n") == std::string::npos)
        diagnostics_.add(description->pos, "'description' is empty: say which bug the case guards");
    }
  }

  // rules (the text) or rules_file (a file of the folder), in ipvsadm save format.
  void read_rules() {
    auto rules = optional_string(root_, "rules", diagnostics_);
    auto rules_file = optional_string(root_, "rules_file", diagnostics_);
    if (rules && rules_file)
      diagnostics_.add(rules_file->pos, "give 'rules' or 'rules_file', not both");
    if (!root_.contains("rules") && !root_.contains("rules_file"))
      diagnostics_.add(kTopOfFile, "case.toml needs 'rules' (ipvsadm save format) or 'rules_file'");
    if (rules) case_.rules = rules->value;
    if (!rules_file) return;
    case_.rules_file = rules_file->value;
    std::ifstream in(dir_ / rules_file->value);
    if (!in) {
      diagnostics_.add(rules_file->pos,
                       fmt::format("cannot read {}", (dir_ / rules_file->value).string()));
      return;
    }
    std::stringstream text;
    text << in.rdbuf();
    case_.rules = text.str();
  }

  // timing, quiet_hosts, no_other_window_ms.
  void read_run_settings() {
    if (auto timing = optional_string(root_, "timing", diagnostics_)) {
      if (timing->value == "asap")
        case_.timing = Timing::Asap;
      else if (timing->value == "recorded")
        case_.timing = Timing::Recorded;
      else if (timing->value == "after-expected")
        case_.timing = Timing::AfterExpected;
      else
        diagnostics_.add(
            timing->pos,
            fmt::format("timing '{}' is not asap, recorded or after-expected", timing->value));
    }
    if (auto quiet = optional_bool(root_, "quiet_hosts", diagnostics_))
      case_.quiet_hosts = quiet->value;
    if (auto window = optional_integer(root_, "no_other_window_ms", 0, 60000, diagnostics_))
      case_.no_other_window_ms = int(window->value);
  }

  bool read_topology() {
    auto name = required_string(root_, "topology", "case.toml", diagnostics_);
    if (!name) return false;
    case_.topology = name->value;
    auto path = topologies_dir_ / (name->value + ".toml");
    if (!std::filesystem::exists(path)) {
      diagnostics_.add(name->pos, fmt::format("no topology '{}' ({} does not exist)", name->value,
                                              path.string()));
      return false;
    }
    auto parsed = topo::parse_topology_file(path.string());
    if (!parsed.ok()) {
      diagnostics_.add(name->pos, fmt::format("topology '{}' does not parse: {}", name->value,
                                              parsed.errors.front()));
      return false;
    }
    case_.topology_model = std::move(*parsed.topology);
    roles_.emplace(case_.topology_model);
    return true;
  }

  bool known_port(const std::string& port, Position at) {
    const auto* node = roles_->port_node(port);
    if (node && !node->interfaces.empty()) return true;
    diagnostics_.add(at, fmt::format("'{}' is no node of topology '{}'", port, case_.topology));
    return false;
  }

  // [readdress]: role = { ip = "...", mac = "..." } as the capture has them.
  void read_readdress() {
    const toml::table* table =
        optional_table(root_, "readdress", diagnostics_, "role = { ip = ..., mac = ... }");
    if (!table) return;
    for (auto&& [key, value] : *table) {
      std::string role(key.str());
      auto target = roles_->find(role);
      const auto* entry = value.as_table();
      if (!target) {
        diagnostics_.add(&value, fmt::format("readdress: '{}' is no role of topology '{}'", role,
                                             case_.topology));
        continue;
      }
      if (!entry) {
        diagnostics_.add(&value,
                         fmt::format("readdress.{} must be {{ ip = ..., mac = ... }}", role));
        continue;
      }
      reject_unknown_keys(*entry, {"ip", "mac"}, "in readdress." + role, diagnostics_);
      CaptureAddress address;
      if (auto ip = optional_string(*entry, "ip", diagnostics_)) {
        address.ip = ip->value;
        if (target->ip.empty() || !address_map_.add_ip(ip->value, target->ip))
          diagnostics_.add(
              ip->pos, fmt::format("readdress.{}.ip '{}' is not an IPv4 address", role, ip->value));
      }
      if (auto mac = optional_string(*entry, "mac", diagnostics_)) {
        address.mac = mac->value;
        if (target->mac.empty())
          diagnostics_.add(mac->pos, fmt::format("'{}' has no MAC in the topology", role));
        else if (!address_map_.add_mac(mac->value, target->mac))
          diagnostics_.add(mac->pos,
                           fmt::format("readdress.{}.mac '{}' is not a MAC like 02:00:00:00:00:01",
                                       role, mac->value));
      }
      if (address.ip.empty() && address.mac.empty())
        diagnostics_.add(&value,
                         fmt::format("readdress.{} maps nothing: give ip and/or mac", role));
      case_.readdress[role] = address;
    }
  }

  std::optional<std::vector<port::Frame>> read_case_pcap(const std::string& file) {
    auto read = port::read_pcap((dir_ / file).string());
    if (!read.ok()) {
      diagnostics_.add_line(read.error);
      return std::nullopt;
    }
    return std::move(read.frames);
  }

  // Inputs: [[input]] port/file, or every in-<port>.pcap of the folder; one order across
  // ports, by timestamp, ties in the order the files are listed.
  void read_inputs() {
    struct Source {
      std::string port;
      std::string file;
    };
    std::vector<Source> sources;
    if (root_.contains("input")) {
      for (const toml::table* table : tables_of(root_, "input", diagnostics_)) {
        reject_unknown_keys(*table, {"port", "file"}, "in [[input]]", diagnostics_);
        auto port = required_string(*table, "port", "[[input]]", diagnostics_);
        if (!port || !known_port(port->value, port->pos)) continue;
        auto file = optional_string(*table, "file", diagnostics_);
        sources.push_back({port->value, file ? file->value : "in-" + port->value + ".pcap"});
      }
    } else {
      std::error_code ec;
      std::vector<std::filesystem::path> found;
      for (const auto& f : std::filesystem::directory_iterator(dir_, ec)) {
        auto name = f.path().filename().string();
        if (name.rfind("in-", 0) == 0 && f.path().extension() == ".pcap") found.push_back(name);
      }
      std::sort(found.begin(), found.end());
      for (const auto& f : found) {
        auto port = f.stem().string().substr(3);
        if (known_port(port, kTopOfFile)) sources.push_back({port, f.string()});
      }
    }
    std::vector<InputFrame> inputs;
    for (const Source& source : sources) {
      case_.input_files.push_back(source.file);
      for (port::Frame& frame : read_case_pcap(source.file).value_or(std::vector<port::Frame>{}))
        inputs.push_back({source.port, std::move(frame)});
    }
    std::stable_sort(inputs.begin(), inputs.end(), [](const InputFrame& a, const InputFrame& b) {
      return timeval_less(a.frame.timestamp, b.frame.timestamp);
    });
    for (InputFrame& in : inputs) {
      readdress_frame(in.frame.bytes, address_map_);
      case_.inputs.push_back(std::move(in));
    }
    if (case_.inputs.empty() && diagnostics_.empty())
      diagnostics_.add(root_.get("input"),
                       "the case has no input frame (no [[input]] and no in-<port>.pcap)");
    input_count_ = int(case_.inputs.size());
  }

  // A pcap of the folder, read once and readdressed as the inputs are.
  const std::vector<port::Frame>* pcap_frames(const std::string& file) {
    if (auto it = pcap_cache_.find(file); it != pcap_cache_.end()) return &it->second;
    auto frames = read_case_pcap(file);
    if (!frames) return nullptr;
    for (auto& f : *frames) readdress_frame(f.bytes, address_map_);
    return &(pcap_cache_[file] = std::move(*frames));
  }

  int integer_or(const toml::table& table, std::string_view key, int64_t low, int64_t high,
                 int absent) {
    auto value = optional_integer(table, key, low, high, diagnostics_);
    return value ? int(value->value) : absent;
  }

  Expectation read_expectation(const toml::table& table) {
    reject_unknown_keys(table,
                        {"port", "ports", "after_input", "from_input", "pcap", "frame", "set",
                         "ignore", "any_of", "in_range", "text", "capture", "timeout_ms"},
                        "in [[expect]]", diagnostics_);
    Expectation x;
    auto from = optional_integer(table, "from_input", 1, std::max(1, input_count_), diagnostics_);
    auto pcap = optional_string(table, "pcap", diagnostics_);
    if (from && pcap) diagnostics_.add(pcap->pos, "give 'from_input' or 'pcap', not both");
    if (!from && !pcap && !table.contains("from_input"))
      diagnostics_.add(&table, "[[expect]] needs 'from_input' (an input frame, 1-based) or 'pcap'");
    x.ports = read_expected_ports(table, pcap ? &pcap->value : nullptr);
    x.after_input = integer_or(table, "after_input", 0, input_count_, 0);
    x.timeout_ms = integer_or(table, "timeout_ms", 0, 600000, 5000);
    x.frame = integer_or(table, "frame", 1, 1 << 30, 1);
    if (from && from->value <= input_count_) {
      x.from_input = int(from->value);
      x.base = case_.inputs[from->value - 1].frame.bytes;
    } else if (pcap) {
      x.pcap = pcap->value;
      referenced_pcaps_.insert(pcap->value);
      if (const auto* frames = pcap_frames(pcap->value)) {
        if (x.frame > int(frames->size()))
          diagnostics_.add(
              table.contains("frame") ? table.get("frame") : table.get("pcap"),
              fmt::format("{} has {} frame(s), not {}", pcap->value, frames->size(), x.frame));
        else
          x.base = (*frames)[x.frame - 1].bytes;
      }
    }
    x.set = read_set(table);
    x.masks = read_masks(table);
    if (const toml::table* capture =
            optional_table(table, "capture", diagnostics_, "variable = field")) {
      for (auto&& [variable, field] : *capture) {
        auto name = field.value<std::string>();
        if (!name || !field_by_name(*name)) {
          diagnostics_.add(
              &field, fmt::format("capture.{} must name a field (l4.sport, ...)", variable.str()));
          continue;
        }
        x.capture[std::string(variable.str())] = *name;
        variables_.insert(std::string(variable.str()));
      }
    }
    return x;
  }

  // port or ports; without either, the port an expect-<port>.pcap names.
  std::vector<std::string> read_expected_ports(const toml::table& table, const std::string* pcap) {
    if (table.contains("port") && table.contains("ports"))
      diagnostics_.add(table.get("ports"), "give 'port' or 'ports', not both");
    const std::string_view key = table.contains("port") ? "port" : "ports";
    std::optional<std::vector<Located<std::string>>> ports =
        string_or_strings(table.get(key), key, diagnostics_);
    std::smatch m;
    if (!ports && pcap && std::regex_match(*pcap, m, kExpectFile))
      ports = std::vector<Located<std::string>>{{m[1], table.get("pcap")->source().begin}};
    if (!ports || ports->empty()) {
      diagnostics_.add(&table, "[[expect]] needs 'port' or 'ports' (node names)");
      return {};
    }
    std::vector<std::string> known;
    for (const auto& port : *ports)
      if (known_port(port.value, port.pos)) known.push_back(port.value);
    return known;
  }

  // A role, "port", "$var", or a literal of the field's kind.
  bool check_address_text(const std::string& field, const std::string& text, Position at) {
    if (!is_address_field(field)) return true;
    if (text == "port") return true;
    if (text.size() > 1 && text[0] == '$') {
      if (variables_.count(text.substr(1))) return true;
      diagnostics_.add(at,
                       fmt::format("variable '{}' is not captured by an earlier [[expect]]", text));
      return false;
    }
    if (auto r = roles_->find(text)) {
      if (is_mac_field(field) && r->mac.empty()) {
        diagnostics_.add(at, fmt::format("'{}' has no MAC for {}", text, field));
        return false;
      }
      return true;
    }
    in6_addr ipv6{};
    const bool v6_literal = inet_pton(AF_INET6, text.c_str(), &ipv6) == 1;
    // quoted.ip.src/dst name the quoted header of an ICMP or an ICMPv6 error alike.
    const bool either_family = field.rfind("quoted.ip.", 0) == 0;
    bool literal = is_mac_field(field)    ? bool(parse_mac(text))
                   : is_ipv6_field(field) ? v6_literal
                                          : bool(parse_ipv4(text)) || (either_family && v6_literal);
    if (!literal)
      diagnostics_.add(at, fmt::format("'{}' for {} is neither a role (client, gateway, vip, "
                                       "lip, rs1, node:ifname, port, $variable) nor an address",
                                       text, field));
    return literal;
  }

  // set = { field = value }: edits of the expected frame ([[expect]]) or an input ([[patch]]).
  std::vector<std::pair<std::string, Value>> read_set(const toml::table& owner) {
    std::vector<std::pair<std::string, Value>> edits;
    const toml::table* table = optional_table(owner, "set", diagnostics_, "field = value");
    if (!table) return edits;
    for (auto&& [key, value] : *table) {
      std::string field(key.str());
      if (field == "tcp.sport" || field == "udp.sport") field = "l4.sport";  // as the diff says
      if (field == "tcp.dport" || field == "udp.dport") field = "l4.dport";
      if (!kSettable.count(field)) {
        diagnostics_.add(&value, fmt::format("'{}' cannot be set (settable: {})", field,
                                             fmt::join(kSettable, ", ")));
        continue;
      }
      if (auto number = value.value_exact<int64_t>()) {
        if (is_address_field(field))
          diagnostics_.add(&value,
                           fmt::format("{} needs an address or a role, not a number", field));
        else
          edits.emplace_back(field, *number);
      } else if (auto text = value.value<std::string>()) {
        bool numeric_var = text->size() > 1 && (*text)[0] == '$';
        if (!is_address_field(field) && !numeric_var)
          diagnostics_.add(&value, fmt::format("{} needs a number", field));
        else if (numeric_var && !variables_.count(text->substr(1)))
          diagnostics_.add(
              &value, fmt::format("variable '{}' is not captured by an earlier [[expect]]", *text));
        else if (check_address_text(field, *text, value.source().begin))
          edits.emplace_back(field, *text);
      } else {
        diagnostics_.add(&value, fmt::format("{} must be a number or a string", field));
      }
    }
    return edits;
  }

  bool known_field(const std::string& field, Position at) {
    if (field_by_name(field)) return true;
    diagnostics_.add(at, fmt::format("unknown field '{}' (fields as vslab's diff names them: "
                                     "eth.dst, ip.ttl, l4.sport, quoted.ip.src ...)",
                                     field));
    return false;
  }

  // ignore, any_of, in_range, text: what of the expected frame is not compared exactly.
  std::vector<Mask> read_masks(const toml::table& table) {
    std::vector<Mask> masks;
    if (auto fields = string_or_strings(table.get("ignore"), "ignore", diagnostics_))
      for (const auto& field : *fields)
        if (known_field(field.value, field.pos))
          masks.push_back({field.value, Mask::Kind::Ignore, {}, 0, 0});
    if (const auto* any = optional_table(table, "any_of", diagnostics_, "field = ...")) {
      for (auto&& [key, value] : *any) {
        std::string field(key.str());
        const Position at = value.source().begin;
        auto texts = string_or_strings(&value, field, diagnostics_);
        if (!known_field(field, at) || !texts) continue;
        if (texts->empty()) {
          diagnostics_.add(at, fmt::format("any_of.{} accepts nothing", field));
          continue;
        }
        bool ok = true;
        for (const auto& text : *texts) ok &= check_address_text(field, text.value, at);
        if (ok) masks.push_back({field, Mask::Kind::AnyOf, values_of(*texts), 0, 0});
      }
    }
    if (const auto* range = optional_table(table, "in_range", diagnostics_, "field = ...")) {
      for (auto&& [key, value] : *range) {
        std::string field(key.str());
        if (!known_field(field, value.source().begin)) continue;
        const auto* bounds = value.as_array();
        if (!bounds || bounds->size() != 2 || !bounds->get(0)->is_integer() ||
            !bounds->get(1)->is_integer()) {
          diagnostics_.add(&value, fmt::format("in_range.{} must be [low, high]", field));
          continue;
        }
        int64_t lo = bounds->get(0)->as_integer()->get(), hi = bounds->get(1)->as_integer()->get();
        if (lo < 0 || hi < lo) {
          diagnostics_.add(&value, fmt::format("in_range.{}: [{}, {}] is empty", field, lo, hi));
          continue;
        }
        masks.push_back({field, Mask::Kind::InRange, {}, uint64_t(lo), uint64_t(hi)});
      }
    }
    if (const auto* text = optional_table(table, "text", diagnostics_, "field = ...")) {
      for (auto&& [key, value] : *text) {
        std::string field(key.str());
        if (!known_field(field, value.source().begin)) continue;
        std::string s;
        if (auto str = value.value<std::string>())
          s = *str;
        else if (auto i = value.value_exact<int64_t>())
          s = std::to_string(*i);
        else {
          diagnostics_.add(&value, fmt::format("text.{} must be a string or a number", field));
          continue;
        }
        if (check_address_text(field, s, value.source().begin))
          masks.push_back({field, Mask::Kind::Text, {s}, 0, 0});
      }
    }
    return masks;
  }

  // expect-<port>.pcap that no [[expect]] names: each frame expected as it is, after the last
  // input.
  void read_expect_files() {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& f : std::filesystem::directory_iterator(dir_, ec)) {
      auto name = f.path().filename().string();
      if (std::regex_match(name, kExpectFile) && !referenced_pcaps_.count(name))
        found.push_back(name);
    }
    std::sort(found.begin(), found.end());
    for (const auto& name : found) {
      std::smatch m;
      std::regex_match(name, m, kExpectFile);
      std::string port = m[1];
      if (!known_port(port, kTopOfFile)) continue;
      const auto* frames = pcap_frames(name);
      for (std::size_t i = 0; frames && i < frames->size(); ++i) {
        Expectation x;
        x.ports = {port};
        x.pcap = name;
        x.frame = int(i + 1);
        x.base = (*frames)[i].bytes;
        case_.expectations.push_back(std::move(x));
      }
    }
  }

  void read_no_other() {
    if (auto ports = string_or_strings(root_.get("no_other"), "no_other", diagnostics_)) {
      std::vector<std::string> known;
      for (const auto& port : *ports)
        if (known_port(port.value, port.pos)) known.push_back(port.value);
      case_.no_other = known;
    }
  }

  void read_admin() {
    for (const toml::table* table : tables_of(root_, "admin", diagnostics_)) {
      reject_unknown_keys(*table, {"before_input", "args", "until_unlisted"}, "in [[admin]]",
                          diagnostics_);
      AdminStep step;
      // One past the last input: after every input (a journal's step after its last frame).
      step.before_input = integer_or(*table, "before_input", 1, input_count_ + 1, 1);
      auto args = string_or_strings(table->get("args"), "args", diagnostics_);
      if (!args || args->empty())
        diagnostics_.add(table,
                         "[[admin]] needs 'args': one ipvsadm command as an array of strings");
      else
        step.args = values_of(*args);
      if (table->contains("until_unlisted")) {
        auto words =
            string_or_strings(table->get("until_unlisted"), "until_unlisted", diagnostics_);
        if (words && !words->empty())
          step.until_unlisted = values_of(*words);
        else if (words)
          diagnostics_.add(table, "'until_unlisted' needs at least one word");
      }
      case_.admin.push_back(std::move(step));
    }
  }

  void read_patches() {
    for (const toml::table* table : tables_of(root_, "patch", diagnostics_)) {
      reject_unknown_keys(*table, {"input", "set"}, "in [[patch]]", diagnostics_);
      Patch patch;
      auto input = optional_integer(*table, "input", 1, std::max(1, input_count_), diagnostics_);
      if (!input) diagnostics_.add(table, "[[patch]] needs 'input' (an input frame, 1-based)");
      patch.input = input ? int(input->value) : 1;
      patch.set = read_set(*table);
      if (!table->contains("set")) diagnostics_.add(table, "[[patch]] needs 'set'");
      case_.patches.push_back(std::move(patch));
    }
  }

  const toml::table& root_;
  const std::filesystem::path& dir_;
  const std::filesystem::path& topologies_dir_;
  Diagnostics& diagnostics_;
  Case case_;
  std::optional<Roles> roles_;  // of case_.topology_model, once read
  AddressMap address_map_;      // [readdress], applied to every frame read
  int input_count_ = 0;
  std::set<std::string> variables_;  // captured by the [[expect]] read so far
  std::set<std::string> referenced_pcaps_;
  std::map<std::string, std::vector<port::Frame>> pcap_cache_;
};

}  // namespace

LoadResult parse_case(std::string_view text, const std::filesystem::path& dir,
                      const std::filesystem::path& topologies_dir) {
  Diagnostics diagnostics((dir / "case.toml").string());
  std::optional<Case> read;
  if (auto root = toml_file::parse(text, diagnostics))
    read = CaseReader(*root, dir, topologies_dir, diagnostics).read();
  LoadResult result;
  result.errors = diagnostics.in_file_order();
  if (result.errors.empty()) result.value = std::move(read);
  return result;
}

LoadResult load_case(const std::filesystem::path& dir,
                     const std::filesystem::path& topologies_dir) {
  auto file = dir / "case.toml";
  std::ifstream in(file);
  if (!std::filesystem::is_directory(dir)) {
    LoadResult r;
    r.errors.push_back(dir.string() + ": no such case folder");
    return r;
  }
  if (!in) {
    LoadResult r;
    r.errors.push_back(file.string() + ": cannot read (a case folder holds case.toml)");
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_case(ss.str(), dir, topologies_dir);
}

namespace {

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (ch == '\n')
      out.append("\\n");
    else if (static_cast<unsigned char>(ch) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(ch));
    else
      out += ch;
  }
  out.push_back('"');
  return out;
}

std::string toml_strings(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (const auto& s : v) q.push_back(toml_string(s));
  return fmt::format("[{}]", fmt::join(q, ", "));
}

}  // namespace

void write_case(const std::filesystem::path& dir, const CaseToWrite& c) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir.string() + ": " + ec.message());
  // A case read from this folder takes every in-*.pcap and every expect-*.pcap its file does
  // not name as part of it: those an earlier case left here must go first.
  std::vector<std::filesystem::path> stale;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = f.path().filename().string();
    if (f.path().extension() == ".pcap" &&
        (name.rfind("in-", 0) == 0 || std::regex_match(name, kExpectFile)))
      stale.push_back(f.path());
  }
  for (const auto& f : stale) std::filesystem::remove(f, ec);
  // Inputs: one pcap per port; timestamps 1 ms apart keep the order across ports.
  std::map<std::string, std::vector<port::Frame>> in, out;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    port::Frame f{c.inputs[i].frame.bytes, {1, static_cast<suseconds_t>(i * 1000)}};
    if (c.timing == Timing::Recorded) f.timestamp = c.inputs[i].frame.timestamp;
    in[c.inputs[i].port].push_back(std::move(f));
  }
  std::string toml;
  toml += "description = " + toml_string(c.description) + "\n";
  toml += "topology = " + toml_string(c.topology) + "\n";
  std::string rules = c.rules;
  if (!rules.empty() && rules.back() != '\n') rules += "\n";
  std::string escaped;
  for (char ch : rules) {
    if (ch == '\\' || ch == '"') escaped.push_back('\\');
    escaped.push_back(ch);
  }
  toml += "rules = \"\"\"\n" + escaped + "\"\"\"\n";
  toml += "timing = " + toml_string(timing_name(c.timing)) + "\n";
  if (c.no_other) toml += "no_other = " + toml_strings(*c.no_other) + "\n";
  if (!c.quiet_hosts) toml += "quiet_hosts = false\n";
  for (const auto& [port, frames] : in) {
    toml += fmt::format("\n[[input]]\nport = {}\nfile = {}\n", toml_string(port),
                        toml_string("in-" + port + ".pcap"));
    port::write_pcap((dir / ("in-" + port + ".pcap")).string(), frames);
  }
  for (const auto& x : c.expected) {
    if (x.ports.empty()) throw std::invalid_argument("write_case: an expected frame has no port");
    auto file = "expect-" + x.ports.front() + ".pcap";
    out[file].push_back({x.frame, {1, 0}});
    toml += fmt::format("\n[[expect]]\nports = {}\npcap = {}\nframe = {}\n", toml_strings(x.ports),
                        toml_string(file), out[file].size());
    if (x.after_input) toml += fmt::format("after_input = {}\n", x.after_input);
    if (x.timeout_ms != 5000) toml += fmt::format("timeout_ms = {}\n", x.timeout_ms);
    std::vector<std::string> ignore, any, range, text;
    for (const auto& m : x.masks) {
      switch (m.kind) {
        case Mask::Kind::Ignore:
          ignore.push_back(m.field);
          break;
        case Mask::Kind::AnyOf:
          any.push_back(toml_string(m.field) + " = " + toml_strings(m.values));
          break;
        case Mask::Kind::InRange:
          range.push_back(fmt::format("{} = [{}, {}]", toml_string(m.field), m.lo, m.hi));
          break;
        case Mask::Kind::Text:
          text.push_back(toml_string(m.field) + " = " + toml_string(m.values.at(0)));
          break;
      }
    }
    if (!ignore.empty()) toml += "ignore = " + toml_strings(ignore) + "\n";
    if (!any.empty()) toml += fmt::format("any_of = {{ {} }}\n", fmt::join(any, ", "));
    if (!range.empty()) toml += fmt::format("in_range = {{ {} }}\n", fmt::join(range, ", "));
    if (!text.empty()) toml += fmt::format("text = {{ {} }}\n", fmt::join(text, ", "));
    std::vector<std::string> capture;
    for (const auto& [var, field] : x.capture)
      capture.push_back(fmt::format("{} = {}", var, toml_string(field)));
    if (!capture.empty()) toml += fmt::format("capture = {{ {} }}\n", fmt::join(capture, ", "));
  }
  for (const auto& p : c.patches) {
    std::vector<std::string> set;
    for (const auto& [field, value] : p.set)
      set.push_back(toml_string(field) + " = " +
                    (std::holds_alternative<int64_t>(value)
                         ? std::to_string(std::get<int64_t>(value))
                         : toml_string(std::get<std::string>(value))));
    toml += fmt::format("\n[[patch]]\ninput = {}\nset = {{ {} }}\n", p.input, fmt::join(set, ", "));
  }
  for (const auto& a : c.admin) {
    toml += fmt::format("\n[[admin]]\nbefore_input = {}\nargs = {}\n", a.before_input,
                        toml_strings(a.args));
    if (!a.until_unlisted.empty())
      toml += fmt::format("until_unlisted = {}\n", toml_strings(a.until_unlisted));
  }
  for (const auto& [file, frames] : out) port::write_pcap((dir / file).string(), frames);
  std::ofstream f(dir / "case.toml");
  f << toml;
  f.close();
  if (!f) throw std::runtime_error((dir / "case.toml").string() + ": write failed");
}

}  // namespace vslab::replay
