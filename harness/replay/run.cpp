// run.cpp: one case on a DUT, as conformance/mode_bed.cpp runs a mode topology: topology up,
// quiet hosts, ports capturing, DUT started and given the rules, then inject and check.
#include "replay/run.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <thread>

#include <fmt/format.h>
#include <tins/tins.h>

#include "check/check.h"
#include "port/port.h"
#include "replay/roles.h"
#include "topology/live.h"
#include "topology/netns.h"
#include "topology/script.h"

namespace vslab::replay {
namespace {

using Variables = std::map<std::string, std::string>;
using namespace std::chrono_literals;

std::string variable(const std::string& text, const Variables& vars) {
  auto it = vars.find(text.substr(1));
  if (it == vars.end())
    throw std::invalid_argument(fmt::format("{} was not captured (its [[expect]] failed?)", text));
  return it->second;
}

// A text value of `field`: a role's address, the checked port's, a variable, or a literal.
std::string resolve_text(const std::string& field, const std::string& text, const std::string& port,
                         const Roles& roles, const Variables& vars) {
  if (text.size() > 1 && text[0] == '$') return variable(text, vars);
  if (!is_address_field(field)) return text;
  auto role = roles.find(text == "port" ? port : text);
  if (!role) return text;
  if (is_mac_field(field)) return role->mac;
  return is_ipv6_field(field) ? role->ip6 : role->ip;
}

int resolve_number(const Value& v, const Variables& vars) {
  if (const auto* i = std::get_if<int64_t>(&v)) return int(*i);
  return std::stoi(variable(std::get<std::string>(v), vars));
}

void apply_set(expect::FrameExpectation& want, const std::string& field, const Value& v,
               const std::string& port, const Roles& roles, const Variables& vars) {
  auto text = [&] { return resolve_text(field, std::get<std::string>(v), port, roles, vars); };
  if (field == "eth.src")
    want.eth_src(text());
  else if (field == "eth.dst")
    want.eth_dst(text());
  else if (field == "ip.src" || field == "ip6.src")
    want.ip_src(text());
  else if (field == "ip.dst" || field == "ip6.dst")
    want.ip_dst(text());
  else if (field == "inner.ip.src")
    want.inner_ip_src(text());
  else if (field == "inner.ip.dst")
    want.inner_ip_dst(text());
  else if (field == "ip.ttl" || field == "ip6.hlim")
    want.ttl(resolve_number(v, vars));
  else if (field == "ip.tos" || field == "ip6.tclass")
    want.tos(resolve_number(v, vars));
  else if (field == "ip.df")
    want.df(resolve_number(v, vars) != 0);
  else if (field == "ip.id")
    want.ip_id(resolve_number(v, vars));
  else if (field == "l4.sport")
    want.sport(resolve_number(v, vars));
  else if (field == "l4.dport")
    want.dport(resolve_number(v, vars));
  else if (field == "inner.ip.ttl")
    want.inner_ttl(resolve_number(v, vars));
  else
    throw std::invalid_argument("cannot set " + field);
}

Tins::EthernetII parse_frame(const std::vector<uint8_t>& bytes) {
  try {
    return Tins::EthernetII(bytes.data(), static_cast<uint32_t>(bytes.size()));
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("the frame does not parse: ") + e.what());
  }
}

// Claims the first unclaimed frame on `port` that matches `want`; its bytes, or nothing.
std::optional<std::vector<uint8_t>> claim(port::Port& port, const expect::FrameExpectation& want,
                                          std::chrono::milliseconds timeout) {
  std::optional<std::vector<uint8_t>> got;
  port.wait_until(
      [&](std::vector<port::CapturedFrame>& frames) {
        for (auto& f : frames) {
          if (f.claimed || check::is_neighbour_noise(f.bytes) || !want.compare(f.bytes).ok())
            continue;
          f.claimed = true;
          got = f.bytes;
          return true;
        }
        return false;
      },
      timeout);
  return got;
}

// "rs3: ip.ttl want 62 got 63, l4.dport want 8080 got 80" against the closest frame.
std::optional<expect::Comparison> closest(port::Port& port, const expect::FrameExpectation& want);

std::string brief_diff(port::Port& port, const expect::FrameExpectation& want) {
  auto best = closest(port, want);
  if (!best) return fmt::format("nothing arrived on {}", port.label());
  std::vector<std::string> rows;
  for (const auto& r : best->rows)
    if (!r.ok) rows.push_back(fmt::format("{} want {} got {}", r.name, r.expected, r.captured));
  return fmt::format("{}: {}", port.label(), fmt::join(rows, ", "));
}

std::string indent(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += "    " + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

struct Failure : std::runtime_error {
  Failure(const std::string& line, std::string report_, std::optional<Mismatch> mismatch_ = {})
      : std::runtime_error(line), report(std::move(report_)), mismatch(std::move(mismatch_)) {}
  std::string report;
  std::optional<Mismatch> mismatch;
};

// The unclaimed frame on `port` closest to `want` (fewest differing fields), compared.
std::optional<expect::Comparison> closest(port::Port& port, const expect::FrameExpectation& want) {
  std::optional<expect::Comparison> best;
  for (const auto& f : port.captured()) {
    if (f.claimed || check::is_neighbour_noise(f.bytes)) continue;
    auto cmp = want.compare(f.bytes);
    if (!best || cmp.mismatches() < best->mismatches()) best = std::move(cmp);
  }
  return best;
}

}  // namespace

// What a session keeps between cases: the topology up, the DUT started, the ports open.
struct ReplaySession::Parts {
  std::unique_ptr<dut::Dut> dut;
  std::unique_ptr<topo::LiveTopology> live;
  std::unique_ptr<Roles> roles;
  std::map<std::string, std::unique_ptr<port::Port>> ports;
  bool quiet_hosts = true;
  bool dut_started = false;
  int cases_run = 0;

  // Opens `name`'s port (a node or role), quiet as ModeBed's: the hosts' own stacks would
  // answer what reaches them (RSTs, port unreachable); the checks are about the director.
  // ARP still works.
  void open_port(const std::string& name) {
    if (ports.count(name)) return;
    const auto* node = roles->port_node(name);
    if (!node) throw std::runtime_error("no node or role " + name + " in " + live->topology().name);
    const auto& ifname = node->interfaces.front().name;
    ports[name] = std::make_unique<port::Port>(live->netns(node->name), ifname, name);
    bool host = node->role == "client" || node->role.rfind("rs", 0) == 0;
    if (quiet_hosts && host) {
      auto drop = live->exec(node->name, {"nft", topo::quiet_host_nft(ifname)});
      if (!drop.ok()) throw std::runtime_error("nft on " + node->name + ": " + drop.output);
    }
  }

  // A case's host sends from an address it does not have (a scenario's second client, say,
  // which the run that wrote the case gave the host): the host takes it as a /32 (IPv6: /128),
  // as ModeBed did, so that the router's ARP or neighbour solicitation for it is answered and
  // the director's answers come back. Only addresses on the subnet of one of the port's own
  // of the same family: any other is not this link's to resolve.
  void hold_source(const std::string& name, std::span<const uint8_t> frame) {
    const auto* node = roles->port_node(name);
    if (!node || !(node->role == "client" || node->role.rfind("rs", 0) == 0)) return;
    std::string text;
    bool v6 = false;
    try {
      Tins::EthernetII eth(frame.data(), uint32_t(frame.size()));
      if (const auto* ip = eth.find_pdu<Tins::IP>()) {
        text = ip->src_addr().to_string();
      } else if (const auto* ip6 = eth.find_pdu<Tins::IPv6>()) {
        text = ip6->src_addr().to_string();
        v6 = true;
      } else {
        return;
      }
    } catch (const Tins::exception_base&) {
      return;  // not a frame the replay could send anyway
    }
    // Addresses as bytes in network order, compared bit by bit up to a prefix length.
    auto bytes = [v6](const std::string& a) {
      std::array<uint8_t, 16> b{};
      inet_pton(v6 ? AF_INET6 : AF_INET, a.c_str(), b.data());
      return b;
    };
    auto same_prefix = [](const std::array<uint8_t, 16>& x, const std::array<uint8_t, 16>& y,
                          int bits) {
      for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        const uint8_t mask = bits >= 8 ? 0xff : uint8_t(0xff00 >> bits);
        if ((x[i] & mask) != (y[i] & mask)) return false;
      }
      return true;
    };
    const auto source = bytes(text);
    const auto& iface = node->interfaces.front();
    bool on_link = false;
    for (const auto& a : iface.addresses) {
      if (a.is_v6 != v6) continue;
      const auto own = bytes(a.address);
      if (own == source) return;
      on_link = on_link || same_prefix(own, source, a.prefix);
    }
    if (!on_link || !held.insert(node->name + " " + text).second) return;
    std::vector<std::string> argv{"ip",  "addr",    "add", text + (v6 ? "/128" : "/32"),
                                  "dev", iface.name};
    if (v6) argv.push_back("nodad");  // usable at once, as the topology's own addresses
    auto add = live->exec(node->name, argv);
    if (!add.ok() && add.output.find("File exists") == std::string::npos)
      throw std::runtime_error("ip addr add " + text + " on " + node->name + ": " + add.output);
  }
  std::set<std::string> held;  // "node address"

  // Ports and the DUT go before the topology does.
  ~Parts() {
    ports.clear();
    if (dut && dut_started) dut->stop();
  }
};

ReplaySession::ReplaySession(const topo::Topology& topology, const dut::DutSpec& dut,
                             bool quiet_hosts)
    : parts_(std::make_unique<Parts>()) {
  auto& p = *parts_;
  p.dut = dut::make_dut(dut);
  p.quiet_hosts = quiet_hosts;
  p.live = std::make_unique<topo::LiveTopology>(topology, p.dut->bring_up_options());
  auto* live = p.live.get();
  p.roles = std::make_unique<Roles>(
      live->topology(),
      [live](const std::string& n, const std::string& i) { return live->mac(n, i); });
  for (const auto& name : p.roles->host_ports()) p.open_port(name);
  p.dut_started = true;  // stop() also after a start that failed half way
  p.dut->start(*live);
}

ReplaySession::~ReplaySession() = default;

const dut::Dut& ReplaySession::dut() const {
  return *parts_->dut;
}

namespace {

class Replay {
 public:
  Replay(const Case& c, const ReplayOptions& o, ReplaySession::Parts& session)
      : case_(c), options_(o), session_(session), roles_(session.roles), ports_(session.ports) {}

  ReplayOutcome run() {
    try {
      if (case_.topology_model.name != session_.live->topology().name)
        return fail(fmt::format("the case is for topology {}, the session runs {}",
                                case_.topology_model.name, session_.live->topology().name),
                    "");
      prepare();
      // A session's later case first empties what the one before left, as ipvsadm -R adds.
      auto& dut = *session_.dut;
      auto restored = dut.restore(session_.cases_run++ == 0 ? case_.rules : "-C\n" + case_.rules);
      if (!restored.ok())
        return fail(fmt::format("rules refused ({}): {}", restored.exit_code, restored.output), "");
      ReplayOutcome outcome;
      outcome.kind = ReplayOutcome::Kind::Pass;
      outcome.line = "PASS " + case_.name;
      try {
        inject_and_check(dut);
      } catch (const Failure& f) {
        write_failure_case(f.what(), dut.name());
        if (f.mismatch && !f.mismatch->elsewhere.empty()) write_captured(f.mismatch->elsewhere);
        outcome = fail(f.what(), f.report);
        outcome.mismatch = f.mismatch;
      }
      if (options_.observe) observe(outcome);
      return outcome;
    } catch (const std::exception& e) {
      return fail(e.what(), "");
    }
  }

 private:
  ReplayOutcome fail(const std::string& why, const std::string& report) {
    std::string line = why;
    std::replace(line.begin(), line.end(), '\n', ' ');
    ReplayOutcome outcome;
    outcome.kind = ReplayOutcome::Kind::Fail;
    outcome.line = fmt::format("FAIL {}: {}", case_.name, line);
    outcome.report = report.empty() ? "" : indent(report);
    return outcome;
  }
  port::Port& port(const std::string& name) { return *ports_.at(name); }

  void observe(ReplayOutcome& outcome) {
    for (auto& [name, p] : ports_) p->poll_now();
    outcome.sent = sent_by_case();
    for (auto& [name, p] : ports_)
      for (const auto& f : p->captured())
        if (!check::is_neighbour_noise(f.bytes)) outcome.received.push_back({name, f});
    std::stable_sort(outcome.received.begin(), outcome.received.end(),
                     [](const InputFrame& a, const InputFrame& b) {
                       const auto &x = a.frame.timestamp, &y = b.frame.timestamp;
                       return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_usec < y.tv_usec;
                     });
  }

  // captured-<port>.pcap beside the checker's, for a port the failed check did not name (where
  // the frame went instead).
  void write_captured(const std::string& name) {
    try {
      const auto& captured = port(name).captured();
      port::write_pcap((checker_->case_dir() / ("captured-" + name + ".pcap")).string(),
                       std::vector<port::Frame>(captured.begin(), captured.end()));
    } catch (const std::exception&) {
      // The diff is reported either way.
    }
  }

  // What the ports sent during this case, in order.
  std::vector<InputFrame> sent_by_case() const {
    std::vector<InputFrame> out;
    for (auto& [port, frame] : checker_->sent_since_start())
      out.push_back({port->label(), std::move(frame)});
    return out;
  }

  // The failure folder (where the checker wrote its pcaps) becomes a case of its own: what was
  // sent, in the order it was sent, and the case's expectations resolved for this run, so
  // `vslab replay` runs it as it is and it fails the same way.
  void write_failure_case(const std::string& why, const std::string& dut_name) {
    if (!checker_) return;
    try {
      CaseToWrite w;
      w.description = fmt::format(
          "Failure of case {} on the {} DUT, written by vslab replay: {}. The inputs are the "
          "frames sent before the failure (patches applied), the expectations those of the case "
          "with roles and variables resolved; captured-<port>.pcap holds what arrived. The "
          "case: {}",
          case_.name, dut_name, why, case_.description);
      w.topology = case_.topology;
      w.rules = case_.rules;
      w.timing = case_.timing;
      w.inputs = sent_by_case();
      if (w.inputs.empty()) return;
      const int sent = int(w.inputs.size());
      for (const auto& x : case_.expectations) {
        CaseToWrite::Expected e;
        e.ports = x.ports;
        e.after_input = std::min(x.after_input, sent);
        e.timeout_ms = x.timeout_ms;
        try {
          e.frame = build_expectation(x, x.ports.front(), *roles_, variables_).bytes();
          for (auto m : x.masks) {
            for (auto& v : m.values)
              v = resolve_text(m.field, v, x.ports.front(), *roles_, variables_);
            e.masks.push_back(std::move(m));
          }
        } catch (const std::exception&) {
          continue;  // depends on a variable the failure left unset
        }
        w.expected.push_back(std::move(e));
      }
      w.no_other = case_.no_other;
      for (const auto& a : case_.admin)
        if (a.before_input <= sent) w.admin.push_back(a);
      write_case(checker_->case_dir(), w);
    } catch (const std::exception&) {
      // The failure is reported either way; a folder that cannot be written is not worth
      // hiding it.
    }
  }

  // The ports the case names open (the hosts' are already), what they captured before
  // forgotten, a checker from here on.
  void prepare() {
    for (const auto& in : case_.inputs) session_.open_port(in.port);
    for (const auto& x : case_.expectations)
      for (const auto& p : x.ports) session_.open_port(p);
    if (case_.no_other)
      for (const auto& p : *case_.no_other) session_.open_port(p);
    std::vector<port::Port*> all;
    for (auto& [name, p] : ports_) {
      p->poll_now();
      p->captured().clear();
      all.push_back(p.get());
    }
    checker_ = std::make_unique<check::FrameChecker>(case_.name, all, options_.pcap_dir);
  }

  void check(const Expectation& x, int number) {
    std::vector<expect::FrameExpectation> wants;
    for (const auto& p : x.ports) {
      try {
        wants.push_back(build_expectation(x, p, *roles_, variables_));
      } catch (const std::exception& e) {
        throw Failure(fmt::format("expectation {}: {}", number, e.what()), "");
      }
    }
    std::optional<std::vector<uint8_t>> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(x.timeout_ms);
    if (x.ports.size() == 1) {
      got = claim(port(x.ports[0]), wants[0], std::chrono::milliseconds(x.timeout_ms));
    } else {
      do {
        for (std::size_t i = 0; i < x.ports.size() && !got; ++i)
          got = claim(port(x.ports[i]), wants[i], 20ms);
      } while (!got && std::chrono::steady_clock::now() < deadline);
    }
    if (!got) {
      std::string brief;
      std::string report;
      for (std::size_t i = 0; i < x.ports.size(); ++i) {
        brief += (i ? "; " : "") + brief_diff(port(x.ports[i]), wants[i]);
        report += checker_->expect_frame(port(x.ports[i]), wants[i], 0ms).report;
      }
      throw Failure(fmt::format("expectation {} ({}): {}", number,
                                x.pcap.empty() ? fmt::format("input {} rewritten", *x.from_input)
                                               : fmt::format("{} frame {}", x.pcap, x.frame),
                                brief),
                    report, mismatch_of(x, wants.front(), number));
    }
    auto fields = expect::dissect(*got);
    for (const auto& [var, field_text] : x.capture) {
      auto field = field_by_name(field_text);
      for (const auto& e : fields)
        if (field && e.field == *field)
          variables_[var] = e.value.number ? std::to_string(*e.value.number) : e.value.text;
    }
  }

  // The failed expectation against the closest frame on its (first) port, or, when nothing
  // arrived there, against the closest unclaimed frame on any other port.
  Mismatch mismatch_of(const Expectation& x, const expect::FrameExpectation& want, int number) {
    Mismatch m;
    m.expectation = number;
    m.port = x.ports.front();
    if (auto best = closest(port(m.port), want)) {
      m.arrived = true;
      m.fields = best->rows;
      return m;
    }
    std::size_t fewest = SIZE_MAX;
    for (auto& [name, p] : ports_) {
      if (name == m.port) continue;
      p->poll_now();  // only the expected port was being read
      if (auto best = closest(*p, want); best && best->mismatches() < fewest) {
        fewest = best->mismatches();
        m.elsewhere = name;
        m.elsewhere_fields = best->rows;
      }
    }
    return m;
  }

  void inject_and_check(dut::Dut& dut) {
    std::vector<bool> checked(case_.expectations.size(), false);
    auto check_until = [&](int last_input) {  // expectations due after inputs <= last_input
      for (std::size_t i = 0; i < case_.expectations.size(); ++i) {
        const auto& x = case_.expectations[i];
        if (checked[i] || x.after_input == 0 || x.after_input > last_input) continue;
        checked[i] = true;
        check(x, int(i + 1));
      }
    };
    // The [[admin]] steps to run before input `number` (one past the last: after every input).
    auto run_admin_before = [&](int number) {
      for (const auto& step : case_.admin) {
        if (step.before_input != number) continue;
        auto r = dut.admin(step.args);
        if (!r.ok())
          throw Failure(fmt::format("admin before input {} ({}) refused: {}", number,
                                    fmt::join(step.args, " "), r.output),
                        "");
        const auto deadline = std::chrono::steady_clock::now() + 5s * dut.slowness();
        while (!step.until_unlisted.empty() &&
               dut::lists_line_with(r.output, step.until_unlisted)) {
          if (std::chrono::steady_clock::now() > deadline)
            throw Failure(fmt::format("admin before input {}: {} still lists [{}] after {} s",
                                      number, fmt::join(step.args, " "),
                                      fmt::join(step.until_unlisted, " "), 5 * dut.slowness()),
                          "");
          r = dut.admin(step.args);
        }
      }
    };
    for (std::size_t i = 0; i < case_.inputs.size(); ++i) {
      const int number = int(i + 1);
      const auto& in = case_.inputs[i];
      if (case_.timing == Timing::AfterExpected) check_until(number - 1);
      if (case_.timing == Timing::Recorded && i > 0) {
        const auto& a = case_.inputs[i - 1].frame.timestamp;
        const auto& b = in.frame.timestamp;
        auto gap = std::chrono::seconds(b.tv_sec - a.tv_sec) +
                   std::chrono::microseconds(b.tv_usec - a.tv_usec);
        // Reproducing the capture's pacing, not waiting for anything: capped at 10 s.
        if (gap > 0us) std::this_thread::sleep_for(std::min<std::chrono::microseconds>(gap, 10s));
      }
      run_admin_before(number);
      std::vector<uint8_t> bytes = in.frame.bytes;
      for (const auto& p : case_.patches) {
        if (p.input != number) continue;
        try {
          bytes = patched_input(bytes, p.set, in.port, *roles_, variables_);
        } catch (const std::exception& e) {
          throw Failure(fmt::format("patch of input {}: {}", number, e.what()), "");
        }
      }
      session_.hold_source(in.port, bytes);
      port(in.port).send(std::span<const uint8_t>(bytes));
    }
    check_until(int(case_.inputs.size()));
    run_admin_before(int(case_.inputs.size()) + 1);
    for (std::size_t i = 0; i < case_.expectations.size(); ++i)
      if (!checked[i]) check(case_.expectations[i], int(i + 1));

    std::vector<port::Port*> quiet;
    if (case_.no_other) {
      for (const auto& p : *case_.no_other) quiet.push_back(&port(p));
    } else {
      for (auto& [name, p] : ports_) quiet.push_back(p.get());
    }
    if (quiet.empty()) return;
    auto r = checker_->expect_no_other_frames(quiet,
                                              std::chrono::milliseconds(case_.no_other_window_ms));
    if (!r.ok) {
      auto first = r.report.find('\n');
      auto second = first == std::string::npos ? first : r.report.find('\n', first + 1);
      std::string offender =
          first == std::string::npos ? "" : r.report.substr(first + 1, second - first - 1);
      Mismatch m;
      for (auto& [name, p] : ports_) {
        if (!m.port.empty()) break;
        for (const auto& f : p->captured()) {
          if (f.claimed || check::is_neighbour_noise(f.bytes)) continue;
          m.port = name;
          m.arrived = true;
          for (const auto& e : expect::dissect(f.bytes))
            m.fields.push_back({e.name, "-", e.value.text, false});
          break;
        }
      }
      throw Failure(r.summary + (offender.empty() ? "" : " (" + offender + ")"), r.report, m);
    }
  }

  const Case& case_;
  const ReplayOptions& options_;
  ReplaySession::Parts& session_;
  std::unique_ptr<Roles>& roles_;
  std::map<std::string, std::unique_ptr<port::Port>>& ports_;
  std::unique_ptr<check::FrameChecker> checker_;
  Variables variables_;
};

}  // namespace

expect::FrameExpectation build_expectation(const Expectation& x, const std::string& port,
                                           const Roles& roles, const Variables& variables) {
  auto parsed = parse_frame(x.base);
  // libtins recomputes checksums and does not take every IPv4 option apart, so a frame it does
  // not serialise back byte for byte (a wrong L4 checksum, record route: `vslab diff` expects
  // what A delivered) is expected as its own bytes, where no field is set on it.
  const bool round_trips = parsed.serialize() == x.base;
  expect::FrameExpectation want = round_trips || !x.set.empty()
                                      ? expect::FrameExpectation(parsed)
                                      : expect::FrameExpectation(Tins::RawPDU(x.base));
  for (const auto& [field, value] : x.set) apply_set(want, field, value, port, roles, variables);
  for (auto m : x.masks) {
    for (auto& v : m.values) v = resolve_text(m.field, v, port, roles, variables);
    apply_mask(want, m);
  }
  return want;
}

std::vector<InputFrame> sent_frames(
    const std::vector<port::Port*>& ports,
    const std::function<std::string(const port::Port&)>& port_name) {
  std::vector<InputFrame> frames;
  for (const auto* p : ports)
    for (const auto& f : p->sent()) frames.push_back({port_name(*p), f});
  std::stable_sort(frames.begin(), frames.end(), [](const InputFrame& a, const InputFrame& b) {
    const auto &x = a.frame.timestamp, &y = b.frame.timestamp;
    return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_usec < y.tv_usec;
  });
  return frames;
}

void apply_mask(expect::FrameExpectation& want, const Mask& m) {
  auto field = field_by_name(m.field);
  if (!field) throw std::invalid_argument("unknown field " + m.field);
  switch (m.kind) {
    case Mask::Kind::Ignore:
      want.ignore(*field);
      break;
    case Mask::Kind::AnyOf:
      want.any_of(*field, m.values);
      break;
    case Mask::Kind::InRange:
      want.in_range(*field, m.lo, m.hi);
      break;
    case Mask::Kind::Text:
      want.expect_text(*field, m.values.at(0));
      break;
  }
}

std::vector<uint8_t> patched_input(const std::vector<uint8_t>& frame,
                                   const std::vector<std::pair<std::string, Value>>& set,
                                   const std::string& port, const Roles& roles,
                                   const Variables& variables) {
  if (set.empty()) return frame;
  expect::FrameExpectation edited(parse_frame(frame));
  for (const auto& [field, value] : set) apply_set(edited, field, value, port, roles, variables);
  return edited.bytes();
}

ReplayOutcome ReplaySession::run(const Case& c, const ReplayOptions& options) {
  return Replay(c, options, *parts_).run();
}

// An IPv6 case: one of its inputs is IPv6 (also behind a VLAN tag).
static bool is_ipv6_case(const Case& c) {
  return std::any_of(c.inputs.begin(), c.inputs.end(), [](const InputFrame& in) {
    const auto& b = in.frame.bytes;
    std::size_t type_at = b.size() >= 18 && b[12] == 0x81 && b[13] == 0x00 ? 16 : 12;
    return b.size() >= type_at + 2 && b[type_at] == 0x86 && b[type_at + 1] == 0xdd;
  });
}

ReplayOutcome replay_case(const Case& c, const ReplayOptions& options) {
  auto outcome = [&](ReplayOutcome::Kind kind, const std::string& word, const std::string& why) {
    ReplayOutcome o;
    o.kind = kind;
    std::string line = why;
    std::replace(line.begin(), line.end(), '\n', ' ');
    o.line = fmt::format("{} {}: {}", word, c.name, line);
    return o;
  };
  std::unique_ptr<dut::Dut> dut;
  try {
    dut = dut::make_dut(options.dut);
  } catch (const std::exception& e) {
    return outcome(ReplayOutcome::Kind::Error, "ERROR", e.what());
  }
  const std::string mode = c.topology_model.lvs.mode;
  if (!topo::have_net_admin())
    return outcome(ReplayOutcome::Kind::Skip, "SKIP",
                   "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the topology");
  if (!mode.empty() && !dut->claims_mode(mode))
    return outcome(
        ReplayOutcome::Kind::Skip, "SKIP",
        fmt::format("not claimed: the {} DUT does not claim mode {}", dut->name(), mode));
  if (is_ipv6_case(c) && !dut->claims_family_in(6, mode))
    return outcome(ReplayOutcome::Kind::Skip, "SKIP", dut->unclaimed_family_in(6, mode));
  try {
    ReplaySession session(c.topology_model, options.dut, c.quiet_hosts);
    return session.run(c, options);
  } catch (const dut::DutUnavailable& e) {
    auto o = outcome(ReplayOutcome::Kind::Skip, "SKIP", e.what());
    o.dut_unavailable = true;
    return o;
  } catch (const std::exception& e) {
    return outcome(ReplayOutcome::Kind::Error, "ERROR", e.what());
  }
}

}  // namespace vslab::replay
