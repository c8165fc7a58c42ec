#include "failover/scenario.h"

#include <poll.h>

#include <memory>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/qemu/qemu_kernel_dut.h"
#include "failover/vrrp.h"
#include "os/interrupt.h"
#include "topology/arp_probe.h"
#include "topology/data_dir.h"
#include "topology/live.h"
#include "topology/parse.h"
#include "topology/runs.h"
#include "topology/script.h"

namespace vslab::failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Where a mode's pair lives: its topology, the addresses VRRP moves, the interface the sync
// daemons talk on, the real servers.
struct Layout {
  std::string topology;  // under topologies/
  std::string vip;
  // NAT: the VIP, and the real servers' gateway, which must move with it (a NAT director is
  // their router); DR: the VIP alone (the real servers answer through the router).
  std::vector<FloatingAddress> floating;
  std::string sync_interface;
  std::vector<std::string> real_servers;
  const char* method;  // ipvsadm's flag
};

const Layout& layout_of(const std::string& mode) {
  static const Layout nat{"failover.toml",
                          "10.20.0.100",
                          {{"10.20.0.100/32", "eth0"}, {"192.168.10.1/32", "eth1"}},
                          "eth1",
                          {"192.168.10.11", "192.168.10.12"},
                          "-m"};
  static const Layout dr{"failover-dr.toml",           "10.30.0.100",
                         {{"10.30.0.100/32", "eth0"}}, "eth0",
                         {"10.30.0.11", "10.30.0.12"}, "-g"};
  if (mode == "nat") return nat;
  if (mode == "dr") return dr;
  throw std::invalid_argument("no failover topology for mode '" + mode + "' (nat or dr)");
}

// Three services, each on both real servers (rr): where a flow lands is the director's choice,
// and the flows find their other end on whichever server it was.
std::string rules_of(const Layout& l) {
  std::string out;
  for (const char* service : {"-t {}:80", "-t {}:81", "-u {}:53"}) {
    const std::string key = fmt::format(fmt::runtime(service), l.vip);
    const std::string port = key.substr(key.rfind(':'));
    out += "-A " + key + " -s rr\n";
    for (const auto& rs : l.real_servers)
      out += "-a " + key + " -r " + rs + port + " " + l.method + "\n";
  }
  return out;
}

// Half a second between advertisements: the backup declares the master dead after about
// 1.8 s (three intervals and a skew by priority).
constexpr int kAdvertCentiseconds = 50;
constexpr int kSyncId = 23;
constexpr seconds kVipMoves{20};

// What a missing sync daemon throws: the with-sync case skips rather than fails.
struct NoSync : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Director {
  std::string role;  // the topology's role: "director" (the master) or "backup"
  int priority = 0;
  std::string netns;                                 // none for an external box
  std::unique_ptr<dut::BuiltinDut> vsd;              // one of these three
  std::unique_ptr<dut::qemu::QemuKernelDut> kernel;  // the guest holds its addresses
  std::unique_ptr<dut::ExternalDut> box;             // not ours: its config's commands act on it
  std::unique_ptr<Keepalived> keepalived;
  bool down = true;     // not started yet, or killed and not started again: nothing answers in it
  bool killed = false;  // a box killed by its command, to be revived by its command
  dut::Dut& dut() {
    if (vsd) return *vsd;
    if (kernel) return *kernel;
    return *box;
  }
};

// An external box's config command that must succeed.
void must(const std::optional<dut::Result>& result, const dut::ExternalDut& box,
          const std::string& key) {
  // The cases that need a command skip when it is missing (missing_commands), so this is a bug.
  if (!result) throw std::logic_error("no " + box.config_key(key));
  if (!result->ok())
    throw std::runtime_error(fmt::format("{} ({}): `{}` exited with {}: {}", box.role(), box.name(),
                                         key, result->exit_code, result->output));
}

// The guest's shell for a floating address: added and announced by a gratuitous ARP (busybox
// arping), or removed.
std::string guest_take(const std::vector<FloatingAddress>& addresses) {
  std::string script = "set -e\n";
  for (const auto& a : addresses)
    script += fmt::format("ip addr replace {0} dev {1}\narping -q -U -c 1 -I {1} {2}\n", a.cidr,
                          a.dev, a.address());
  return script;
}
std::string guest_release(const std::vector<FloatingAddress>& addresses) {
  std::string script;
  for (const auto& a : addresses)
    script += fmt::format("ip addr del {} dev {} 2>/dev/null || true\n", a.cidr, a.dev);
  return script;
}

class Pair {
 public:
  // master_box, backup_box: the external boxes, made before the topology (whose bring-up
  // lends them their ports), or null.
  Pair(const ScenarioOptions& options, const Layout& layout, const topo::LiveTopology& live,
       std::unique_ptr<dut::ExternalDut> master_box, std::unique_ptr<dut::ExternalDut> backup_box)
      : options_(options), layout_(layout), live_(live) {
    master_.role = "director";
    master_.priority = 150;
    backup_.role = "backup";
    backup_.priority = 100;
    master_.box = std::move(master_box);
    backup_.box = std::move(backup_box);
    for (Director* d : {&master_, &backup_}) {
      if (d->box) continue;
      d->netns = live.netns(live.topology().find_role(d->role)->name);
      const auto kind = d == &master_ ? options.master_kind : options.backup_kind;
      if (kind == DirectorKind::QemuKernel) {
        d->kernel = std::make_unique<dut::qemu::QemuKernelDut>();
        d->kernel->set_role(d->role);
        continue;
      }
      // A backup that does not hold the VIP must not answer for it (docs/design.md).
      d->vsd = std::make_unique<dut::BuiltinDut>(options.vsd_binary, options.vsadm_binary,
                                                 std::vector<std::string>{"--vips-follow-host"});
      d->vsd->set_role(d->role);
      if (options.mover == VipMover::Keepalived) {
        VrrpInstance vi;
        vi.priority = d->priority;
        vi.advert_centiseconds = kAdvertCentiseconds;
        vi.addresses = layout.floating;
        d->keepalived = std::make_unique<Keepalived>(
            d->netns, topo::run_files_dir(live.naming().prefix), d->role, vi);
      }
    }
  }
  ~Pair() {
    for (Director* d : {&master_, &backup_}) {
      if (d->keepalived) d->keepalived->kill();
      // A box stays as it was found, as far as it answers: no sync daemons, no VIP of ours.
      if (d->box && !d->down) {
        if (options_.sync) stop_sync(*d);
        if (options_.mover == VipMover::Harness)
          for (const auto& a : layout_.floating)
            d->box->run_vip_command(d->box->config().failover.release_vip, a.cidr, a.dev);
      }
      d->dut().stop();
    }
  }

  Director& master() { return master_; }
  Director& backup() { return backup_; }

  // vsd with the rules (and the sync daemons), then VRRP, so it never holds the VIP without a
  // director behind it: a box that boots starts its services before keepalived.
  void start(Director& d) {
    start_director(d);
    start_vrrp(d);
  }
  void start_director(Director& d) {
    if (d.box && d.killed)
      must(d.box->run_failover_command(d.box->config().failover.revive), *d.box,
           "[failover] revive");
    d.dut().start(live_);
    d.down = false;
    // As with the guest: whatever the box holds from before, the VIP mover alone decides.
    if (d.box && options_.mover == VipMover::Harness)
      for (const auto& a : layout_.floating)
        must(d.box->run_vip_command(d.box->config().failover.release_vip, a.cidr, a.dev), *d.box,
             "[failover] release_vip");
    // The guest's setup puts the topology's VIP on it; the VIP mover alone decides who holds it.
    if (d.kernel) guest_shell(d, guest_release(layout_.floating));
    auto r = d.dut().restore(rules_of(layout_));
    if (!r.ok()) throw std::runtime_error(d.role + ": vsadm -R: " + r.output);
    if (options_.sync) start_sync(d);
  }
  // A box that runs its own VRRP gets it back by its command (after a kill; else it runs).
  void start_vrrp(Director& d) {
    if (d.keepalived) d.keepalived->start();
    if (d.box && d.killed && options_.mover == VipMover::Keepalived)
      must(d.box->run_failover_command(d.box->config().failover.start_vrrp), *d.box,
           "[failover] start_vrrp");
    d.killed = false;
  }

  // A crash: keepalived and vsd SIGKILLed. What a killed keepalived leaves on the interfaces
  // is taken away before vsd dies, as a dead box answers for nothing; else its kernel, no
  // longer kept away by vsd's ingress tables, would reset the VIP's flows.
  void kill(Director& d) {
    d.down = true;
    // The guest's addresses die with it.
    if (d.kernel) return d.kernel->kill();
    // The box's command is the crash, its addresses included (a dead box answers for none).
    if (d.box) {
      d.killed = true;
      return must(d.box->run_failover_command(d.box->config().failover.kill), *d.box,
                  "[failover] kill");
    }
    if (d.keepalived) d.keepalived->kill();
    if (auto error = release_addresses(d.netns, layout_.floating); !error.empty())
      throw std::runtime_error(error);
    d.vsd->kill();
  }

  // The director's cables: its ports on the bridges go down (its own interfaces lose carrier
  // and keep their addresses and routes, as with a pulled cable).
  void set_links(Director& d, bool up) {
    const auto& t = live_.topology();
    const std::string node = t.find_role(d.role)->name;
    for (std::size_t b = 0; b < t.bridges.size(); ++b)
      for (std::size_t p = 0; p < t.bridges[b].ports.size(); ++p) {
        if (t.bridges[b].ports[p].node != node) continue;
        auto r = topo::run_command({"ip", "-n", live_.naming().switch_netns(), "link", "set",
                                    topo::bridge_port_ifname(b, p), up ? "up" : "down"});
        if (!r.ok()) throw std::runtime_error("ip link set: " + r.output);
      }
  }

  // The harness as the VIP mover (no keepalived): what keepalived would do on a transition.
  void move_vip(Director& from, Director& to) {
    if (options_.mover != VipMover::Harness) return;
    if (from.box) {
      // A cut-off box is told through its command's own path (ssh over a management network);
      // a dead one lost its addresses with its kill.
      if (!from.down)
        for (const auto& a : layout_.floating)
          must(from.box->run_vip_command(from.box->config().failover.release_vip, a.cidr, a.dev),
               *from.box, "[failover] release_vip");
    } else if (from.kernel) {
      // A cut-off guest is told through its channel, as an admin on its console would.
      if (!from.down) guest_shell(from, guest_release(layout_.floating));
    } else if (auto error = release_addresses(from.netns, layout_.floating); !error.empty()) {
      throw std::runtime_error(error);
    }
    if (to.box) {
      for (const auto& a : layout_.floating)
        must(to.box->run_vip_command(to.box->config().failover.take_vip, a.cidr, a.dev), *to.box,
             "[failover] take_vip");
    } else if (to.kernel) {
      guest_shell(to, guest_take(layout_.floating));
    } else if (auto error = take_addresses(to.netns, layout_.floating); !error.empty())
      throw std::runtime_error(error);
  }

  bool holds_vip(Director& d) {
    if (d.box) return vip_answers_from(d);
    if (!d.kernel) return holds_address(d.netns, layout_.vip);
    if (d.down) return false;
    return guest_shell(d, "ip -o addr show to " + layout_.vip + "/32\n").find(layout_.vip) !=
           std::string::npos;
  }

  // Whether the router sends the VIP's frames to `d`: its neighbour entry for the VIP names d's
  // MAC, or it has none (its next frame asks, and a holder answers). A director that takes the
  // VIP over from a live one (a failback's backup, released by VRRP a moment later) holds it
  // before its gratuitous ARP has moved the router's entry; until then the client's segments
  // still reach the old holder, whose entries carry the flows on.
  bool router_sends_vip_to(Director& d) {
    const auto& t = live_.topology();
    auto r = topo::run_command(
        {"ip", "-n", live_.netns(t.find_role("router")->name), "neigh", "show", "to", layout_.vip});
    if (!r.ok()) return false;
    const std::string lladdr = " lladdr ";
    const auto at = r.output.find(lladdr);
    if (at == std::string::npos) return true;
    const std::string mac = live_.mac(t.find_role(d.role)->name, layout_.floating.front().dev);
    return r.output.compare(at + lladdr.size(), mac.size(), mac) == 0;
  }

  // Polls until `d` holds the VIP and the router sends the VIP's frames to it: only then do the
  // flows meet `d` (a flow measured before would be the old holder's); false at the deadline.
  bool wait_for_vip(Director& d, Clock::time_point deadline) {
    while (!holds_vip(d) || !router_sends_vip_to(d)) {
      os::throw_if_interrupted();
      if (Clock::now() >= deadline) return false;
      poll(nullptr, 0, 10);
    }
    return true;
  }

  // Whether `d` lists a connection from each of the flows' client ends (by the client's port:
  // an external box may still list connections of an earlier run to the same services).
  bool lists_the_flows(Director& d, const std::vector<std::string>& client_ends) {
    auto r = d.dut().admin({"-L", "-n", "-c"});
    if (!r.ok()) return false;
    for (const auto& end : client_ends)
      if (r.output.find(end + " ") == std::string::npos) return false;
    return true;
  }

  std::string logs() const {
    std::string out;
    for (const Director* d : {&master_, &backup_}) {
      if (d->vsd) out += fmt::format("--- vsd on {}:\n{}", d->role, d->vsd->log());
      if (d->kernel) {
        const std::string console = d->kernel->console();
        out += fmt::format("--- the kernel guest's console on {} (its end):\n{}", d->role,
                           console.substr(console.size() > 4000 ? console.size() - 4000 : 0));
      }
      if (d->keepalived)
        out += fmt::format("--- keepalived on {}:\n{}", d->role, d->keepalived->log());
    }
    return out;
  }

 private:
  // Both daemons on both directors, as the kernel allows: each sends what it serves and takes
  // what the other sends, so the failback finds the backup's connections too.
  void start_sync(Director& d) {
    // A box's daemons of an earlier run would make the start fail ("already running").
    if (d.box) stop_sync(d);
    const std::string interface =
        d.box ? d.box->box_interface(layout_.sync_interface) : layout_.sync_interface;
    for (const char* state : {"master", "backup"}) {
      auto r = d.dut().admin({"--start-daemon", state, "--mcast-interface", interface, "--syncid",
                              std::to_string(kSyncId)});
      if (!r.ok()) {
        if (d.vsd && (r.output.find("unknown option") != std::string::npos ||
                      r.output.find("start-daemon") != std::string::npos))
          throw NoSync("vsd has no sync daemon on this branch (vsadm --start-daemon: " +
                       r.output.substr(0, r.output.find('\n')) + ")");
        throw std::runtime_error(d.role + ": vsadm --start-daemon " + state + ": " + r.output);
      }
    }
  }

  // Best effort: none may be running.
  void stop_sync(Director& d) {
    for (const char* state : {"master", "backup"}) d.dut().admin({"--stop-daemon", state});
  }

  // The harness cannot look inside a box: the VIP is where it answers ARP on its segment, asked
  // from the router (a probe, so the router's own neighbour entry stays as it was).
  bool vip_answers_from(Director& d) {
    if (d.down) return false;
    const auto& t = live_.topology();
    const std::string& dev = layout_.floating.front().dev;
    const std::string node = t.find_role(d.role)->name;
    const std::string router = t.find_role("router")->name;
    std::string router_ifname;
    for (const auto& bridge : t.bridges) {
      bool box_here = false;
      for (const auto& p : bridge.ports) box_here |= p.node == node && p.ifname == dev;
      for (const auto& p : bridge.ports)
        if (box_here && p.node == router) router_ifname = p.ifname;
    }
    if (router_ifname.empty())
      throw std::logic_error("topology '" + t.name + "': the router shares no bridge with " + node +
                             ":" + dev);
    auto answer = topo::arp_probe(live_.netns(router), router_ifname, layout_.vip,
                                  std::chrono::milliseconds(300));
    return answer && *answer == live_.mac(node, dev);
  }

  std::string guest_shell(Director& d, const std::string& script) {
    auto r = d.kernel->shell(script);
    if (!r.ok())
      throw std::runtime_error(fmt::format("{}'s guest, exit {}: {}\nscript:\n{}", d.role,
                                           r.exit_code, r.output, script));
    return r.output;
  }

  const ScenarioOptions& options_;
  const Layout& layout_;
  const topo::LiveTopology& live_;
  Director master_, backup_;
};

// With sync, the link case's failback returns to a master that was cut off while the flows it
// meets were made through the backup: their sync messages (a connection's 3rd packet, then every
// 50th; multicast, never resent) went out while it could not hear them. It has a TCP connection
// only if a later message reached it before it took the VIP back, so a RST there is as the
// kernel's sync predicts, not a failure of it; seen on a pair of kernel guests as on vsd.
bool cut_off_while_synced(const PhaseReport& phase) {
  return phase.failure == Failure::PullLink && phase.phase == "failback";
}

void judge(PhaseReport& phase, bool sync) {
  for (const auto& f : phase.flows) {
    const bool tcp = f.flow.rfind("tcp", 0) == 0;
    if (sync && tcp && cut_off_while_synced(phase)) {
      if (!f.client_reset && !f.resumed)
        phase.problems.push_back(f.flow + ": neither went on nor was reset (" + f.detail + ")");
    } else if (sync) {
      if (f.client_reset || f.server_reset)
        phase.problems.push_back(f.flow +
                                 ": reset, though the new master had its connection by sync");
      else if (!f.resumed)
        phase.problems.push_back(f.flow + ": did not go on through the new master (" + f.detail +
                                 ")");
    } else if (tcp && !f.client_reset) {
      phase.problems.push_back(
          f.flow +
          ": no RST reached the client, but the new master has no entry for it and the "
          "spec answers its next segment with a RST from the VIP (docs/ipvs.md section 3)" +
          (f.resumed ? "; it went on as if synced" : ""));
    } else if (!tcp && !f.resumed) {
      phase.problems.push_back(f.flow +
                               ": did not go on, but a datagram with no entry makes a new "
                               "one on the new master (" +
                               f.detail + ")");
    }
  }
}

// One phase: flows through `from`, the event, the VIP on `to`, the flows timed.
PhaseReport measure(Pair& pair, const FlowTargets& targets, Failure failure,
                    const std::string& name, Director& from, Director& to,
                    const std::function<void()>& event, bool sync,
                    const std::function<void(const std::string&)>& progress) {
  PhaseReport phase;
  phase.failure = failure;
  phase.phase = name;
  FlowSet flows(targets);
  // A master cut off from its links cannot hear the sync of flows made meanwhile.
  if (sync && !cut_off_while_synced(phase)) {
    const auto deadline = Clock::now() + seconds(10);
    const auto ends = flows.client_ends();
    while (!pair.lists_the_flows(to, ends)) {
      if (Clock::now() >= deadline)
        throw std::runtime_error(to.role + " never listed the flows' connections by sync");
      poll(nullptr, 0, 50);
    }
  }
  // The VRRP advertisements cross vsd's ingress both ways: the other director stayed backup.
  if (pair.holds_vip(to) || !pair.holds_vip(from))
    throw std::runtime_error(fmt::format("before the {}: {} {} the VIP and {} {} it", name,
                                         from.role,
                                         pair.holds_vip(from) ? "holds" : "does not hold", to.role,
                                         pair.holds_vip(to) ? "holds" : "does not hold"));
  progress(
      fmt::format("{} {}: flows through {}, now the event", name_of(failure), name, from.role));
  const auto at_event = Clock::now();
  event();
  if (!pair.wait_for_vip(to, at_event + kVipMoves))
    throw std::runtime_error(
        fmt::format("the VIP did not move to {} within {} s", to.role, kVipMoves.count()));
  const auto moved = Clock::now();
  phase.vip_moved_ms = std::chrono::duration<double, std::milli>(moved - at_event).count();
  progress(fmt::format("{} {}: {} holds the VIP after {:.0f} ms", name_of(failure), name, to.role,
                       *phase.vip_moved_ms));
  // Each flow goes on or ends on an error; TCP's retransmission backoff may take seconds.
  const auto settle_by = moved + seconds(15);
  while (!flows.settled_since(moved) && Clock::now() < settle_by) {
    os::throw_if_interrupted();
    poll(nullptr, 0, 10);
  }
  flows.poke_idle(Clock::now() + seconds(10));
  // A few more arrivals, so that "went on" is more than one datagram.
  flows.progressed_since(Clock::now(), Clock::now() + milliseconds(500));
  phase.flows = flows.finish(at_event, moved);
  judge(phase, sync);
  return phase;
}

void run_one(const ScenarioOptions& options, Failure failure, ScenarioReport& report,
             const std::function<void(const std::string&)>& progress) {
  const Layout& layout = layout_of(options.mode);
  const std::string file = (topo::topology_dir() / layout.topology).string();
  auto parsed = topo::parse_topology_file(file);
  if (!parsed.ok()) {
    std::string errors;
    for (const auto& e : parsed.errors) errors += e + "\n";
    throw std::runtime_error(errors);
  }
  // The boxes first: the bring-up lends each its ports.
  std::unique_ptr<dut::ExternalDut> boxes[2];
  topo::BringUpOptions bring_up;
  for (int i = 0; i < 2; ++i) {
    const bool master = i == 0;
    if ((master ? options.master_kind : options.backup_kind) != DirectorKind::External) continue;
    boxes[i] = std::make_unique<dut::ExternalDut>(master ? options.master_box : options.backup_box);
    boxes[i]->set_role(master ? "director" : "backup");
    bring_up.add_external_boxes(boxes[i]->bring_up_options());
  }
  topo::LiveTopology live(*parsed.topology, bring_up);
  Pair pair(options, layout, live, std::move(boxes[0]), std::move(boxes[1]));
  FlowTargets targets;
  targets.client_netns = live.netns(live.topology().find_role("client")->name);
  for (const char* rs : {"rs1", "rs2"}) targets.server_netns.push_back(live.netns(rs));
  targets.vip = layout.vip;
  if (options.mode == "dr") targets.udp_bind = layout.vip;
  auto& master = pair.master();
  auto& backup = pair.backup();
  PhaseReport* current = nullptr;
  try {
    pair.start(master);
    pair.move_vip(backup, master);
    if (!pair.wait_for_vip(master, Clock::now() + kVipMoves))
      throw std::runtime_error("the master never took the VIP");
    pair.start(backup);
    progress(fmt::format("{}: master and backup up", name_of(failure)));

    auto fail = [&] {
      if (failure == Failure::Kill) {
        pair.kill(master);
      } else {
        pair.set_links(master, false);
      }
      pair.move_vip(master, backup);
    };
    // The killed master boots again: vsd (and its sync daemons) before the failback, so that
    // the flows made through the backup reach it by sync; keepalived's start is the event.
    auto restore = [&] {
      if (failure == Failure::Kill) {
        pair.start_vrrp(master);
      } else {
        pair.set_links(master, true);
      }
      pair.move_vip(backup, master);
    };
    report.phases.push_back(PhaseReport{});
    report.phases.back().failure = failure;
    report.phases.back().phase = "failover";
    current = &report.phases.back();
    *current =
        measure(pair, targets, failure, "failover", master, backup, fail, options.sync, progress);
    if (failure == Failure::Kill) pair.start_director(master);
    report.phases.push_back(PhaseReport{});
    report.phases.back().failure = failure;
    report.phases.back().phase = "failback";
    current = &report.phases.back();
    *current = measure(pair, targets, failure, "failback", backup, master, restore, options.sync,
                       progress);
  } catch (const NoSync&) {
    throw;
  } catch (const dut::DutUnavailable&) {
    throw;
  } catch (const os::Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    if (!current) {
      report.phases.push_back(PhaseReport{});
      report.phases.back().failure = failure;
      report.phases.back().phase = "failover";
      current = &report.phases.back();
    }
    current->error = std::string(e.what()) + "\n" + pair.logs();
  }
}

// The config keys a case needs of the external boxes and they lack: "[failover] kill in F".
std::vector<std::string> missing_commands(const ScenarioOptions& o, Failure failure) {
  std::vector<std::string> missing;
  for (int i = 0; i < 2; ++i) {
    const bool master = i == 0;
    if ((master ? o.master_kind : o.backup_kind) != DirectorKind::External) continue;
    const auto& config = master ? o.master_box : o.backup_box;
    auto need = [&](const std::optional<std::string>& command, const std::string& key) {
      if (!command)
        missing.push_back(key + " in " + (config.source.empty() ? "the config" : config.source));
    };
    const auto& f = config.failover;
    if (o.sync) need(config.admin, "[dut] admin");
    if (o.mover == VipMover::Harness) {
      need(f.take_vip, "[failover] take_vip");
      need(f.release_vip, "[failover] release_vip");
    }
    if (master && failure == Failure::Kill) {
      need(f.kill, "[failover] kill");
      need(f.revive, "[failover] revive");
      if (o.mover == VipMover::Keepalived) need(f.start_vrrp, "[failover] start_vrrp");
    }
  }
  return missing;
}

}  // namespace

std::string name_of(Failure failure) {
  return failure == Failure::Kill ? "kill" : "link";
}

std::optional<Failure> failure_named(const std::string& name) {
  if (name == "kill") return Failure::Kill;
  if (name == "link") return Failure::PullLink;
  return std::nullopt;
}

bool ScenarioReport::passed() const {
  if (!skipped.empty() || phases.empty()) return false;
  for (const auto& p : phases)
    if (!p.problems.empty() || !p.error.empty()) return false;
  return true;
}

bool ScenarioReport::erred() const {
  for (const auto& p : phases)
    if (!p.error.empty()) return true;
  return false;
}

ScenarioReport run_failover(const ScenarioOptions& options,
                            const std::function<void(const std::string&)>& progress) {
  ScenarioReport report;
  report.sync = options.sync;
  report.mover = options.mover;
  report.mode = options.mode;
  report.master_kind = options.master_kind;
  report.backup_kind = options.backup_kind;
  if (!topo::have_net_admin()) {
    report.skipped = "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    return report;
  }
  const bool any_vsd =
      options.master_kind == DirectorKind::Vsd || options.backup_kind == DirectorKind::Vsd;
  if (any_vsd && options.mover == VipMover::Keepalived && Keepalived::binary().empty()) {
    report.skipped = "keepalived is not installed (scripts/setup.sh installs it)";
    return report;
  }
  auto box_name = [](const dut::ExternalConfig& c) { return c.name.empty() ? c.source : c.name; };
  report.master_name = box_name(options.master_box);
  report.backup_name = box_name(options.backup_box);
  std::vector<Failure> runnable;
  for (Failure f : options.failures) {
    auto missing = missing_commands(options, f);
    if (missing.empty()) {
      runnable.push_back(f);
      continue;
    }
    std::string text = name_of(f) + ": not configured: ";
    for (std::size_t i = 0; i < missing.size(); ++i) text += (i ? ", " : "") + missing[i];
    report.skipped_cases.push_back(text);
  }
  if (runnable.empty()) {
    for (const auto& line : report.skipped_cases)
      report.skipped += (report.skipped.empty() ? "" : "; ") + line;
    return report;
  }
  try {
    for (Failure f : runnable) {
      os::throw_if_interrupted();
      run_one(options, f, report, progress);
    }
  } catch (const NoSync& e) {
    report.phases.clear();
    report.skipped = e.what();
  } catch (const dut::DutUnavailable& e) {
    report.phases.clear();
    report.skipped = e.what();
  } catch (const os::Interrupted&) {
    // What ran is reported; the caller exits as the signal asks.
  }
  return report;
}

static std::string pair_name(const ScenarioReport& report) {
  auto name = [](DirectorKind k) {
    return k == DirectorKind::Vsd ? "vsd" : "Linux IPVS under qemu";
  };
  if (report.master_kind == DirectorKind::External)
    return fmt::format("external pair (master {}, backup {})", report.master_name,
                       report.backup_name);
  if (report.master_kind == DirectorKind::Vsd && report.backup_kind == DirectorKind::Vsd)
    return "builtin pair (vsd --vips-follow-host)";
  if (report.master_kind == report.backup_kind)
    return "qemu-kernel pair (Linux IPVS under qemu on both)";
  return fmt::format("mixed pair (master {}, backup {})", name(report.master_kind),
                     name(report.backup_kind));
}

std::string format_report(const ScenarioReport& report) {
  std::string out = fmt::format("vslab failover: {}, {}, the VIP moved by {}, {}\n",
                                pair_name(report), report.mode == "dr" ? "DR" : "NAT",
                                report.mover == VipMover::Harness ? "the harness"
                                : report.master_kind == DirectorKind::External
                                    ? "the boxes' own VRRP (seen by ARP from the router)"
                                    : "keepalived's VRRP (advert_int 0.5 s)",
                                report.sync ? "with connection sync" : "without connection sync");
  if (!report.skipped.empty()) return out + "skipped: " + report.skipped + "\n";
  for (const auto& line : report.skipped_cases) out += "skipped " + line + "\n";
  out += report.sync
             ? "Predicted: the new master has every connection by sync; no flow is reset, each "
               "goes on after a gap.\nExcept the link case's failback: the returning master "
               "was cut off while those flows were\nsynced (3rd packet, then every 50th; never "
               "resent), so a TCP flow may meet a RST there.\n"
             : "Predicted (docs/ipvs.md section 3): the new master has no entry for the flows. "
               "The next segment of\neach TCP connection that reaches it is answered by a RST "
               "from the VIP; a UDP datagram makes a\nnew entry, and the flow goes on.\n";
  out += fmt::format("{:<5} {:<9} {:>10}  {:<11} {:>5} {:>9}  {:<10} {:<10} {}\n", "case", "phase",
                     "VIP moved", "flow", "lost", "gap ms", "client RST", "server RST", "verdict");
  for (const auto& p : report.phases) {
    const std::string moved = p.vip_moved_ms ? fmt::format("{:.0f} ms", *p.vip_moved_ms) : "-";
    if (!p.error.empty() && p.flows.empty()) {
      out += fmt::format("{:<5} {:<9} {:>10}  ERROR: {}\n", name_of(p.failure), p.phase, moved,
                         p.error);
      continue;
    }
    for (const auto& f : p.flows) {
      bool wrong = false;
      for (const auto& problem : p.problems) wrong |= problem.rfind(f.flow + ":", 0) == 0;
      const std::string gap = f.gap_ms ? fmt::format("{:.0f}", *f.gap_ms) : "none";
      out += fmt::format("{:<5} {:<9} {:>10}  {:<11} {:>5} {:>9}  {:<10} {:<10} {}\n",
                         name_of(p.failure), p.phase, moved, f.flow, f.lost,
                         f.resumed                          ? gap
                         : f.client_reset || f.server_reset ? "reset"
                                                            : "stopped",
                         f.client_reset ? "yes" : "no", f.server_reset ? "yes" : "no",
                         wrong ? "FAIL" : "as predicted");
    }
    for (const auto& problem : p.problems) out += "  FAIL " + problem + "\n";
    if (!p.error.empty()) out += "  ERROR " + p.error + "\n";
  }
  out +=
      "lost: TCP segments the client retransmitted, UDP datagrams with no echo; gap: the "
      "longest time\nwithout an arrival from the event on (the idle connection: its first "
      "send after the event to\nthe echo); reset: the flow ended by a RST; stopped: nothing after "
      "the VIP moved.\n";
  return out;
}

}  // namespace vslab::failover
