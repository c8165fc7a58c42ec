// diff.cpp: A's run written as a case (case_of_run), replayed on B, the first mismatch printed
// as "port frame k: field A=.. B=..".
#include "replay/diff.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "dut/kinds.h"
#include "expect/fields.h"

namespace vslab::replay {
namespace {

using expect::Field;

// The dissected fields of a frame by Field (the first occurrence).
class Fields {
 public:
  explicit Fields(std::span<const uint8_t> frame) {
    for (auto& e : expect::dissect(frame)) by_field_.emplace(e.field, std::move(e.value));
  }
  bool has(Field f) const { return by_field_.count(f) != 0; }
  std::optional<uint64_t> number(Field f) const {
    auto it = by_field_.find(f);
    return it == by_field_.end() ? std::nullopt : it->second.number;
  }
  std::string text(Field f) const {
    auto it = by_field_.find(f);
    return it == by_field_.end() ? std::string() : it->second.text;
  }

 private:
  std::map<Field, expect::FieldValue> by_field_;
};

Mask ignore(Field f) {
  Mask m;
  m.field = expect::field_name(f);
  return m;
}

bool is_real_server(const std::string& port, const topo::Topology& t) {
  const auto* node = t.find_node(port);
  if (!node) node = t.find_role(port);
  return node && node->role.rfind("rs", 0) == 0;
}

using port::before_or_same;

// A FULLNAT lport as A chose it, and the variable the case captures it in.
struct LocalPort {
  std::string port;  // the real server that received it
  std::string lip;
  uint64_t lport = 0;
  int expectation = 0;  // 1-based
  std::string variable;
};

std::string table(const std::vector<expect::FieldCheck>& rows, const std::string& a,
                  const std::string& b) {
  std::size_t w0 = 5, w1 = a.size();
  for (const auto& r : rows) {
    w0 = std::max(w0, r.name.size());
    w1 = std::max(w1, r.expected.size());
  }
  std::string out = fmt::format("    {:<{}}  {:<{}}  {}\n", "field", w0, a, w1, b);
  for (const auto& r : rows)
    out += fmt::format("  {} {:<{}}  {:<{}}  {}\n", r.ok ? ' ' : '!', r.name, w0, r.expected, w1,
                       r.captured);
  return out;
}

std::string differing(const std::vector<expect::FieldCheck>& rows) {
  std::vector<std::string> parts;
  for (const auto& r : rows)
    if (!r.ok) parts.push_back(fmt::format("{} A={} B={}", r.name, r.expected, r.captured));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// "l4 10.10.0.2:20001 -> 10.20.0.100:1024 (tcp.flags SYN)": what a frame is, in brief.
std::string brief_frame(const std::vector<expect::FieldCheck>& rows) {
  std::map<std::string, std::string> v;
  for (const auto& r : rows) v[r.name] = r.captured;
  std::string out = v["ip.src"] + " -> " + v["ip.dst"];
  if (v.count("l4.sport"))
    out = v["ip.src"] + ":" + v["l4.sport"] + " -> " + v["ip.dst"] + ":" + v["l4.dport"];
  if (v.count("tcp.flags")) out += " " + v["tcp.flags"];
  if (v.count("icmp.type")) out += " icmp type " + v["icmp.type"];
  return out;
}

DiffResult result(DiffResult::Kind kind, std::string line, std::string report = "") {
  DiffResult r;
  r.kind = kind;
  r.line = std::move(line);
  r.report = std::move(report);
  return r;
}

}  // namespace

std::vector<Mask> unspecified_fields(std::span<const uint8_t> frame, const std::string& port,
                                     const topo::Topology& topology) {
  std::vector<Mask> masks;
  Fields f(frame);
  const auto proto = f.number(Field::IpProto);
  if (proto == 1u && !f.has(Field::InnerIpSrc)) {
    masks.push_back(ignore(Field::IpId));
    masks.push_back(ignore(Field::IpDf));
    const auto type = f.number(Field::IcmpType);
    if (type == 3u || type == 11u || type == 12u) masks.push_back(ignore(Field::Payload));
  }
  if (proto == 4u && f.number(Field::IpDf) == 0u) masks.push_back(ignore(Field::IpId));
  // An IPv6 fragment header reaching a host came from the director's ip6_fragment (it forwards
  // only whole datagrams), whose identification is its own (ipv6_select_ident).
  if (f.has(Field::IpFlowLabel) && f.has(Field::IpId)) masks.push_back(ignore(Field::IpId));
  const auto& lips = topology.lvs.local_addresses;
  if (f.has(Field::SrcPort) && is_real_server(port, topology) &&
      std::find(lips.begin(), lips.end(), f.text(Field::IpSrc)) != lips.end()) {
    Mask m;
    m.field = expect::field_name(Field::SrcPort);
    m.kind = Mask::Kind::InRange;
    m.lo = 1024;
    m.hi = 65535;
    masks.push_back(m);
  }
  return masks;
}

CaseToWrite case_of_run(const Observed& a, const topo::Topology& topology,
                        const std::string& description) {
  CaseToWrite c;
  c.description = description;
  c.topology = a.topology;
  c.rules = a.rules;
  c.timing = Timing::AfterExpected;
  c.inputs = a.sent;
  c.admin = a.admin;
  c.quiet_hosts = a.quiet_hosts;
  std::vector<LocalPort> lports;
  // A label none of the hosts sent is one the director chose (an automatic flow label, a keyed
  // hash: docs/ipvs.md section 3): B's must be non-zero too, and the frames A gave one label
  // must carry one label from B. A label a host sent is compared as it is.
  std::set<uint64_t> sent_labels;
  for (const auto& in : a.sent)
    if (auto label = Fields(in.frame.bytes).number(Field::IpFlowLabel)) sent_labels.insert(*label);
  std::map<uint64_t, std::string> label_variables;  // A's label -> where B's is captured
  for (const auto& got : a.received) {
    CaseToWrite::Expected x;
    x.ports = {got.port};
    x.frame = got.frame.bytes;
    // Checked once the inputs sent before it arrived have gone out.
    x.after_input = int(std::count_if(c.inputs.begin(), c.inputs.end(), [&](const InputFrame& in) {
      return before_or_same(in.frame.timestamp, got.frame.timestamp);
    }));
    if (x.after_input == 0) x.after_input = 1;
    x.masks = unspecified_fields(got.frame.bytes, got.port, topology);
    x.timeout_ms = 2000;
    if (auto label = Fields(got.frame.bytes).number(Field::IpFlowLabel);
        label && *label != 0 && sent_labels.count(*label) == 0) {
      const auto [at, first] =
          label_variables.try_emplace(*label, fmt::format("flow{}", label_variables.size() + 1));
      Mask m;
      m.field = expect::field_name(Field::IpFlowLabel);
      if (first) {
        m.kind = Mask::Kind::InRange;
        m.lo = 1;
        m.hi = 0xfffff;
        x.capture[at->second] = m.field;
      } else {
        m.kind = Mask::Kind::Text;
        m.values = {"$" + at->second};
      }
      x.masks.push_back(m);
    }
    const bool lport_masked = std::any_of(x.masks.begin(), x.masks.end(), [](const Mask& m) {
      return m.field == expect::field_name(Field::SrcPort);
    });
    if (lport_masked) {
      Fields f(got.frame.bytes);
      LocalPort lp{got.port, f.text(Field::IpSrc), f.number(Field::SrcPort).value_or(0),
                   int(c.expected.size() + 1), fmt::format("lport{}", lports.size() + 1)};
      x.capture[lp.variable] = expect::field_name(Field::SrcPort);
      lports.push_back(lp);
    }
    c.expected.push_back(std::move(x));
  }
  // The real server answers the lport it saw: on B, the one B chose.
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    const int number = int(i + 1);
    Fields f(c.inputs[i].frame.bytes);
    for (const auto& lp : lports) {
      if (lp.port != c.inputs[i].port || f.text(Field::IpDst) != lp.lip ||
          f.number(Field::DstPort) != lp.lport ||
          c.expected[std::size_t(lp.expectation - 1)].after_input >= number)
        continue;
      c.patches.push_back({number, {{expect::field_name(Field::DstPort), "$" + lp.variable}}});
      break;
    }
  }
  return c;
}

DiffResult diff_against(const std::string& id, const Observed& a, const topo::Topology& topology,
                        const DiffPlaces& places, const dut::DutSpec& b, const std::string& a_name,
                        const std::string& b_name, const std::string& note,
                        ReplaySession* b_session) {
  std::error_code ec;
  auto tidy = [&](DiffResult r) {
    if (r.kind != DiffResult::Kind::Diff) std::filesystem::remove_all(places.dir, ec);
    return r;
  };
  if (a.sent.empty())
    return tidy(
        result(DiffResult::Kind::Skip, fmt::format("SKIP {}: A sent nothing to compare", id)));
  const auto a_dir = places.dir / "A";
  CaseToWrite c = case_of_run(
      a, topology,
      fmt::format(
          "Written by `vslab diff` for {}: the inputs are what the hosts sent against the {} DUT "
          "(A), the expectations exactly what they received, but for the fields two correct "
          "directors may set differently (conformance/README.md, \"What vslab diff ignores\"). "
          "Replayed on another DUT it passes when that DUT delivers the same frames.",
          id, a_name));
  std::optional<LoadResult> loaded;
  try {
    std::filesystem::remove_all(places.dir, ec);
    write_case(a_dir, c);
    loaded = load_case(a_dir, places.topologies_dir);
  } catch (const std::exception& e) {
    return tidy(result(DiffResult::Kind::Error, fmt::format("ERROR {}: {}", id, e.what())));
  }
  if (!loaded->ok())
    return tidy(result(DiffResult::Kind::Error,
                       fmt::format("ERROR {}: A's run does not load as a case: {}", id,
                                   loaded->errors.empty() ? "?" : loaded->errors.front())));
  Case on_b = *loaded->value;
  // B's failure folder: places.dir/B (assigned as a char: g++ 12's -Wrestrict misfires on a
  // short literal here at -O3).
  on_b.name.assign(1, 'B');
  ReplayOptions options;
  options.dut = b;
  options.pcap_dir = places.dir;
  auto outcome = b_session ? b_session->run(on_b, options) : replay_case(on_b, options);
  const auto prefix = "FAIL B: ";
  switch (outcome.kind) {
    case ReplayOutcome::Kind::Pass:
      return tidy(result(DiffResult::Kind::Same, "SAME " + id));
    case ReplayOutcome::Kind::Skip: {
      auto r = result(DiffResult::Kind::Skip,
                      fmt::format("SKIP {}: B ({}): {}", id, b_name,
                                  outcome.line.substr(std::string("SKIP B: ").size())));
      r.b_unavailable = outcome.dut_unavailable;
      return tidy(r);
    }
    case ReplayOutcome::Kind::Error:
      return tidy(result(DiffResult::Kind::Error,
                         fmt::format("ERROR {}: B ({}): {}", id, b_name,
                                     outcome.line.substr(std::string("ERROR B: ").size()))));
    case ReplayOutcome::Kind::Fail:
      break;
  }
  std::string report;
  std::string line;
  const auto again = fmt::format("again: vslab replay {} {}\n", a_dir.string(), dut::dut_flags(b));
  if (!outcome.mismatch) {
    // Not a frame: B refused the rules or an admin step that A took.
    line = fmt::format("DIFF {}: {}", id, outcome.line.substr(std::string(prefix).size()));
    report = outcome.report + again;
  } else {
    const auto& m = *outcome.mismatch;
    if (m.expectation == 0) {
      line = fmt::format("DIFF {}: {}: B delivered a frame A did not: {}", id, m.port,
                         brief_frame(m.fields));
      report = fmt::format("  {} received from B a frame that A did not deliver:\n{}", m.port,
                           table(m.fields, "A (" + a_name + ")", "B (" + b_name + ")"));
      report += fmt::format("  pcaps: A: {}/expect-*.pcap  B: {}/captured-{}.pcap\n",
                            a_dir.string(), (places.dir / "B").string(), m.port);
    } else {
      // The frame's place among those A delivered on that port.
      int index = 0, total = 0;
      for (std::size_t i = 0; i < c.expected.size(); ++i) {
        if (c.expected[i].ports.front() != m.port) continue;
        ++total;
        if (int(i) < m.expectation) ++index;
      }
      const auto where = fmt::format("{} frame {}", m.port, index);
      report = fmt::format(
          "  first differing frame: {} of {} that A ({}) delivered there "
          "(expectation {} of {}/case.toml)\n",
          where, total, a_name, m.expectation, a_dir.string());
      if (m.arrived) {
        line = fmt::format("DIFF {}: {}: {}", id, where, differing(m.fields));
        report += table(m.fields, "A (" + a_name + ")", "B (" + b_name + ")");
      } else if (!m.elsewhere.empty()) {
        line = fmt::format("DIFF {}: {}: A delivered it to {}, B to {}: {}", id, where, m.port,
                           m.elsewhere, differing(m.elsewhere_fields));
        report += fmt::format(
            "  B delivered nothing more to {}; the closest frame it delivered "
            "is on {}:\n",
            m.port, m.elsewhere);
        report += table(m.elsewhere_fields, "A (" + a_name + ", on " + m.port + ")",
                        "B (" + b_name + ", on " + m.elsewhere + ")");
      } else {
        line = fmt::format("DIFF {}: {}: A delivered it, B delivered nothing within {} ms", id,
                           where, c.expected[std::size_t(m.expectation - 1)].timeout_ms);
        report += "  B delivered no frame anywhere that A did not\n";
      }
      report += fmt::format("  pcaps: A: {}/expect-{}.pcap (frame {})  B: {}/captured-*.pcap\n",
                            a_dir.string(), m.port, index, (places.dir / "B").string());
    }
    report += again;
  }
  if (!note.empty()) report += "  note: " + note + "\n";
  return result(DiffResult::Kind::Diff, line, report);
}

DiffResult diff_case(const Case& c, const dut::DutSpec& a, const dut::DutSpec& b,
                     const DiffPlaces& places) {
  // A mode B does not claim is known before A runs.
  try {
    const auto& mode = c.topology_model.lvs.mode;
    if (auto on_b = dut::make_dut(b); !mode.empty() && !on_b->claims_mode(mode))
      return result(DiffResult::Kind::Skip,
                    fmt::format("SKIP {}: not claimed by B ({}): mode {}", c.name, b.kind, mode));
  } catch (const std::exception& e) {
    return result(DiffResult::Kind::Error, fmt::format("ERROR {}: B: {}", c.name, e.what()));
  }
  ReplayOptions options;
  options.dut = a;
  options.pcap_dir = places.dir / "A-own-check";
  options.observe = true;
  auto on_a = replay_case(c, options);
  if (on_a.kind == ReplayOutcome::Kind::Skip) {
    std::error_code ec;
    std::filesystem::remove_all(places.dir, ec);
    auto r = result(DiffResult::Kind::Skip,
                    fmt::format("SKIP {}: A ({}): {}", c.name, a.kind,
                                on_a.line.substr(std::string("SKIP : ").size() + c.name.size())));
    return r;
  }
  if (on_a.kind == ReplayOutcome::Kind::Error)
    return result(DiffResult::Kind::Error, fmt::format("ERROR {}: A ({}): {}", c.name, a.kind,
                                                       on_a.line.substr(on_a.line.find(": ") + 2)));
  Observed observed{c.topology,   c.rules, c.admin, std::move(on_a.sent), std::move(on_a.received),
                    c.quiet_hosts};
  std::string note;
  if (on_a.kind == ReplayOutcome::Kind::Fail)
    note =
        "A itself fails the case (" + on_a.line + "); the comparison covers what A did up to there";
  return diff_against(c.name, observed, c.topology_model, places, b, a.kind, b.kind, note);
}

}  // namespace vslab::replay
