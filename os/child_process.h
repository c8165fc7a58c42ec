// One owner for a child process: it is killed (SIGKILL) and reaped when its owner goes, so no
// process outlives the object that started it unless it is explicitly released.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vslab::os {

// How the child is set up between fork and exec. Descriptors are dup2'ed onto 0, 1 and 2 in
// the child; -1 leaves the parent's in place.
struct SpawnOptions {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // PR_SET_PDEATHSIG: the signal the child gets when the thread that started it ends (the
  // harness killed mid-run); 0 for none. A child whose parent died before the signal was
  // armed exits 127 at once instead of running orphaned.
  int parent_death_signal = 0;
  // setpgid(0, 0): a process group of its own, so that a terminal's ^C (sent to the foreground
  // group) reaches the harness, which then stops the child itself, and not the child first.
  bool new_process_group = false;
};

class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;

  ChildProcess() noexcept = default;
  // fork + execvp(argv[0], argv). Throws std::system_error when fork fails and
  // std::invalid_argument for an empty argv. When exec fails the child writes
  // "argv[0]: reason" to its standard error and exits 127.
  static ChildProcess spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  // fork, and the child runs body and _exits with what it returns (1 if it throws); no
  // destructor of the parent's objects runs in the child. Throws std::system_error when fork
  // fails.
  static ChildProcess fork_running(const std::function<int()>& body);

  ~ChildProcess() { kill_and_reap(); }
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The child's pid while it is owned and not yet reaped; -1 otherwise.
  pid_t pid() const noexcept { return pid_; }
  bool owns() const noexcept { return pid_ > 0; }
  // Whether the child has ended (it stays unreaped: wait() still returns its status).
  bool has_exited() const noexcept;
  // kill(pid, signo); false when nothing is owned or kill fails.
  bool signal(int signo) const noexcept;
  // kill(-pid, signo) for a child started with new_process_group: it and whatever it started
  // that stayed in its group; the same as signal() otherwise.
  bool signal_group(int signo) const noexcept;
  // Waits for the child to end and reaps it: its wait status (decode with exit_code_of).
  // -1 when nothing is owned.
  int wait() noexcept;
  // The same, giving up at the deadline: nullopt when the child is still running (it stays
  // owned).
  std::optional<int> wait_until(Clock::time_point deadline) noexcept;
  // signal(signo) then wait(): the usual way to stop a child that handles SIGTERM.
  int stop(int signo) noexcept;
  // SIGKILL (to the whole group for a new_process_group child) and reap, if anything is owned;
  // what the destructor does.
  void kill_and_reap() noexcept;
  // Gives the child up unreaped: the caller (or init) has to reap it.
  [[nodiscard]] pid_t release() noexcept;

 private:
  ChildProcess(pid_t pid, bool own_group) noexcept : pid_(pid), own_group_(own_group) {}
  pid_t pid_ = -1;
  bool own_group_ = false;
};

// A wait status as a shell reports it: the exit code, or 128 + the signal that ended it.
int exit_code_of(int wait_status) noexcept;

}  // namespace vslab::os
