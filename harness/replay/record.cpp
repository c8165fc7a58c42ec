// record.cpp: both directions of every host port captured (a libpcap handle per direction,
// opened inside the host's namespace) while the command runs, then written with write_case().
#include "replay/record.h"

#include <pcap/pcap.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "check/check.h"
#include "os/interrupt.h"
#include "replay/case.h"
#include "replay/roles.h"
#include "topology/live.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::replay {
namespace {

// One direction of one interface.
class Tap {
 public:
  Tap(const std::string& netns, const std::string& ifname, pcap_direction_t direction) {
    topo::NetnsGuard inside(netns);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_ = pcap_create(ifname.c_str(), errbuf);
    if (!pcap_) throw std::runtime_error(fmt::format("pcap_create {}: {}", ifname, errbuf));
    pcap_set_snaplen(pcap_, 262144);
    pcap_set_immediate_mode(pcap_, 1);
    pcap_set_buffer_size(pcap_, 8 << 20);
    if (pcap_activate(pcap_) < 0 || pcap_setdirection(pcap_, direction) != 0 ||
        pcap_setnonblock(pcap_, 1, errbuf) != 0) {
      std::string why = pcap_geterr(pcap_);
      pcap_close(pcap_);
      throw std::runtime_error(fmt::format("capture on {}: {}", ifname, why));
    }
    fd_ = pcap_get_selectable_fd(pcap_);
  }
  ~Tap() { pcap_close(pcap_); }
  Tap(const Tap&) = delete;
  Tap& operator=(const Tap&) = delete;

  // Reads what is there; true when something was.
  bool drain() {
    bool any = false;
    while (pcap_dispatch(pcap_, -1, &Tap::on_frame, reinterpret_cast<u_char*>(this)) > 0)
      any = true;
    return any;
  }
  int fd() const { return fd_; }
  std::vector<port::Frame>& frames() { return frames_; }

 private:
  static void on_frame(u_char* self, const pcap_pkthdr* h, const u_char* bytes) {
    reinterpret_cast<Tap*>(self)->frames_.push_back(
        {std::vector<uint8_t>(bytes, bytes + h->caplen), h->ts});
  }
  pcap_t* pcap_ = nullptr;
  int fd_ = -1;
  std::vector<port::Frame> frames_;
};

struct HostTaps {
  std::string port;
  std::unique_ptr<Tap> sent, received;
};

using port::before_or_same;

}  // namespace

RecordResult record_case(const RecordOptions& o) {
  RecordResult result;
  std::filesystem::path topo_file = o.topology;
  if (topo_file.extension() != ".toml") topo_file = o.topologies_dir / (o.topology + ".toml");
  auto parsed = topo::parse_topology_file(topo_file.string());
  if (!parsed.ok()) {
    result.message = parsed.errors.front();
    return result;
  }
  try {
    auto dut = dut::make_dut(o.dut);
    topo::LiveTopology live(*parsed.topology, dut->bring_up_options());
    Roles roles(live.topology(),
                [&live](const std::string& n, const std::string& i) { return live.mac(n, i); });
    const auto* client = roles.port_node("client");
    if (!client) throw std::runtime_error(live.topology().name + " has no client node");
    std::vector<HostTaps> taps;
    for (const auto& port : roles.host_ports()) {
      const auto* node = roles.port_node(port);
      const auto& ifname = node->interfaces.front().name;
      taps.push_back({port, std::make_unique<Tap>(live.netns(node->name), ifname, PCAP_D_OUT),
                      std::make_unique<Tap>(live.netns(node->name), ifname, PCAP_D_IN)});
    }
    struct Stop {
      dut::Dut& d;
      ~Stop() { d.stop(); }
    } stop{*dut};
    const auto interrupted = [&result] {
      if (!os::interrupted()) return false;
      result.interrupted = true;
      result.message = fmt::format("interrupted by {}: no case written",
                                   os::signal_name(os::interrupt_signal()));
      return true;
    };
    if (interrupted()) return result;
    dut->start(live);
    auto restored = dut->restore(o.rules);
    if (!restored.ok()) {
      result.message = fmt::format("rules refused ({}): {}", restored.exit_code, restored.output);
      return result;
    }
    std::vector<Served> servers;
    struct StopServers {
      std::vector<Served>& servers;
      ~StopServers() {
        for (auto& s : servers) stop_group(s.process, std::chrono::seconds(2));
      }
    } stop_servers{servers};
    for (std::size_t i = 0; i < o.serve.size(); ++i) {
      if (interrupted()) return result;
      servers.push_back(start_serving(live, o.serve[i], i, o.serve_ready_timeout_s));
    }
    if (interrupted()) return result;
    std::vector<std::string> argv{"ip", "netns", "exec", live.netns(client->name), "env"};
    for (const auto& var : run_environment(live)) argv.push_back(var);
    argv.insert(argv.end(), o.command.begin(), o.command.end());
    auto finished = run_unless_interrupted(argv);
    if (!finished || interrupted()) {
      interrupted();
      return result;
    }
    auto ran = *finished;
    result.command_exit = ran.exit_code;
    result.command_output = ran.output;
    for (auto& s : servers) {
      // One that ended on its own while the command ran: its output says why a request failed.
      if (s.process.has_exited())
        result.command_output += fmt::format("--serve {} ended early:\n{}", s.node, s.output());
      stop_group(s.process, std::chrono::seconds(2));
    }
    // Frames still on their way when the command ends: read until the ports have been quiet
    // for 300 ms, at most 3 s.
    std::vector<pollfd> fds;
    for (auto& t : taps)
      for (Tap* tap : {t.sent.get(), t.received.get()}) fds.push_back({tap->fd(), POLLIN, 0});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      bool any = false;
      for (auto& t : taps) {
        // Both drained every time: no short-circuit.
        const bool sent = t.sent->drain();
        const bool received = t.received->drain();
        any = any || sent || received;
      }
      if (!any && poll(fds.data(), fds.size(), 300) <= 0) break;
    }

    CaseToWrite c;
    c.topology = live.topology().name;
    c.rules = o.rules;
    c.timing = Timing::AfterExpected;
    c.description = fmt::format(
        "Recorded by `vslab record` from `{}` in the client's namespace against the {} DUT: the "
        "inputs are what the client and the real servers sent, the expectations exactly what "
        "they received, unmasked. Review and trim before relying on it: mask what the "
        "director chooses (ip.id of its own packets, FULLNAT's l4.sport), and say here which "
        "bug the case guards and which spec section each expectation follows.",
        topo::shell_quote(o.command), dut->name());
    for (auto& t : taps)
      for (auto& f : t.sent->frames())
        if (!check::is_neighbour_noise(f.bytes)) c.inputs.push_back({t.port, f});
    std::stable_sort(c.inputs.begin(), c.inputs.end(),
                     [](const InputFrame& a, const InputFrame& b) {
                       return !before_or_same(b.frame.timestamp, a.frame.timestamp);
                     });
    struct Seen {
      std::string port;
      port::Frame frame;
    };
    std::vector<Seen> seen;
    for (auto& t : taps)
      for (auto& f : t.received->frames())
        if (!check::is_neighbour_noise(f.bytes)) seen.push_back({t.port, f});
    std::stable_sort(seen.begin(), seen.end(), [](const Seen& a, const Seen& b) {
      return !before_or_same(b.frame.timestamp, a.frame.timestamp);
    });
    for (const auto& s : seen) {
      CaseToWrite::Expected x;
      x.ports = {s.port};
      x.frame = s.frame.bytes;
      // Checked once the inputs sent before it was seen have gone out.
      x.after_input =
          int(std::count_if(c.inputs.begin(), c.inputs.end(), [&](const InputFrame& in) {
            return before_or_same(in.frame.timestamp, s.frame.timestamp);
          }));
      if (x.after_input == 0) x.after_input = 1;
      c.expected.push_back(std::move(x));
    }
    if (c.inputs.empty()) {
      result.message =
          fmt::format("the command sent nothing (exit {}): no case written", ran.exit_code);
      return result;
    }
    write_case(o.out, c);
    result.ok = true;
    result.message = fmt::format("wrote {}: {} input frame(s), {} expected frame(s)",
                                 o.out.string(), c.inputs.size(), c.expected.size());
  } catch (const os::Interrupted& e) {
    result.interrupted = true;
    result.message = std::string(e.what()) + ": no case written";
  } catch (const std::exception& e) {
    result.message = e.what();
  }
  return result;
}

}  // namespace vslab::replay
