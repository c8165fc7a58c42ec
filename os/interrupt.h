// SIGINT, SIGTERM and SIGHUP as a request to stop rather than a death: a long command (a
// conformance run, a replay) notes the first one, starts nothing new, tears down what it made,
// writes what it has and exits with 128 + the signal, as a shell reports a death by it.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>

namespace vslab::os {

// Installs the handlers (without SA_RESTART: a blocking call returns EINTR, and loops that
// retry look at interrupt_signal() first). Idempotent. Children forked afterwards inherit
// them (the -j workers); exec'd programs get the default actions back.
void catch_interrupts();

// The first of SIGINT, SIGTERM, SIGHUP received since catch_interrupts(), or 0.
int interrupt_signal() noexcept;
inline bool interrupted() noexcept {
  return interrupt_signal() != 0;
}
// 128 + interrupt_signal(): 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
int interrupted_exit_status() noexcept;
// "SIGINT", "SIGTERM", "SIGHUP" (or "signal N").
std::string signal_name(int signo);

// Children in process groups of their own (a terminal's ^C does not reach them) that must hear
// of an interruption: the handler passes the signal on to them. At most 64 at a time.
void forward_interrupts_to(pid_t pid) noexcept;
void stop_forwarding_to(pid_t pid) noexcept;
// In a forked child: the parent's list is not the child's to signal.
void forget_interrupt_forwarding() noexcept;

// What a wait that gave up because of an interruption throws.
struct Interrupted : std::runtime_error {
  Interrupted();
};
void throw_if_interrupted();

}  // namespace vslab::os
