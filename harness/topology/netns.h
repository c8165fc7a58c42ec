// Running commands and entering network namespaces: the two ways the harness touches the
// kernel's network configuration.
#pragma once

#include <string>
#include <vector>

#include "os/unique_fd.h"

namespace vslab::topo {

struct CommandResult {
  int exit_code = -1;  // -1: could not start, 128+N: killed by signal N
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0; }
};

// Runs argv (no shell) and waits for it.
CommandResult run_command(const std::vector<std::string>& argv);

// One line a person can paste into a shell.
std::string shell_quote(const std::vector<std::string>& argv);

// Moves the calling thread into a named namespace (/run/netns/NAME) and back on destruction.
// Sockets opened meanwhile stay bound to the namespace (docs/design.md).
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& netns_name);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  os::UniqueFd home_fd_;
};

std::string netns_path(const std::string& netns_name);
bool netns_exists(const std::string& netns_name);
std::vector<std::string> list_netns();

// Pids of the processes whose network namespace is the named one.
std::vector<int> pids_in_netns(const std::string& netns_name);
// Kills those processes (SIGKILL) and deletes the namespace; veths in it go with it.
// Returns an empty string or what went wrong.
std::string delete_netns(const std::string& netns_name);

// Whether this process may create namespaces and links.
bool have_net_admin();

}  // namespace vslab::topo
