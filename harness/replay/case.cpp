// case.cpp: case.toml read into a Case (every mistake one "FILE:LINE:COL: message" line),
// and a Case written back out.
#include "replay/case.h"

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "replay/readdress.h"
#include "replay/roles.h"
#include "topology/parse.h"

namespace vslab::replay {
namespace {

class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  void add(const toml::node* at, const std::string& message) {
    auto pos = at ? at->source().begin : toml::source_position{1, 1};
    add(pos, message);
  }
  void add(toml::source_position pos, const std::string& message) {
    std::string one_line = message;
    std::replace(one_line.begin(), one_line.end(), '\n', ' ');
    list_.push_back(fmt::format("{}:{}:{}: {}", file_, pos.line ? pos.line : 1,
                                pos.column ? pos.column : 1, one_line));
  }
  void add_plain(const std::string& line) { list_.push_back(line); }
  std::vector<std::string>& list() { return list_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<std::string> list_;
};

// What a loop walks when a key holds the wrong type (the error is reported already). Bound
// by reference: a copy of a toml++ node loses its source position.
const toml::array kNoArray;
const toml::table kNoTable;

const std::set<std::string> kSettable = {
    "eth.src", "eth.dst",  "ip.src",   "ip.dst",       "ip.ttl",       "ip.tos",       "ip.df",
    "ip.id",   "l4.sport", "l4.dport", "inner.ip.src", "inner.ip.dst", "inner.ip.ttl",
};

void reject_unknown(const toml::table& t, std::initializer_list<std::string_view> known,
                    const std::string& where, Errors& errors) {
  for (const auto& [key, node] : t) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    errors.add(&node, fmt::format("unknown key '{}' {} (known: {})", key.str(), where,
                                  fmt::join(known, ", ")));
  }
}

std::optional<std::string> get_string(const toml::table& t, std::string_view key, Errors& errors,
                                      const toml::node* owner = nullptr, bool required = false,
                                      const std::string& owner_name = "case.toml") {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) errors.add(owner, fmt::format("{} needs '{}'", owner_name, key));
    return std::nullopt;
  }
  if (auto s = n->value<std::string>()) return *s;
  errors.add(n, fmt::format("'{}' must be a string", key));
  return std::nullopt;
}

std::optional<int64_t> get_int(const toml::table& t, std::string_view key, Errors& errors,
                               int64_t lo, int64_t hi) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  auto v = n->as_integer();
  if (!v) {
    errors.add(n, fmt::format("'{}' must be an integer", key));
    return std::nullopt;
  }
  if (v->get() < lo || v->get() > hi) {
    errors.add(n, fmt::format("'{}' is {}, outside {}..{}", key, v->get(), lo, hi));
    return std::nullopt;
  }
  return v->get();
}

// A string or an array of strings.
std::optional<std::vector<std::string>> get_strings(const toml::node* n, std::string_view key,
                                                    Errors& errors) {
  if (!n) return std::nullopt;
  if (auto s = n->value<std::string>()) return std::vector<std::string>{*s};
  const auto* a = n->as_array();
  if (!a) {
    errors.add(n, fmt::format("'{}' must be a string or an array of strings", key));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& e : *a) {
    if (auto s = e.value<std::string>())
      out.push_back(*s);
    else
      errors.add(&e, fmt::format("'{}' must hold strings", key));
  }
  return out;
}

// A role, "port", "$var", or a literal of the field's kind.
bool check_address_text(const std::string& field, const std::string& text, const Roles& roles,
                        const std::set<std::string>& variables, const toml::node* at,
                        Errors& errors) {
  if (!is_address_field(field)) return true;
  if (text == "port") return true;
  if (text.size() > 1 && text[0] == '$') {
    if (variables.count(text.substr(1))) return true;
    errors.add(at, fmt::format("variable '{}' is not captured by an earlier [[expect]]", text));
    return false;
  }
  if (auto r = roles.find(text)) {
    if (is_mac_field(field) && r->mac.empty()) {
      errors.add(at, fmt::format("'{}' has no MAC for {}", text, field));
      return false;
    }
    return true;
  }
  bool literal = is_mac_field(field) ? bool(parse_mac(text)) : bool(parse_ipv4(text));
  if (!literal)
    errors.add(at, fmt::format("'{}' for {} is neither a role (client, gateway, vip, lip, "
                               "rs1, node:ifname, port, $variable) nor an address",
                               text, field));
  return literal;
}

std::vector<std::pair<std::string, Value>> parse_set(const toml::node* n, const Roles& roles,
                                                     const std::set<std::string>& variables,
                                                     Errors& errors) {
  std::vector<std::pair<std::string, Value>> out;
  if (!n) return out;
  const auto* t = n->as_table();
  if (!t) {
    errors.add(n, "'set' must be a table of field = value");
    return out;
  }
  for (const auto& [key, value] : *t) {
    std::string field(key.str());
    if (field == "tcp.sport" || field == "udp.sport") field = "l4.sport";  // as the diff says
    if (field == "tcp.dport" || field == "udp.dport") field = "l4.dport";
    if (!kSettable.count(field)) {
      errors.add(&value, fmt::format("'{}' cannot be set (settable: {})", field,
                                     fmt::join(kSettable, ", ")));
      continue;
    }
    if (auto i = value.value_exact<int64_t>()) {
      if (is_address_field(field))
        errors.add(&value, fmt::format("{} needs an address or a role, not a number", field));
      else
        out.emplace_back(field, *i);
    } else if (auto s = value.value<std::string>()) {
      bool numeric_var = s->size() > 1 && (*s)[0] == '$';
      if (!is_address_field(field) && !numeric_var)
        errors.add(&value, fmt::format("{} needs a number", field));
      else if (numeric_var && !variables.count(s->substr(1)))
        errors.add(&value,
                   fmt::format("variable '{}' is not captured by an earlier [[expect]]", *s));
      else if (check_address_text(field, *s, roles, variables, &value, errors))
        out.emplace_back(field, *s);
    } else {
      errors.add(&value, fmt::format("{} must be a number or a string", field));
    }
  }
  return out;
}

std::vector<Mask> parse_masks(const toml::table& t, const Roles& roles,
                              const std::set<std::string>& variables, Errors& errors) {
  std::vector<Mask> masks;
  auto known_field = [&](const std::string& f, const toml::node* at) {
    if (field_by_name(f)) return true;
    errors.add(at, fmt::format("unknown field '{}' (fields as vslab's diff names them: eth.dst, "
                               "ip.ttl, l4.sport, quoted.ip.src ...)",
                               f));
    return false;
  };
  if (const auto* n = t.get("ignore")) {
    if (auto fields = get_strings(n, "ignore", errors))
      for (const auto& f : *fields)
        if (known_field(f, n)) masks.push_back({f, Mask::Kind::Ignore, {}, 0, 0});
  }
  auto table_of = [&](std::string_view key) -> const toml::table* {
    const auto* n = t.get(key);
    if (!n) return nullptr;
    if (const auto* tt = n->as_table()) return tt;
    errors.add(n, fmt::format("'{}' must be a table of field = ...", key));
    return nullptr;
  };
  if (const auto* any = table_of("any_of")) {
    for (const auto& [key, value] : *any) {
      std::string f(key.str());
      auto texts = get_strings(&value, f, errors);
      if (!known_field(f, &value) || !texts) continue;
      if (texts->empty()) {
        errors.add(&value, fmt::format("any_of.{} accepts nothing", f));
        continue;
      }
      bool ok = true;
      for (const auto& x : *texts) ok &= check_address_text(f, x, roles, variables, &value, errors);
      if (ok) masks.push_back({f, Mask::Kind::AnyOf, *texts, 0, 0});
    }
  }
  if (const auto* range = table_of("in_range")) {
    for (const auto& [key, value] : *range) {
      std::string f(key.str());
      if (!known_field(f, &value)) continue;
      const auto* a = value.as_array();
      if (!a || a->size() != 2 || !a->get(0)->is_integer() || !a->get(1)->is_integer()) {
        errors.add(&value, fmt::format("in_range.{} must be [low, high]", f));
        continue;
      }
      int64_t lo = a->get(0)->as_integer()->get(), hi = a->get(1)->as_integer()->get();
      if (lo < 0 || hi < lo) {
        errors.add(&value, fmt::format("in_range.{}: [{}, {}] is empty", f, lo, hi));
        continue;
      }
      masks.push_back({f, Mask::Kind::InRange, {}, uint64_t(lo), uint64_t(hi)});
    }
  }
  if (const auto* text = table_of("text")) {
    for (const auto& [key, value] : *text) {
      std::string f(key.str());
      if (!known_field(f, &value)) continue;
      std::string s;
      if (auto str = value.value<std::string>())
        s = *str;
      else if (auto i = value.value_exact<int64_t>())
        s = std::to_string(*i);
      else {
        errors.add(&value, fmt::format("text.{} must be a string or a number", f));
        continue;
      }
      if (check_address_text(f, s, roles, variables, &value, errors))
        masks.push_back({f, Mask::Kind::Text, {s}, 0, 0});
    }
  }
  return masks;
}

struct PcapFrames {
  std::vector<port::Frame> frames;
  bool ok = false;
};

PcapFrames read_case_pcap(const std::filesystem::path& path, Errors& errors) {
  auto r = port::read_pcap(path.string());
  if (!r.ok()) {
    errors.add_plain(r.error);
    return {};
  }
  return {std::move(r.frames), true};
}

bool timeval_less(const timeval& a, const timeval& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_usec < b.tv_usec;
}

}  // namespace

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
      {"tcp.sport", expect::Field::SrcPort},    {"udp.sport", expect::Field::SrcPort},
      {"tcp.dport", expect::Field::DstPort},    {"udp.dport", expect::Field::DstPort},
      {"tcp.csum", expect::Field::L4Checksum},  {"udp.csum", expect::Field::L4Checksum},
      {"icmp.csum", expect::Field::L4Checksum},
  };
  if (auto it = kDiffNames.find(name); it != kDiffNames.end()) return it->second;
  return std::nullopt;
}

LoadResult parse_case(std::string_view text, const std::filesystem::path& dir,
                      const std::filesystem::path& topologies_dir) {
  LoadResult result;
  Errors errors((dir / "case.toml").string());
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(text, errors.file());
  } catch (const toml::parse_error& e) {
    errors.add(e.source().begin, std::string(e.description()));
    result.errors = std::move(errors.list());
    return result;
  }
#else
  toml::parse_result parsed_toml = toml::parse(text, errors.file());
  if (!parsed_toml) {
    errors.add(parsed_toml.error().source().begin, std::string(parsed_toml.error().description()));
    result.errors = std::move(errors.list());
    return result;
  }
  root = std::move(parsed_toml).table();
#endif
  reject_unknown(root,
                 {"description", "topology", "rules", "rules_file", "timing", "input", "expect",
                  "no_other", "no_other_window_ms", "admin", "patch", "readdress", "quiet_hosts"},
                 "at top level", errors);
  Case c;
  c.dir = dir;
  c.name = std::filesystem::absolute(dir).lexically_normal().filename().string();
  if (c.name.empty()) c.name = std::filesystem::absolute(dir).parent_path().filename().string();

  if (auto d = get_string(root, "description", errors, nullptr, true)) {
    c.description = *d;
    if (c.description.find_first_not_of(" \t\n") == std::string::npos)
      errors.add(root.get("description"), "'description' is empty: say which bug the case guards");
  }
  auto rules = get_string(root, "rules", errors);
  auto rules_file = get_string(root, "rules_file", errors);
  if (rules && rules_file)
    errors.add(root.get("rules_file"), "give 'rules' or 'rules_file', not both");
  if (!rules && !rules_file && !root.get("rules") && !root.get("rules_file"))
    errors.add(nullptr, "case.toml needs 'rules' (ipvsadm save format) or 'rules_file'");
  if (rules) c.rules = *rules;
  if (rules_file) {
    c.rules_file = *rules_file;
    std::ifstream in(dir / *rules_file);
    if (!in) {
      errors.add(root.get("rules_file"),
                 fmt::format("cannot read {}", (dir / *rules_file).string()));
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      c.rules = ss.str();
    }
  }
  if (auto t = get_string(root, "timing", errors)) {
    if (*t == "asap")
      c.timing = Timing::Asap;
    else if (*t == "recorded")
      c.timing = Timing::Recorded;
    else if (*t == "after-expected")
      c.timing = Timing::AfterExpected;
    else
      errors.add(root.get("timing"),
                 fmt::format("timing '{}' is not asap, recorded or after-expected", *t));
  }
  if (const auto* q = root.get("quiet_hosts")) {
    if (auto b = q->value<bool>())
      c.quiet_hosts = *b;
    else
      errors.add(q, "'quiet_hosts' must be true or false");
  }
  if (auto w = get_int(root, "no_other_window_ms", errors, 0, 60000))
    c.no_other_window_ms = int(*w);

  // The topology: everything below names its roles and ports.
  auto topo_name = get_string(root, "topology", errors, nullptr, true);
  if (!topo_name) {
    result.errors = std::move(errors.list());
    return result;
  }
  c.topology = *topo_name;
  auto topo_path = topologies_dir / (*topo_name + ".toml");
  if (!std::filesystem::exists(topo_path)) {
    errors.add(root.get("topology"),
               fmt::format("no topology '{}' ({} does not exist)", *topo_name, topo_path.string()));
    result.errors = std::move(errors.list());
    return result;
  }
  auto parsed = topo::parse_topology_file(topo_path.string());
  if (!parsed.ok()) {
    errors.add(root.get("topology"),
               fmt::format("topology '{}' does not parse: {}", *topo_name, parsed.errors.front()));
    result.errors = std::move(errors.list());
    return result;
  }
  c.topology_model = std::move(*parsed.topology);
  Roles roles(c.topology_model);
  auto known_port = [&](const std::string& p, const toml::node* at) {
    const auto* n = roles.port_node(p);
    if (n && !n->interfaces.empty()) return true;
    errors.add(at, fmt::format("'{}' is no node of topology '{}'", p, c.topology));
    return false;
  };

  // [readdress]: role = { ip = "...", mac = "..." } as the capture has them.
  AddressMap address_map;
  if (const auto* n = root.get("readdress")) {
    const auto* t = n->as_table();
    if (!t) errors.add(n, "[readdress] must be a table of role = { ip = ..., mac = ... }");
    for (const auto& [key, value] : t ? *t : kNoTable) {
      std::string role(key.str());
      auto target = roles.find(role);
      const auto* entry = value.as_table();
      if (!target) {
        errors.add(&value,
                   fmt::format("readdress: '{}' is no role of topology '{}'", role, c.topology));
        continue;
      }
      if (!entry) {
        errors.add(&value, fmt::format("readdress.{} must be {{ ip = ..., mac = ... }}", role));
        continue;
      }
      reject_unknown(*entry, {"ip", "mac"}, "in readdress." + role, errors);
      CaptureAddress a;
      if (auto ip = get_string(*entry, "ip", errors)) {
        a.ip = *ip;
        if (target->ip.empty() || !address_map.add_ip(*ip, target->ip))
          errors.add(entry->get("ip"),
                     fmt::format("readdress.{}.ip '{}' is not an IPv4 address", role, *ip));
      }
      if (auto mac = get_string(*entry, "mac", errors)) {
        a.mac = *mac;
        if (target->mac.empty())
          errors.add(entry->get("mac"), fmt::format("'{}' has no MAC in the topology", role));
        else if (!address_map.add_mac(*mac, target->mac))
          errors.add(
              entry->get("mac"),
              fmt::format("readdress.{}.mac '{}' is not a MAC like 02:00:00:00:00:01", role, *mac));
      }
      if (a.ip.empty() && a.mac.empty())
        errors.add(&value, fmt::format("readdress.{} maps nothing: give ip and/or mac", role));
      c.readdress[role] = a;
    }
  }

  // Inputs: [[input]] port/file, or every in-<port>.pcap of the folder.
  struct Source {
    std::string port;
    std::filesystem::path file;
    const toml::node* at;
  };
  std::vector<Source> sources;
  if (const auto* n = root.get("input")) {
    const auto* a = n->as_array();
    if (!a) errors.add(n, "'input' must be an array of tables ([[input]])");
    for (const auto& e : a ? *a : kNoArray) {
      const auto* t = e.as_table();
      if (!t) {
        errors.add(&e, "[[input]] must be a table");
        continue;
      }
      reject_unknown(*t, {"port", "file"}, "in [[input]]", errors);
      auto port = get_string(*t, "port", errors, &e, true, "[[input]]");
      if (!port || !known_port(*port, t->get("port"))) continue;
      auto file = get_string(*t, "file", errors).value_or("in-" + *port + ".pcap");
      sources.push_back({*port, file, &e});
    }
  } else {
    std::error_code ec;
    std::vector<std::filesystem::path> found;
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
      auto fname = f.path().filename().string();
      if (fname.rfind("in-", 0) == 0 && f.path().extension() == ".pcap") found.push_back(fname);
    }
    std::sort(found.begin(), found.end());
    for (const auto& f : found) {
      auto stem = f.stem().string().substr(3);
      if (known_port(stem, nullptr)) sources.push_back({stem, f, nullptr});
    }
  }
  struct Timed {
    InputFrame in;
    std::size_t source, index;
  };
  std::vector<Timed> timed;
  for (std::size_t s = 0; s < sources.size(); ++s) {
    c.input_files.push_back(sources[s].file.string());
    auto frames = read_case_pcap(dir / sources[s].file, errors);
    for (std::size_t i = 0; i < frames.frames.size(); ++i)
      timed.push_back({{sources[s].port, frames.frames[i]}, s, i});
  }
  // One order across ports: by timestamp, ties in the order the files are listed.
  std::stable_sort(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) {
    return timeval_less(a.in.frame.timestamp, b.in.frame.timestamp);
  });
  for (auto& t : timed) {
    readdress_frame(t.in.frame.bytes, address_map);
    c.inputs.push_back(std::move(t.in));
  }
  if (c.inputs.empty() && errors.list().empty())
    errors.add(root.get("input"),
               "the case has no input frame (no [[input]] and no in-<port>.pcap)");
  const int n_inputs = int(c.inputs.size());

  // Expectations.
  std::set<std::string> variables;
  std::set<std::string> referenced_pcaps;
  std::map<std::string, std::vector<port::Frame>> pcap_cache;
  auto pcap_frames = [&](const std::string& file) -> const std::vector<port::Frame>* {
    if (auto it = pcap_cache.find(file); it != pcap_cache.end()) return &it->second;
    auto r = read_case_pcap(dir / file, errors);
    if (!r.ok) return nullptr;
    for (auto& f : r.frames) readdress_frame(f.bytes, address_map);
    return &(pcap_cache[file] = std::move(r.frames));
  };
  static const std::regex expect_file("expect-(.+)\\.pcap");
  if (const auto* n = root.get("expect")) {
    const auto* a = n->as_array();
    if (!a) errors.add(n, "'expect' must be an array of tables ([[expect]])");
    for (const auto& e : a ? *a : kNoArray) {
      const auto* t = e.as_table();
      if (!t) {
        errors.add(&e, "[[expect]] must be a table");
        continue;
      }
      reject_unknown(*t,
                     {"port", "ports", "after_input", "from_input", "pcap", "frame", "set",
                      "ignore", "any_of", "in_range", "text", "capture", "timeout_ms"},
                     "in [[expect]]", errors);
      Expectation x;
      auto from = get_int(*t, "from_input", errors, 1, std::max(1, n_inputs));
      auto pcap = get_string(*t, "pcap", errors);
      if (from && pcap) errors.add(t->get("pcap"), "give 'from_input' or 'pcap', not both");
      if (!from && !pcap && !t->get("from_input"))
        errors.add(&e, "[[expect]] needs 'from_input' (an input frame, 1-based) or 'pcap'");
      std::optional<std::vector<std::string>> ports;
      if (t->get("port") && t->get("ports"))
        errors.add(t->get("ports"), "give 'port' or 'ports', not both");
      if (const auto* p = t->get("port") ? t->get("port") : t->get("ports"))
        ports = get_strings(p, "ports", errors);
      std::smatch m;
      if (!ports && pcap && std::regex_match(*pcap, m, expect_file))
        ports = std::vector<std::string>{m[1]};
      if (!ports || ports->empty()) {
        errors.add(&e, "[[expect]] needs 'port' or 'ports' (node names)");
        ports = std::vector<std::string>{};
      }
      for (const auto& p : *ports)
        if (known_port(p, t->get("port") ? t->get("port") : t->get("ports"))) x.ports.push_back(p);
      x.after_input = int(get_int(*t, "after_input", errors, 0, n_inputs).value_or(0));
      x.timeout_ms = int(get_int(*t, "timeout_ms", errors, 0, 600000).value_or(5000));
      x.frame = int(get_int(*t, "frame", errors, 1, 1 << 30).value_or(1));
      if (from) {
        x.from_input = int(*from);
        x.base = c.inputs[*from - 1].frame.bytes;
      } else if (pcap) {
        x.pcap = *pcap;
        referenced_pcaps.insert(*pcap);
        if (const auto* frames = pcap_frames(*pcap)) {
          if (x.frame > int(frames->size()))
            errors.add(t->get("frame") ? t->get("frame") : t->get("pcap"),
                       fmt::format("{} has {} frame(s), not {}", *pcap, frames->size(), x.frame));
          else
            x.base = (*frames)[x.frame - 1].bytes;
        }
      }
      x.set = parse_set(t->get("set"), roles, variables, errors);
      x.masks = parse_masks(*t, roles, variables, errors);
      if (const auto* cap = t->get("capture")) {
        const auto* ct = cap->as_table();
        if (!ct) errors.add(cap, "'capture' must be a table of variable = field");
        for (const auto& [var, field] : ct ? *ct : kNoTable) {
          auto f = field.value<std::string>();
          if (!f || !field_by_name(*f)) {
            errors.add(&field,
                       fmt::format("capture.{} must name a field (l4.sport, ...)", var.str()));
            continue;
          }
          x.capture[std::string(var.str())] = *f;
          variables.insert(std::string(var.str()));
        }
      }
      c.expectations.push_back(std::move(x));
    }
  }
  // expect-<port>.pcap that no [[expect]] names: each frame expected as it is, after the last
  // input.
  {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
      auto fname = f.path().filename().string();
      if (std::regex_match(fname, expect_file) && !referenced_pcaps.count(fname))
        found.push_back(fname);
    }
    std::sort(found.begin(), found.end());
    for (const auto& fname : found) {
      std::smatch m;
      std::regex_match(fname, m, expect_file);
      std::string port = m[1];
      if (!known_port(port, nullptr)) continue;
      const auto* frames = pcap_frames(fname);
      for (std::size_t i = 0; frames && i < frames->size(); ++i) {
        Expectation x;
        x.ports = {port};
        x.pcap = fname;
        x.frame = int(i + 1);
        x.base = (*frames)[i].bytes;
        c.expectations.push_back(std::move(x));
      }
    }
  }

  if (const auto* n = root.get("no_other")) {
    if (auto ports = get_strings(n, "no_other", errors)) {
      std::vector<std::string> ok;
      for (const auto& p : *ports)
        if (known_port(p, n)) ok.push_back(p);
      c.no_other = ok;
    }
  }
  if (const auto* n = root.get("admin")) {
    const auto* a = n->as_array();
    if (!a) errors.add(n, "'admin' must be an array of tables ([[admin]])");
    for (const auto& e : a ? *a : kNoArray) {
      const auto* t = e.as_table();
      if (!t) continue;
      reject_unknown(*t, {"before_input", "args"}, "in [[admin]]", errors);
      AdminStep s;
      s.before_input =
          int(get_int(*t, "before_input", errors, 1, std::max(1, n_inputs)).value_or(1));
      auto args = get_strings(t->get("args"), "args", errors);
      if (!args || args->empty())
        errors.add(&e, "[[admin]] needs 'args': one ipvsadm command as an array of strings");
      else
        s.args = *args;
      c.admin.push_back(std::move(s));
    }
  }
  if (const auto* n = root.get("patch")) {
    const auto* a = n->as_array();
    if (!a) errors.add(n, "'patch' must be an array of tables ([[patch]])");
    for (const auto& e : a ? *a : kNoArray) {
      const auto* t = e.as_table();
      if (!t) continue;
      reject_unknown(*t, {"input", "set"}, "in [[patch]]", errors);
      Patch p;
      auto in = get_int(*t, "input", errors, 1, std::max(1, n_inputs));
      if (!in) errors.add(&e, "[[patch]] needs 'input' (an input frame, 1-based)");
      p.input = int(in.value_or(1));
      p.set = parse_set(t->get("set"), roles, variables, errors);
      if (!t->get("set")) errors.add(&e, "[[patch]] needs 'set'");
      c.patches.push_back(std::move(p));
    }
  }
  if (c.expectations.empty() && !root.get("no_other") && errors.list().empty())
    errors.add(nullptr,
               "the case expects nothing: give [[expect]], expect-<port>.pcap or no_other");
  result.errors = std::move(errors.list());
  if (result.errors.empty()) result.value = std::move(c);
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
  for (const auto& a : c.admin)
    toml += fmt::format("\n[[admin]]\nbefore_input = {}\nargs = {}\n", a.before_input,
                        toml_strings(a.args));
  for (const auto& [file, frames] : out) port::write_pcap((dir / file).string(), frames);
  std::ofstream f(dir / "case.toml");
  f << toml;
  f.close();
  if (!f) throw std::runtime_error((dir / "case.toml").string() + ": write failed");
}

}  // namespace vslab::replay
