#include "topology/live.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/runs.h"

namespace vslab::topo {

LiveTopology::LiveTopology(Topology topology, BringUpOptions options)
    : topology_(std::move(topology)),
      naming_{options.prefix.empty() ? new_run_prefix() : options.prefix} {
  // The record comes first, so that a kill at any later point leaves something gc can find.
  RunRecord record{naming_.prefix,
                   getpid(),
                   process_start_time(getpid()),
                   topology_.name,
                   topology_.source_file,
                   options.detached,
                   options.from_cli};
  write_run_record(record);
  up_ = true;
  for (const auto& cmd : bring_up_commands(topology_, naming_)) {
    auto result = run_command(cmd.argv);
    if (result.ok()) continue;
    auto teardown_errors = tear_down();
    throw std::runtime_error(
        fmt::format("topology '{}': {} failed\n  command: {}\n  {}{}", topology_.name, cmd.purpose,
                    shell_quote(cmd.argv), result.output.empty() ? "(no output)\n" : result.output,
                    teardown_errors.empty() ? "" : "teardown also failed: " + teardown_errors));
  }
}

LiveTopology::~LiveTopology() {
  if (!released_) tear_down();
}

std::string LiveTopology::netns(const std::string& node) const {
  if (!topology_.find_node(node))
    throw std::invalid_argument(
        fmt::format("topology '{}' has no node '{}'", topology_.name, node));
  return naming_.node_netns(node);
}

std::string LiveTopology::mac(const std::string& node, const std::string& ifname) const {
  return interface_mac(topology_, node, ifname);
}

CommandResult LiveTopology::exec(const std::string& node,
                                 const std::vector<std::string>& argv) const {
  std::vector<std::string> full{"ip", "netns", "exec", netns(node)};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full);
}

bool LiveTopology::ping(const std::string& node, const std::string& address, int deadline_s) const {
  // -w: keep sending until one reply arrives or the deadline passes (the first echo may
  // wait for ARP on each hop).
  return exec(node, {"ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", std::to_string(deadline_s),
                     address})
      .ok();
}

std::string LiveTopology::tear_down() noexcept {
  if (!up_) return {};
  std::string errors;
  try {
    for (const auto& ns : netns_names(topology_, naming_))
      if (netns_exists(ns)) errors += delete_netns(ns);
    if (errors.empty()) remove_run_record(naming_.prefix);
    // What programs of the run kept beside it (a DUT's control socket and log).
    std::error_code ec;
    std::filesystem::remove_all(run_files_dir(naming_.prefix), ec);
  } catch (const std::exception& e) {
    errors += e.what();
  }
  up_ = false;
  return errors;
}

}  // namespace vslab::topo
