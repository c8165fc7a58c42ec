// ChildProcess: children are reaped by their owner, and killed first when it goes early.
#include "os/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::os {
namespace {

using namespace std::chrono_literals;

// Neither running nor a zombie of ours: kill says no such process and waitpid has no child.
void expect_gone(pid_t pid) {
  EXPECT_NE(kill(pid, 0), 0);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_LT(waitpid(pid, nullptr, WNOHANG), 0);
  EXPECT_EQ(errno, ECHILD);
}

// A child in a group of its own is not in the foreground group a terminal's ^C goes to, and
// signal_group() reaches it through its group.
TEST(ChildProcess, NewProcessGroupLeadsItsOwnGroup) {
  SpawnOptions options;
  options.new_process_group = true;
  auto child = ChildProcess::spawn({"sleep", "1000"}, options);
  const pid_t group = child.pid();
  ASSERT_GT(group, 0);
  EXPECT_EQ(getpgid(child.pid()), child.pid());
  EXPECT_NE(getpgid(child.pid()), getpgid(0));
  EXPECT_TRUE(child.signal_group(SIGTERM));
  const int status = child.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

TEST(ChildProcess, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  {
    auto child = ChildProcess::spawn({"sleep", "1000"});
    pid = child.pid();
    ASSERT_GT(pid, 0);
    EXPECT_EQ(kill(pid, 0), 0);
  }
  expect_gone(pid);
}

TEST(ChildProcess, WaitReturnsTheExitStatusAndLeavesNothingOwned) {
  auto child = ChildProcess::spawn({"sh", "-c", "exit 3"});
  const pid_t pid = child.pid();
  EXPECT_EQ(exit_code_of(child.wait()), 3);
  EXPECT_FALSE(child.owns());
  expect_gone(pid);
}

TEST(ChildProcess, StopSendsTheSignalAndReaps) {
  auto child = ChildProcess::spawn({"sleep", "1000"});
  EXPECT_EQ(exit_code_of(child.stop(SIGTERM)), 128 + SIGTERM);
}

TEST(ChildProcess, WaitUntilGivesUpAtTheDeadlineAndKeepsTheChild) {
  auto child = ChildProcess::spawn({"sleep", "1000"});
  const auto start = ChildProcess::Clock::now();
  EXPECT_FALSE(child.wait_until(start + 50ms).has_value());
  EXPECT_GE(ChildProcess::Clock::now() - start, 50ms);
  EXPECT_TRUE(child.owns());
  EXPECT_FALSE(child.has_exited());
  child.signal(SIGKILL);
  auto status = child.wait_until(ChildProcess::Clock::now() + 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(exit_code_of(*status), 128 + SIGKILL);
}

TEST(ChildProcess, HasExitedLooksWithoutReaping) {
  auto other = ChildProcess::spawn({"sh", "-c", "exit 5"});
  const pid_t pid = other.pid();
  // Block in waitid with WNOWAIT, as has_exited looks, so the zombie is there when it looks.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(other.has_exited());
  EXPECT_TRUE(other.owns());
  EXPECT_EQ(exit_code_of(other.wait()), 5);
}

TEST(ChildProcess, MoveHandsTheChildOver) {
  auto first = ChildProcess::spawn({"sleep", "1000"});
  const pid_t pid = first.pid();
  ChildProcess second(std::move(first));
  EXPECT_FALSE(first.owns());
  EXPECT_EQ(second.pid(), pid);
  EXPECT_EQ(kill(pid, 0), 0);  // the move did not kill it
  { ChildProcess third = std::move(second); }
  expect_gone(pid);
}

TEST(ChildProcess, MoveAssignmentKillsTheChildTheTargetHeld) {
  auto target = ChildProcess::spawn({"sleep", "1000"});
  auto source = ChildProcess::spawn({"sleep", "1000"});
  const pid_t old_pid = target.pid(), new_pid = source.pid();
  target = std::move(source);
  expect_gone(old_pid);
  EXPECT_EQ(target.pid(), new_pid);
}

TEST(ChildProcess, ReleasedChildOutlivesItsOwner) {
  pid_t pid;
  {
    auto child = ChildProcess::spawn({"sleep", "1000"});
    pid = child.release();
  }
  EXPECT_EQ(kill(pid, 0), 0);
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(exit_code_of(status), 128 + SIGKILL);
}

TEST(ChildProcess, DescriptorsArePlacedOnStandardOutputAndError) {
  auto out = make_pipe(O_CLOEXEC);
  SpawnOptions options;
  options.stdout_fd = out.second.get();
  options.stderr_fd = out.second.get();
  auto child = ChildProcess::spawn({"sh", "-c", "echo out; echo err >&2"}, options);
  out.second.reset();
  std::string said;
  EXPECT_TRUE(read_to_end(out.first.get(), said));
  EXPECT_EQ(said, "out\nerr\n");
  EXPECT_EQ(exit_code_of(child.wait()), 0);
}

TEST(ChildProcess, AProgramThatCannotRunExits127AndSaysWhy) {
  auto out = make_pipe(O_CLOEXEC);
  SpawnOptions options;
  options.stderr_fd = out.second.get();
  auto child = ChildProcess::spawn({"/nonexistent/vslab-no-such-program"}, options);
  out.second.reset();
  std::string said;
  read_to_end(out.first.get(), said);
  EXPECT_EQ(said, "/nonexistent/vslab-no-such-program: No such file or directory\n");
  EXPECT_EQ(exit_code_of(child.wait()), 127);
}

TEST(ChildProcess, ForkRunningExitsWithWhatTheBodyReturns) {
  auto child = ChildProcess::fork_running([] { return 7; });
  EXPECT_EQ(exit_code_of(child.wait()), 7);
  auto thrower = ChildProcess::fork_running([]() -> int { throw 1; });
  EXPECT_EQ(exit_code_of(thrower.wait()), 1);
}

TEST(ChildProcess, ParentDeathSignalEndsTheChildWhenItsParentDies) {
  // A middle process starts the child with SIGKILL as its parent-death signal, tells us its
  // pid, and exits; the child must die with it.
  auto pid_pipe = make_pipe(O_CLOEXEC);
  const int write_end = pid_pipe.second.get();
  auto middle = ChildProcess::fork_running([write_end] {
    SpawnOptions options;
    options.parent_death_signal = SIGKILL;
    pid_t grandchild = ChildProcess::spawn({"sleep", "1000"}, options).release();
    return write_all(write_end,
                     std::string_view(reinterpret_cast<char*>(&grandchild), sizeof grandchild))
               ? 0
               : 1;
  });
  pid_pipe.second.reset();
  pid_t grandchild = -1;
  ASSERT_TRUE(read_exact(pid_pipe.first.get(), &grandchild, sizeof grandchild));
  UniqueFd watch(static_cast<int>(syscall(SYS_pidfd_open, grandchild, 0)));
  EXPECT_EQ(exit_code_of(middle.wait()), 0);
  if (!watch) {
    // Gone already (it can only have gone by the signal: it sleeps for 1000 s).
    EXPECT_EQ(errno, ESRCH);
    return;
  }
  pollfd pfd{watch.get(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 10000), 1) << "the grandchild outlived its parent";
}

}  // namespace
}  // namespace vslab::os
