// ChildProcess: fork/exec, waits with and without a deadline, and the kill-and-reap that
// keeps a child from outliving its owner.
#include "os/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "os/interrupt.h"
#include "os/unique_fd.h"

namespace vslab::os {
namespace {

pid_t fork_or_throw() {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  return pid;
}

}  // namespace

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv,
                                 const SpawnOptions& options) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess::spawn: empty argv");
  // Everything the child needs is made before fork: after it, a multithreaded parent's child
  // may only make async-signal-safe calls (no allocation).
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = fork_or_throw();
  if (pid == 0) {
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(127);
    }
    if (options.new_process_group) ::setpgid(0, 0);
    if (options.stdin_fd >= 0) ::dup2(options.stdin_fd, STDIN_FILENO);
    if (options.stdout_fd >= 0) ::dup2(options.stdout_fd, STDOUT_FILENO);
    if (options.stderr_fd >= 0) ::dup2(options.stderr_fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::dprintf(STDERR_FILENO, "%s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  // Also here: whoever signals the group right after spawn() must not find it missing.
  if (options.new_process_group) ::setpgid(pid, pid);
  return ChildProcess(pid, options.new_process_group);
}

ChildProcess ChildProcess::fork_running(const std::function<int()>& body) {
  const pid_t pid = fork_or_throw();
  if (pid == 0) {
    forget_interrupt_forwarding();
    int status = 1;
    try {
      status = body();
    } catch (...) {
    }
    ::_exit(status);
  }
  return ChildProcess(pid, false);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : own_group_(other.own_group_) {
  pid_ = other.release();
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    own_group_ = other.own_group_;
    pid_ = other.release();
  }
  return *this;
}

bool ChildProcess::has_exited() const noexcept {
  if (!owns()) return true;
  siginfo_t info{};
  // WNOWAIT: looks without reaping, so wait() still gets the status.
  if (::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid != 0;
}

bool ChildProcess::signal(int signo) const noexcept {
  return owns() && ::kill(pid_, signo) == 0;
}

bool ChildProcess::signal_group(int signo) const noexcept {
  if (!owns()) return false;
  return own_group_ ? ::kill(-pid_, signo) == 0 : ::kill(pid_, signo) == 0;
}

int ChildProcess::wait() noexcept {
  if (!owns()) return -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno == EINTR) continue;
    status = -1;  // ECHILD: reaped by someone else (SIGCHLD ignored); nothing is left to wait for
    break;
  }
  pid_ = -1;
  return status;
}

std::optional<int> ChildProcess::wait_until(Clock::time_point deadline) noexcept {
  if (!owns()) return -1;
  // A pidfd becomes readable when the child ends: one poll, no sleeping loop.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  for (;;) {
    if (has_exited()) return wait();
    // Rounded up: poll's milliseconds must not wake before the deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return std::nullopt;
    if (pidfd) {
      pollfd pfd{pidfd.get(), POLLIN, 0};
      ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    } else {
      // Kernels before 5.3 have no pidfd: look again every few milliseconds.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long long>(left, 5)));
    }
  }
}

int ChildProcess::stop(int signo) noexcept {
  signal(signo);
  return wait();
}

void ChildProcess::kill_and_reap() noexcept {
  if (!owns()) return;
  if (own_group_) ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  wait();
}

pid_t ChildProcess::release() noexcept {
  return std::exchange(pid_, -1);
}

int exit_code_of(int wait_status) noexcept {
  if (wait_status < 0) return -1;
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace vslab::os
