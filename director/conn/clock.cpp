#include "conn/clock.h"

#include <chrono>

namespace vsd {

// Out of line so that the vtable has one home.
Clock::~Clock() = default;

uint64_t SteadyClock::now_ms() const {
  auto since_boot = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_boot).count());
}

}  // namespace vsd
