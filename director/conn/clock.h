// The one clock the director reads time through. vsd runs on SteadyClock; tests drive timeouts
// with ManualClock instead of sleeping.
#pragma once

#include <cstdint>

namespace vsd {

struct Clock {
  virtual ~Clock();
  // Milliseconds on a monotonic clock; only differences between readings mean anything.
  virtual uint64_t now_ms() const = 0;
};

// CLOCK_MONOTONIC through std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  uint64_t now_ms() const override;
};

// Time stands still until a test moves it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t start_ms = 0) : now_ms_(start_ms) {}
  uint64_t now_ms() const override { return now_ms_; }
  void advance(uint64_t ms) { now_ms_ += ms; }

 private:
  uint64_t now_ms_;
};

}  // namespace vsd
