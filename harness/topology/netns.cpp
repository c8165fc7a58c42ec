#include "topology/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fmt/core.h>

#include "os/child_process.h"
#include "os/whole_io.h"

namespace vslab::topo {

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  if (argv.empty()) return result;
  os::FdPair output;
  try {
    output = os::make_pipe(O_CLOEXEC);
  } catch (const std::system_error& e) {
    result.output = fmt::format("pipe: {}", std::strerror(e.code().value()));
    return result;
  }
  const os::UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  os::SpawnOptions options;
  options.stdin_fd = devnull.get();
  options.stdout_fd = output.second.get();
  options.stderr_fd = output.second.get();
  // A terminal's ^C reaches the harness alone, which then finishes or skips what it runs;
  // an `ip netns delete` killed by it half-way would leave a run behind.
  options.new_process_group = true;
  os::ChildProcess child;
  try {
    child = os::ChildProcess::spawn(argv, options);
  } catch (const std::system_error& e) {
    result.output = fmt::format("fork: {}", std::strerror(e.code().value()));
    return result;
  }
  output.second.reset();
  os::read_to_end(output.first.get(), result.output);
  output.first.reset();
  result.exit_code = os::exit_code_of(child.wait());
  return result;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:=,@+%", c);
    });
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) line += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string netns_path(const std::string& netns_name) {
  return "/run/netns/" + netns_name;
}

bool netns_exists(const std::string& netns_name) {
  struct stat st;
  return stat(netns_path(netns_name).c_str(), &st) == 0;
}

std::vector<std::string> list_netns() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

NetnsGuard::NetnsGuard(const std::string& netns_name) {
  home_fd_.reset(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home_fd_)
    throw std::runtime_error(
        fmt::format("cannot open own network namespace: {}", std::strerror(errno)));
  const os::UniqueFd target(open(netns_path(netns_name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) {
    throw std::runtime_error(
        fmt::format("network namespace '{}': {}", netns_name, std::strerror(errno)));
  }
  if (setns(target.get(), CLONE_NEWNET) != 0) {
    throw std::runtime_error(
        fmt::format("cannot enter network namespace '{}': {}", netns_name, std::strerror(errno)));
  }
}

NetnsGuard::~NetnsGuard() {
  // Failing to return would leave this thread's later sockets in the wrong namespace.
  if (setns(home_fd_.get(), CLONE_NEWNET) != 0) std::terminate();
}

std::vector<int> pids_in_netns(const std::string& netns_name) {
  std::vector<int> pids;
  struct stat target;
  if (stat(netns_path(netns_name).c_str(), &target) != 0) return pids;
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    struct stat st;
    std::string path = fmt::format("/proc/{}/ns/net", pid);
    if (stat(path.c_str(), &st) == 0 && st.st_ino == target.st_ino && st.st_dev == target.st_dev)
      pids.push_back(static_cast<int>(pid));
  }
  closedir(proc);
  return pids;
}

std::string delete_netns(const std::string& netns_name) {
  for (int pid : pids_in_netns(netns_name))
    if (pid != getpid()) kill(pid, SIGKILL);
  auto result = run_command({"ip", "netns", "delete", netns_name});
  if (!result.ok() && netns_exists(netns_name))
    return fmt::format("ip netns delete {}: {}", netns_name, result.output);
  return {};
}

bool have_net_admin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) != 0 &&
         (data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))) != 0;
}

}  // namespace vslab::topo
