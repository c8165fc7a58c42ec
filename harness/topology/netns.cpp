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

#include <fmt/core.h>

namespace vslab::topo {

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  if (argv.empty()) return result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    result.output = fmt::format("fork: {}", std::strerror(errno));
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return result;
  }
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvp(args[0], args.data());
    dprintf(STDERR_FILENO, "%s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(pipe_fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) result.output.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_code = 128 + WTERMSIG(status);
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
  home_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_fd_ < 0)
    throw std::runtime_error(
        fmt::format("cannot open own network namespace: {}", std::strerror(errno)));
  int target = open(netns_path(netns_name).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(home_fd_);
    throw std::runtime_error(
        fmt::format("network namespace '{}': {}", netns_name, std::strerror(err)));
  }
  int rc = setns(target, CLONE_NEWNET);
  int err = errno;
  close(target);
  if (rc != 0) {
    close(home_fd_);
    throw std::runtime_error(
        fmt::format("cannot enter network namespace '{}': {}", netns_name, std::strerror(err)));
  }
}

NetnsGuard::~NetnsGuard() {
  // Failing to return would leave this thread's later sockets in the wrong namespace.
  if (setns(home_fd_, CLONE_NEWNET) != 0) std::terminate();
  close(home_fd_);
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
