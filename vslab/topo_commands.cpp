#include "topo_commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/core.h>

#include "selftest/selftest.h"
#include "topology/data_dir.h"
#include "topology/live.h"
#include "topology/parse.h"
#include "topology/runs.h"

namespace vslab::cli {
namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

std::optional<topo::Topology> load(const std::string& file) {
  auto parsed = topo::parse_topology_file(file);
  for (const auto& e : parsed.errors) std::cerr << e << "\n";
  return std::move(parsed.topology);
}

bool require_root(const char* what) {
  if (topo::have_net_admin()) return true;
  std::cerr << "vslab topo " << what
            << ": needs CAP_NET_ADMIN and CAP_SYS_ADMIN to manage network namespaces; run it as "
               "root\n";
  return false;
}

const char* state_name(topo::RunState s) {
  switch (s) {
    case topo::RunState::Running:
      return "running";
    case topo::RunState::Detached:
      return "detached";
    case topo::RunState::Orphaned:
      return "orphaned";
  }
  return "?";
}

// Blocks the termination signals so that sigwait() receives them instead of killing us
// half-way through a teardown.
sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

bool prefix_usable(const char* what, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (auto problem = topo::prefix_problem(prefix)) {
    std::cerr << "vslab topo " << what << ": --prefix " << *problem << "\n";
    return false;
  }
  return true;
}

// What /proc says the process is, for messages: "vslab (pid 42)".
std::string process_label(int pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? fmt::format("pid {}", pid) : fmt::format("{} (pid {})", comm, pid);
}

}  // namespace

std::string default_topology_path(const std::string& name) {
  auto local = std::filesystem::path("topologies") / name;
  if (std::filesystem::exists(local)) return local.string();
  return (topo::topology_dir() / name).string();
}

int topo_up(const UpOptions& options) {
  if (!prefix_usable("up", options.prefix)) return kUsage;
  auto topology = load(options.file);
  if (!topology) return kUsage;
  if (!require_root("up")) return kFailed;
  if (!options.prefix.empty()) {
    for (const auto& run : topo::list_runs()) {
      if (run.record.prefix == options.prefix) {
        std::cerr << "vslab topo up: run " << options.prefix
                  << " exists already (vslab topo list)\n";
        return kUsage;
      }
    }
  }
  auto signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  try {
    topo::BringUpOptions bring_up;
    bring_up.prefix = options.prefix;
    bring_up.detached = options.detach;
    bring_up.from_cli = true;
    topo::LiveTopology live(std::move(*topology), bring_up);
    std::cout << fmt::format("topology {} is up as run {}\n", live.topology().name,
                             live.naming().prefix);
    for (const auto& node : live.topology().nodes)
      std::cout << fmt::format("  {:<12} {:<10} netns {}\n", node.name, node.role,
                               live.netns(node.name));
    if (options.detach) {
      live.release();
      std::cout << fmt::format("detached; remove it with: vslab topo down {}\n",
                               live.naming().prefix);
      return 0;
    }
    std::cout << "ready; Ctrl-C (or vslab topo down) removes it" << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    auto errors = live.tear_down();
    if (!errors.empty()) {
      std::cerr << errors;
      return kFailed;
    }
    std::cout << "removed run " << live.naming().prefix << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "vslab topo up: " << e.what() << "\n";
    return kFailed;
  }
}

int topo_down(const std::vector<std::string>& wanted, bool all, bool force) {
  if (!require_root("down")) return kFailed;
  int status = 0;
  std::size_t removed = 0;
  auto runs = topo::list_runs();
  for (const auto& name : wanted) {
    if (std::none_of(runs.begin(), runs.end(),
                     [&](const auto& r) { return r.record.prefix == name; })) {
      std::cerr << "vslab topo down: no run " << name << " (see vslab topo list)\n";
      status = kFailed;
    }
  }
  for (const auto& run : runs) {
    bool chosen = wanted.empty() ? (all || run.record.from_cli)
                                 : std::count(wanted.begin(), wanted.end(), run.record.prefix) > 0;
    if (!chosen) continue;
    const bool foreign = run.state == topo::RunState::Running && run.record.owner_pid != getpid();
    if (foreign && !run.record.from_cli && !force) {
      // Its owner is using it: removing it would fail that run's cells, or its tests.
      std::cerr << fmt::format(
          "vslab topo down: run {} ({}) belongs to {}, which is still running; not removing "
          "it (--force removes it and sends its owner SIGTERM)\n",
          run.record.prefix, run.record.topology.empty() ? "?" : run.record.topology,
          process_label(run.record.owner_pid));
      status = kFailed;
      continue;
    }
    auto errors = topo::destroy_run(run);
    if (!errors.empty()) {
      std::cerr << errors;
      status = kFailed;
      continue;
    }
    // A foreground `vslab topo up` finds its namespaces gone and exits.
    if (run.state == topo::RunState::Running && run.record.owner_pid != getpid())
      kill(run.record.owner_pid, SIGTERM);
    std::cout << "removed run " << run.record.prefix << " (" << run.record.topology << ")\n";
    ++removed;
  }
  if (removed == 0 && status == 0) std::cout << "no run to remove\n";
  return status;
}

int topo_list() {
  auto runs = topo::list_runs();
  if (runs.empty()) {
    std::cout << "no vslab runs\n";
    return 0;
  }
  std::cout << fmt::format("{:<18} {:<12} {:<9} {:>7}  {}\n", "run", "topology", "state", "pid",
                           "namespaces");
  for (const auto& r : runs)
    std::cout << fmt::format("{:<18} {:<12} {:<9} {:>7}  {}\n", r.record.prefix,
                             r.record.topology.empty() ? "?" : r.record.topology,
                             state_name(r.state), r.record.owner_pid, r.netns.size());
  return 0;
}

int topo_script(const std::string& file, const std::string& prefix) {
  if (!prefix_usable("script", prefix)) return kUsage;
  auto topology = load(file);
  if (!topology) return kUsage;
  topo::Naming naming{prefix.empty() ? "vslab-" + topology->name : prefix};
  std::cout << topo::bring_up_script(*topology, naming);
  return 0;
}

int topo_check(const std::vector<std::string>& files) {
  int status = 0;
  for (const auto& f : files) {
    auto topology = load(f);
    if (!topology) {
      status = kUsage;
      continue;
    }
    std::cout << fmt::format("{}: ok ({} nodes, {} links, {} bridges)\n", f, topology->nodes.size(),
                             topology->links.size(), topology->bridges.size());
  }
  return status;
}

int topo_exec(const std::string& run, const std::string& node,
              const std::vector<std::string>& cmd) {
  std::vector<topo::RunInfo> candidates;
  for (auto& r : topo::list_runs()) {
    bool chosen = run.empty() ? (r.record.from_cli && r.state != topo::RunState::Orphaned)
                              : r.record.prefix == run;
    if (chosen) candidates.push_back(std::move(r));
  }
  if (candidates.size() != 1) {
    std::cerr << (candidates.empty()
                      ? (run.empty() ? "vslab topo exec: no topology is up (vslab topo up FILE)\n"
                                     : "vslab topo exec: no run " + run + "\n")
                      : "vslab topo exec: several topologies are up; pick one with --run "
                        "(vslab topo list)\n");
    return kUsage;
  }
  topo::Naming naming{candidates.front().record.prefix};
  auto netns = naming.node_netns(node);
  if (!topo::netns_exists(netns)) {
    std::cerr << fmt::format("vslab topo exec: run {} has no node '{}'\n", naming.prefix, node);
    return kUsage;
  }
  std::vector<std::string> argv{"ip", "netns", "exec", netns};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  execvp(args[0], args.data());
  std::perror("vslab topo exec: ip");
  return kFailed;
}

int topo_gc(bool include_detached) {
  if (!require_root("gc")) return kFailed;
  std::vector<std::string> errors;
  auto removed = topo::collect_garbage(include_detached, errors);
  for (const auto& line : removed) std::cout << "removed " << line << "\n";
  for (const auto& e : errors) std::cerr << e;
  if (removed.empty() && errors.empty()) std::cout << "nothing to remove\n";
  return errors.empty() ? 0 : kFailed;
}

int topo_selftest(const std::string& file, const std::string& pcap_dir) {
  if (!require_root("selftest")) return kFailed;
  auto path = file.empty() ? default_topology_path("selftest.toml") : file;
  try {
    selftest::SelftestBed bed(
        path, "selftest",
        pcap_dir.empty() ? check::default_failure_dir() : std::filesystem::path(pcap_dir));
    std::cout << fmt::format("vslab topo selftest: {} ({}), run {}\n",
                             bed.topology().topology().name, path, bed.topology().naming().prefix);
    auto rows = bed.run_all();
    std::cout << selftest::format_table(rows);
    bool all_ok = std::all_of(rows.begin(), rows.end(), [](const auto& r) { return r.result.ok; });
    return all_ok ? 0 : kFailed;
  } catch (const std::exception& e) {
    std::cerr << "vslab topo selftest: " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace vslab::cli
