// vsd: the vslab director daemon. Runs in the director's network namespace, owns the data
// ports it is given, and forwards as Linux IPVS does; vsadm configures it over a unix socket.
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>

#include "io/host_addresses.h"
#include "io/idle_spin.h"
#include "io/ingress_drop.h"
#include "io/ingress_tables.h"
#include "io/nft_session.h"
#include "io/packet_socket.h"
#include "io/routes.h"
#include "os/unique_fd.h"
#include "vsd/call_queue.h"
#include "vsd/control_bridge.h"
#include "vsd/control_server.h"
#include "vsd/dataplane.h"
#include "vsd/fault_switch.h"
#include "vsd/host_watch.h"
#include "vsd/ingress_services.h"
#include "vsd/log.h"
#include "vsd/rules_file.h"
#include "vsd/sync_daemons.h"
#include "vsd/workers.h"
#include "vslab_version.h"

namespace {

uint32_t interface_mtu(const std::string& ifname) {
  const vslab::os::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(fd.get(), SIOCGIFMTU, &req);
  if (rc != 0) throw std::runtime_error("port " + ifname + ": " + std::strerror(errno));
  return static_cast<uint32_t>(req.ifr_mtu);
}

void enter_netns(const std::string& name) {
  std::string path = "/run/netns/" + name;
  const vslab::os::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || setns(fd.get(), CLONE_NEWNET) != 0)
    throw std::runtime_error("cannot enter network namespace " + name + ": " +
                             std::strerror(errno));
}

int signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

// MemAvailable of /proc/meminfo, in bytes; nothing when it cannot be read.
std::optional<uint64_t> available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::nullopt;
}

// The table is allocated and touched whole at start: one that cannot fit is refused now, with
// its size, rather than found by the OOM killer.
void check_table_fits(uint32_t entries) {
  const uint64_t bytes = uint64_t{entries} * vsd::ConnTable::kBytesPerEntry;
  const auto available = available_memory();
  if (available && bytes > *available)
    throw std::runtime_error("--conn-table-size " + std::to_string(entries) + " needs " +
                             std::to_string(bytes >> 20) + " MiB, and " +
                             std::to_string(*available >> 20) + " MiB are available");
}

// The signals waiting on the signalfd, in arrival order (one of each kind at most).
std::vector<int> pending_signals(int sig_fd) {
  std::vector<int> signals;
  signalfd_siginfo info;
  while (read(sig_fd, &info, sizeof info) == ssize_t(sizeof info))
    signals.push_back(static_cast<int>(info.ssi_signo));
  return signals;
}

std::string describe(const vsd::IngressTable& table) {
  std::string ports;
  for (const auto& device : table.devices) ports += (ports.empty() ? "" : ", ") + device;
  return "table netdev " + table.name +
         ", which no live vsd owned (ports: " + (ports.empty() ? "none" : ports) + ")";
}

// vsd --cleanup: the leftovers of a vsd that is gone (tables a live vsd owns are never
// touched), for a vsd started by hand that no harness tracks.
int run_cleanup(const std::string& netns, const std::vector<std::string>& ports) {
  try {
    if (!netns.empty()) enter_netns(netns);
    vsd::NftSession nft;
    auto removed = vsd::remove_leftover_tables(nft, ports);
    for (const auto& table : removed) std::cout << "vsd: removed " << describe(table) << "\n";
    if (removed.empty()) std::cout << "vsd: no leftover ingress table\n";
    std::cout << std::flush;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vsd: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vsd: the vslab director (user-space LVS: NAT, DR, TUN, FULLNAT)"};
  app.set_version_flag("--version", "vsd (vslab " VSLAB_VERSION ")");
  std::vector<std::string> port_names;
  std::string socket_path = "/run/vsd/vsd.sock";
  std::string netns;
  std::string level = "info";
  unsigned ipfrag_time = 30;
  app.add_option("--port", port_names,
                 "Data port (interface) to own; repeat for each. A port another live vsd "
                 "serves is refused");
  std::vector<std::string> cleanup_ports;
  app.add_option("--cleanup", cleanup_ports,
                 "Remove the ingress drop tables no live vsd owns (an older vsd's, one made by "
                 "hand) on these ports, or on every port when none is named, then exit; vsd "
                 "does it for its own ports at start")
      ->expected(0, -1)
      ->type_name("[PORT]");
  app.add_option("--socket", socket_path, "Control socket for vsadm")->capture_default_str();
  app.add_option("--netns", netns, "Network namespace to run in (/run/netns/NAME)");
  app.add_option("--log-level", level, "error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->capture_default_str();
  app.add_option("--ipfrag-time", ipfrag_time,
                 "Seconds a fragmented datagram may take to complete (net.ipv4.ipfrag_time)")
      ->check(CLI::Range(1u, 86400u))
      ->capture_default_str();
  uint32_t conn_table_size = vsd::ConnTableConfig::kDefaultCapacity;
  app.add_option("--conn-table-size", conn_table_size,
                 "Connection table entries (connections plus persistence templates), allocated "
                 "at start: " +
                     std::to_string(vsd::ConnTable::kBytesPerEntry) +
                     " bytes each. Past seven eighths full, half-open entries are dropped early "
                     "and SYN_RECV lasts 5 s; when full, new connections are dropped unanswered")
      ->check(CLI::Range(uint32_t{16}, vsd::ConnTableConfig::kMaxCapacity))
      ->type_name("N")
      ->capture_default_str();
  bool sloppy_tcp = false;
  app.add_flag("--sloppy-tcp", sloppy_tcp,
               "The same as --sysctl sloppy_tcp=1: make a connection for any TCP segment but a "
               "RST, not only for a SYN; for directors behind an ECMP router, which may hand "
               "one a flow mid-connection");
  std::vector<std::string> sysctl_args;
  app.add_option("--sysctl", sysctl_args,
                 "Set a net.ipv4.vs setting as the kernel has it (NAME with or without the "
                 "net.ipv4.vs. prefix), e.g. expire_nodest_conn=1; repeat for each. `vsadm "
                 "--sysctl` reads and changes them at run time")
      ->type_name("NAME=VALUE");
  std::string rules_file;
  app.add_option("--rules", rules_file,
                 "ipvsadm rules (as `ipvsadm -S` writes them) to load at start; SIGHUP loads the "
                 "file again, all or nothing (without --rules, SIGHUP stops vsd)")
      ->type_name("FILE");
  bool vips_follow_host = false;
  app.add_flag("--vips-follow-host", vips_follow_host,
               "A VIP is this director's only while the host holds it (keepalived's "
               "virtual_ipaddress): vsd answers no ARP or echo itself and leaves both to the "
               "kernel, so a backup director that does not hold the VIP stays silent. Every "
               "VIP and FULLNAT local address must then be put on the host to be reached");
  unsigned idle_spin_us = vsd::kDefaultIdleSpinUs;
  app.add_option("--idle-spin-us", idle_spin_us,
                 "Microseconds to keep looking at the RX rings, after the last frame, before "
                 "sleeping: a frame in that time is forwarded without a wake-up (lower "
                 "latency at light load, that much CPU); 0 sleeps at once")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  uint32_t workers = 1;
  app.add_option("--workers", workers,
                 "Data-plane threads: the kernel spreads the clients over them, each with its own "
                 "rings, connection table and schedulers (--conn-table-size is shared out "
                 "evenly). The sync daemons need 1 so far")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  std::vector<std::string> fault_names;
  app.add_option("--test-fault", fault_names,
                 "For conformance self-tests only, never in service: make this director wrong on "
                 "purpose (" +
                     vsd::test_fault_names() + "); repeat for each")
      ->type_name("NAME")
      ->group("Test only");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 numbers its errors 105 and up; a usage error is 2 for every tool of the project,
    // as for ipvsadm's own. --help and --version stay 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  vsd::set_log_level(level);
  if (app.count("--cleanup") > 0) {
    cleanup_ports.insert(cleanup_ports.end(), port_names.begin(), port_names.end());
    // CLI11 gives a bare --cleanup one empty value.
    std::erase(cleanup_ports, std::string());
    return run_cleanup(netns, cleanup_ports);
  }
  if (port_names.empty()) {
    std::cerr << "--port is required\nRun with --help for more information." << std::endl;
    return 2;
  }
  vsd::Sysctls sysctls;
  if (sloppy_tcp) sysctls.sloppy_tcp = 1;
  for (const auto& arg : sysctl_args) {
    auto assignment = vsd::split_assignment(arg);
    std::string error = assignment ? vsd::set_sysctl(sysctls, assignment->first, assignment->second)
                                   : "--sysctl " + arg + ": expected NAME=VALUE";
    if (!error.empty()) {
      std::cerr << "vsd: " << error << std::endl;
      return 2;
    }
  }
  // Checked here rather than by CLI11, so that a wrong name exits 2 as a usage error does.
  auto faults = vsd::parse_test_faults(fault_names);
  if (!faults.ok()) {
    std::cerr << "vsd: " << faults.failure().message << std::endl;
    return faults.failure().exit_code;
  }

  try {
    for (auto fault : faults.value()) {
      vsd::switch_on(fault);
      vsd::log_warn("vsd: test fault " + std::string(vsd::name_of(fault)) +
                    " is on: this director is wrong on purpose");
    }
    // A file that cannot be read or parsed stops vsd before it takes any port.
    std::optional<vsd::ctl::Result<vsd::RuleSet>> initial_rules;
    if (!rules_file.empty()) {
      initial_rules = vsd::read_rules_file(rules_file);
      if (!initial_rules->ok()) throw std::runtime_error(initial_rules->failure().message);
    }
    check_table_fits(conn_table_size);
    // Before any port is taken: a second vsd on a live socket changes nothing of the first's.
    vsd::ControlServer::check_not_in_use(socket_path);
    if (!netns.empty()) enter_netns(netns);
    int sig_fd = signal_fd();
    std::vector<uint32_t> mtus;
    for (const auto& name : port_names) mtus.push_back(interface_mtu(name));
    // The ports are claimed before any ring is opened: a port another vsd serves stops this
    // one before it has seen, let alone forwarded, a single frame.
    auto host = vsd::HostAddresses::read_from_kernel();
    vsd::IngressDrop ingress_drop(port_names, host);
    for (const auto& table : ingress_drop.leftovers_removed())
      vsd::log_warn("vsd: removed " + describe(table));
    std::vector<std::unique_ptr<vsd::PacketSocket>> ports;
    for (std::size_t i = 0; i < port_names.size(); ++i)
      ports.push_back(std::make_unique<vsd::PacketSocket>(port_names[i], mtus[i]));
    // The exception path's sets follow the rules and the host's addresses; a failed update
    // leaves the previous sets in place, so it is logged, not fatal.
    auto update_ingress = [&](const std::string& error) {
      if (!error.empty()) vsd::log_error("vsd: " + error);
    };
    auto services_changed = [&](const vsd::RuleSet& rules) {
      update_ingress(ingress_drop.set_services(vsd::ingress_services_of(rules)));
    };
    vsd::fwd::ReassemblyLimits reassembly;
    reassembly.timeout_ms = uint64_t(ipfrag_time) * 1000;
    vsd::ConnTableConfig table;
    table.capacity = std::max<uint32_t>(conn_table_size / workers, 16);
    const auto routes = vsd::RoutingTable::read_from_kernel();
    // Declared before the data planes: their installs find the shared objects here.
    vsd::SharedScheduling shared_scheduling;
    vsd::Dataplane dataplane(ports, routes, vsd::Dataplane::default_clock(), reassembly, table);
    // Workers 1 and up (vsd/workers.h): this thread is worker 0.
    std::vector<std::unique_ptr<vsd::Worker>> more_workers;
    for (uint32_t w = 1; w < workers; ++w) {
      std::vector<std::unique_ptr<vsd::PacketSocket>> own;
      for (std::size_t i = 0; i < port_names.size(); ++i)
        own.push_back(std::make_unique<vsd::PacketSocket>(port_names[i], mtus[i]));
      auto worker =
          std::make_unique<vsd::Worker>(std::move(own), std::chrono::microseconds(idle_spin_us));
      worker->set_dataplane(std::make_unique<vsd::Dataplane>(
          worker->ports(), routes, vsd::Dataplane::default_clock(), reassembly, table));
      more_workers.push_back(std::move(worker));
    }
    std::vector<vsd::Dataplane*> dataplanes{&dataplane};
    for (auto& w : more_workers) dataplanes.push_back(&w->dataplane());
    if (workers > 1)
      for (uint32_t w = 0; w < workers; ++w) {
        dataplanes[w]->set_worker(uint16_t(w), uint16_t(workers));
        dataplanes[w]->share_scheduling(&shared_scheduling, w == 0);
      }
    for (auto* dp : dataplanes) {
      dp->set_host_addresses(host);
      dp->set_vips_follow_host(vips_follow_host);
    }
    // Runs on this thread, the data plane's, between two batches, as a control call does.
    auto load_rules = [&](const vsd::ctl::Result<vsd::RuleSet>& rules) {
      std::string error =
          rules.ok() ? vsd::refused_with_workers(rules.value(), workers) : rules.failure().message;
      for (auto* dp : dataplanes)
        if (error.empty()) error = dp->install(rules.value());
      if (!error.empty()) return error;
      services_changed(rules.value());
      vsd::log_info("vsd: rules loaded from " + rules_file + ": " +
                    std::to_string(rules.value().services.size()) + " service(s)");
      return std::string();
    };
    for (auto* dp : dataplanes) dp->set_sysctls(sysctls);
    if (initial_rules)
      if (auto error = load_rules(*initial_rules); !error.empty()) throw std::runtime_error(error);
    vsd::CallQueue calls;
    std::vector<vsd::Lane> lanes{{&dataplane, &calls}};
    for (auto& w : more_workers) lanes.push_back({&w->dataplane(), &w->calls()});
    std::optional<vsd::FlowSteering> steering;
    vsd::InstallHooks hooks;
    if (workers > 1) {
      std::vector<std::vector<vsd::PacketSocket*>> rings(1);
      for (auto& p : ports) rings[0].push_back(p.get());
      for (auto& w : more_workers) {
        rings.emplace_back();
        for (auto& p : w->ports()) rings.back().push_back(p.get());
      }
      steering.emplace(rings, initial_rules ? initial_rules->value() : vsd::RuleSet{});
      hooks.before = [&](const vsd::RuleSet& now, const vsd::RuleSet& next) {
        return steering->before(now, next);
      };
      hooks.after = [&](const vsd::RuleSet& next) { steering->after(next); };
    }
    vsd::ControlBridge bridge(lanes, services_changed, hooks);
    // Declared before the guards below: they close the call queue before the daemons' threads,
    // which may be waiting on it, are joined.
    vsd::SyncDaemons sync_daemons(dataplane, calls);
    if (workers == 1) {
      bridge.set_sync_daemons(&sync_daemons);
    } else {
      bridge.set_no_sync_reason("the sync daemons need vsd --workers 1 so far");
    }
    // The data plane stops answering for a new host address before the chain lets the kernel
    // see it: a moment of silence rather than two answers.
    vsd::HostWatch host_watch(host, [&](const vsd::HostAddresses& fresh) {
      bool all = calls.call([&] { dataplane.set_host_addresses(fresh); });
      for (auto& w : more_workers)
        all = all && w->calls().call([&] { w->dataplane().set_host_addresses(fresh); });
      if (all) update_ingress(ingress_drop.set_host(fresh));
    });
    // Leaving this scope by an exception: a watch waiting on the data plane is let go before
    // it is joined (the normal exit closes the queue itself).
    struct CloseCalls {
      vsd::CallQueue& calls;
      ~CloseCalls() { calls.close(); }
    } close_calls{calls};
    // SIGHUP's file is read and prepared off this thread; the data plane only swaps it in.
    std::optional<vsd::RulesReloader> reloader;
    if (!rules_file.empty())
      reloader.emplace(rules_file,
                       [&](const vsd::RuleSet& rules) { return bridge.install(rules); });
    // Leaving this scope: the reload's call to the data plane is let go before it is joined.
    struct StopReload {
      vsd::CallQueue& calls;
      std::optional<vsd::RulesReloader>& reloader;
      ~StopReload() {
        calls.close();
        reloader.reset();
      }
    } stop_reload{calls, reloader};
    vsd::ControlServer control(socket_path, [&](const std::string& request) {
      return vsd::ctl::start_request(request, bridge);
    });

    std::vector<pollfd> fds;
    for (auto& p : ports) fds.push_back({p->rx_fd(), POLLIN, 0});
    fds.push_back({calls.fd(), POLLIN, 0});
    fds.push_back({sig_fd, POLLIN, 0});
    const std::size_t calls_at = ports.size(), signal_at = ports.size() + 1;

    for (auto& w : more_workers) w->start();
    // Leaving this scope: the workers stop with worker 0; their queues refuse calls from then
    // on, and they are freed after everything that may call them.
    struct StopWorkers {
      std::vector<std::unique_ptr<vsd::Worker>>& workers;
      ~StopWorkers() {
        for (auto& w : workers) w->stop();
      }
    } stop_workers{more_workers};
    if (workers > 1) vsd::log_info("vsd: " + std::to_string(workers) + " workers");
    vsd::log_info("vsd: ready on " + std::to_string(ports.size()) + " port(s), control " +
                  socket_path);
    std::cout << "vsd: ready" << std::endl;
    auto drain = [&](std::size_t port) {
      return ports[port]->drain(
          [&](std::span<uint8_t> frame, bool tagged) { dataplane.handle(port, frame, tagged); },
          [&](std::span<const uint8_t> frame, vsd::LookAhead stage) {
            dataplane.prefetch(frame, stage);
          });
    };
    // A batch from each port in turn, then the flush and the timers.
    auto serve = [&] {
      bool any = false;
      for (std::size_t i = 0; i < ports.size(); ++i) any |= drain(i) > 0;
      dataplane.flush();
      dataplane.tick();
      return any;
    };
    const vsd::IdleSpin spin{std::chrono::microseconds(idle_spin_us)};
    auto frame_waiting = [&] {
      for (const auto& p : ports)
        if (p->rx_ready()) return true;
      return false;
    };
    // However long frames keep coming during spins, the control socket and the signals are
    // looked at (by poll) at least this often.
    constexpr auto kPollEvery = std::chrono::milliseconds(1);
    bool busy = false;  // frames are waiting: look again without sleeping
    for (;;) {
      int n = poll(fds.data(), fds.size(), busy ? 0 : dataplane.next_timer_ms());
      if (n < 0 && errno != EINTR)
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      const auto polled = vsd::IdleSpin::Clock::now();
      busy = serve();
      if (fds[calls_at].revents & POLLIN) calls.run_pending();
      if (fds[signal_at].revents & POLLIN) {
        bool stop = false;
        for (int sig : pending_signals(sig_fd)) {
          if (sig != SIGHUP || !reloader) {
            stop = true;
          } else {
            reloader->request();
          }
        }
        if (stop) {
          vsd::log_info("vsd: signal received, exiting");
          break;
        }
      }
      // Nothing came: spin before sleeping, and serve what the spin finds straight away.
      while (!busy && spin.wait(frame_waiting)) {
        serve();
        busy = vsd::IdleSpin::Clock::now() - polled >= kPollEvery;
      }
    }
    // A request in progress gets "shutting down" rather than waiting for a loop that is gone.
    calls.close();
    control.stop();
    dataplane.flush();
    return 0;
  } catch (const std::exception& e) {
    vsd::log_error(std::string("vsd: ") + e.what());
    return 1;
  }
}
