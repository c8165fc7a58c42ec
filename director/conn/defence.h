// The kernel's defence against a director running out of memory (ip_vs_ctl.c
// update_defense_level, ip_vs.h ip_vs_todrop): the modes net.ipv4.vs.drop_entry, drop_packet
// and secure_tcp, each 0 (off), 1 (on while memory is short, which shows as 2), 2 (on now, back
// to 1 when memory is plentiful again) or 3 (always on), worked out from the available memory
// once a second and at each change of a mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/sysctl.h"

namespace vsd {

class Defence {
 public:
  // DEFENSE_TIMER_PERIOD: the kernel's defense_work runs update() every second.
  static constexpr uint64_t kPeriodMs = 1000;

  // update_defense_level: `available_pages` is what the kernel counts (si_meminfo's free and
  // buffer pages). Memory is short when it is below amemthresh. A mode at 1 that finds memory
  // short becomes 2 and one at 2 that finds it plentiful becomes 1, in `sysctls` itself, as the
  // kernel writes its sysctl.
  void update(Sysctls& sysctls, int64_t available_pages);

  // ip_vs_todrop, for a packet about to be scheduled (the service is known): whether to drop
  // it. At drop rate N it drops one in N, starting with the first when the counter is fresh;
  // the counter is only reset by mode 1 or 2 finding memory short.
  bool drop_new_connection() {
    if (drop_rate_ == 0) return false;
    if (--drop_counter_ > 0) return false;
    drop_counter_ = drop_rate_;
    return true;
  }
  // Whether the once-a-second random drop of entries (ConnTable::drop_random_entries) runs.
  bool drop_entry() const { return drop_entry_; }
  // Whether TCP moves by the secure state tables (tcp_timeout_change).
  bool secure_tcp() const { return secure_tcp_; }
  int32_t drop_rate() const { return drop_rate_; }

 private:
  int32_t drop_rate_ = 0;
  int32_t drop_counter_ = 0;
  bool drop_entry_ = false;
  bool secure_tcp_ = false;
  int32_t old_secure_tcp_ = 0;
};

// The available memory as the kernel's update_defense_level counts it, in pages, from the text
// of /proc/meminfo: MemFree plus Buffers (si_meminfo's freeram and bufferram). Nothing when a
// line is missing or malformed.
std::optional<int64_t> available_pages_from_meminfo(std::string_view meminfo, int64_t page_bytes);

// The host's, read now; nothing when /proc/meminfo cannot be read.
std::optional<int64_t> available_pages();

}  // namespace vsd
