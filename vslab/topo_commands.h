// `vslab topo ...`: each subcommand as a function returning the process exit status.
#pragma once

#include <string>
#include <vector>

namespace vslab::cli {

struct UpOptions {
  std::string file;
  std::string prefix;
  bool detach = false;
};
int topo_up(const UpOptions& options);
// A run another live process owns (a conform, a test) is refused without `force`; a
// foreground `vslab topo up` is not, as it waits for exactly this.
int topo_down(const std::vector<std::string>& runs, bool all, bool force);
int topo_list();
int topo_script(const std::string& file, const std::string& prefix);
int topo_check(const std::vector<std::string>& files);
int topo_exec(const std::string& run, const std::string& node, const std::vector<std::string>& cmd);
int topo_gc(bool include_detached);
int topo_selftest(const std::string& file, const std::string& pcap_dir);

// The file under topologies/ of the source tree (or of the working directory).
std::string default_topology_path(const std::string& name);

}  // namespace vslab::cli
