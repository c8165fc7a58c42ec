// The handler only stores the signal and passes it on: everything else (stopping, tearing
// down, reporting) happens in the program's own flow, where it is safe.
#include "os/interrupt.h"

#include <signal.h>

#include <array>
#include <atomic>

namespace vslab::os {
namespace {

std::atomic<int> first_signal{0};
constexpr std::size_t kForwardSlots = 64;
std::array<std::atomic<pid_t>, kForwardSlots> forward_to{};

void on_interrupt(int signo) {
  int none = 0;
  first_signal.compare_exchange_strong(none, signo);
  for (auto& slot : forward_to)
    if (pid_t pid = slot.load(); pid > 0) ::kill(pid, signo);
}

}  // namespace

void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signo, &action, nullptr);
}

int interrupt_signal() noexcept {
  return first_signal.load();
}

int interrupted_exit_status() noexcept {
  return 128 + first_signal.load();
}

std::string signal_name(int signo) {
  switch (signo) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGKILL:
      return "SIGKILL";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
  }
  return "signal " + std::to_string(signo);
}

void forward_interrupts_to(pid_t pid) noexcept {
  for (auto& slot : forward_to) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void stop_forwarding_to(pid_t pid) noexcept {
  for (auto& slot : forward_to) {
    pid_t expected = pid;
    slot.compare_exchange_strong(expected, 0);
  }
}

void forget_interrupt_forwarding() noexcept {
  for (auto& slot : forward_to) slot.store(0);
}

Interrupted::Interrupted()
    : std::runtime_error("interrupted by " + signal_name(interrupt_signal())) {}

void throw_if_interrupted() {
  if (interrupted()) throw Interrupted();
}

}  // namespace vslab::os
