// The short spin before sleeping of vsd's loop and of vslab bench's bounce forwarder: when a
// round found nothing to receive, the RX rings' next status words are read for a while before
// the thread sleeps in poll(). A frame that arrives in that while is handled at once; one that
// arrives later wakes the thread from poll(), which costs a wake-up on another core (the
// figures are in perf/README.md, "Latency"). A spin reads memory only: no system call, and
// nothing the kernel sees.
#pragma once

#include <chrono>

namespace vsd {

// vsd's --idle-spin-us and the bounce's, unless told otherwise: longer than the wake-up it
// saves (perf/README.md, "Latency").
inline constexpr unsigned kDefaultIdleSpinUs = 200;

class IdleSpin {
 public:
  using Clock = std::chrono::steady_clock;
  // 0: never spin.
  explicit IdleSpin(std::chrono::microseconds budget) : budget_(budget) {}
  std::chrono::microseconds budget() const { return budget_; }

  // Reads ready() until it is true (returns true) or the budget has passed (false).
  template <class Ready>
  bool wait(Ready&& ready) const {
    if (budget_.count() <= 0) return false;
    const auto deadline = Clock::now() + budget_;
    for (;;) {
      // The clock is read once every few looks: a look is a load, the clock a vDSO call.
      for (int i = 0; i < 16; ++i) {
        if (ready()) return true;
        relax();
      }
      if (Clock::now() >= deadline) return ready();
    }
  }

 private:
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  std::chrono::microseconds budget_;
};

}  // namespace vsd
