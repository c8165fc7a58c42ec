// The scheduler interface, as IPVS's struct ip_vs_scheduler: a scheduler sees only the
// service's destination list (in list order, newest first) and its own state, and picks one
// destination for a new connection. Each algorithm is one small file that registers itself
// by name; the core never names a scheduler.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "net/addr.h"

namespace vsd {

// One destination as a scheduler sees it.
struct SchedDest {
  Endpoint addr;
  uint32_t weight = 1;
  uint32_t active = 0;      // ActiveConn
  uint32_t inactive = 0;    // InActConn
  bool overloaded = false;  // threshold flag (spec 8): lblc alone may reuse such a server
  // Available as spec 6 defines it: weight > 0 and not overloaded.
  bool available() const { return weight > 0 && !overloaded; }
};

// An IPv6 address as the schedulers that hash addresses take it: sh, dh, mh, lblc and lblcr
// all fold it to 32 bits as ip6[0] ^ ip6[1] ^ ip6[2] ^ ip6[3] before hashing (the kernel's
// ip_vs_*_hashkey with AF_INET6), so an IPv6 flow reaches them as an IPv4 key of its folded
// addresses and hashes as it does in the kernel.
constexpr Ipv4 fold_ipv6(const std::array<uint8_t, 16>& a) {
  uint32_t fold = 0;
  for (std::size_t i = 0; i < a.size(); i += 4)
    fold ^= uint32_t(a[i]) << 24 | uint32_t(a[i + 1]) << 16 | uint32_t(a[i + 2]) << 8 | a[i + 3];
  return Ipv4{fold};
}

// What a scheduler may key on: the new connection's addresses and ports (an IPv6 flow's
// folded by fold_ipv6).
struct FlowKey {
  Proto proto = Proto::Tcp;
  Endpoint client;
  Endpoint virtual_addr;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // The destination list changed (add, delete, edit, -E of the service): update state as the
  // kernel's add_dest/del_dest/upd_dest callbacks do.
  virtual void on_change(std::span<const SchedDest> dests) = 0;
  // Index into dests of the chosen destination, or -1 when none is available. now_ms is the
  // director's clock (conn/clock.h), never going back: lblc and lblcr age their tables by it,
  // as the kernel's do by jiffies, and run the timers that fell due since the last pick first.
  virtual int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) = 0;
};

// net.ipv4.vs.lblc_expiration and lblcr_expiration, in ms, as the director has them now: lblc
// and lblcr read them at each use, as the kernel reads its sysctls. Negative is allowed (every
// record is then old enough to go).
struct LocalityExpiration {
  static constexpr int64_t kDefaultMs = 24 * 3600 * 1000;  // DEFAULT_EXPIRATION
  std::atomic<int64_t> lblc_ms{kDefaultMs};
  std::atomic<int64_t> lblcr_ms{kDefaultMs};
};

struct SchedulerOptions {
  std::vector<std::string> flags;  // -b: sh-fallback, sh-port, mh-fallback, mh-port
  // When the service gets the scheduler (the kernel's init_service), on the clock of pick():
  // the kernel arms lblc's and lblcr's periodic timers there.
  uint64_t created_ms = 0;
  // The director's, which outlives its schedulers; nullptr: the kernel's defaults.
  const LocalityExpiration* expiration = nullptr;
};

using SchedulerFactory = std::function<std::unique_ptr<Scheduler>(const SchedulerOptions&)>;

// Registers a factory under a name at static-initialisation time; returns true.
bool register_scheduler(std::string_view name, SchedulerFactory factory);
// nullptr when no scheduler has that name.
std::unique_ptr<Scheduler> make_scheduler(std::string_view name, const SchedulerOptions& options);

// From now on, every scheduler made under `name` comes wrapped by `decorate`; false when no
// scheduler has that name. For vsd's test faults (vsd/fault_switch.h), which break a scheduler
// on purpose: wrapping at the factory leaves the product's pick path as it is.
using SchedulerDecorator = std::function<std::unique_ptr<Scheduler>(std::unique_ptr<Scheduler>)>;
bool decorate_scheduler(std::string_view name, SchedulerDecorator decorate);
std::vector<std::string> scheduler_names();

}  // namespace vsd

// In the scheduler's .cpp: VSD_REGISTER_SCHEDULER("rr", Rr); Rr needs a constructor taking
// const SchedulerOptions& or a default one.
#define VSD_REGISTER_SCHEDULER(name, Type)                                                    \
  [[maybe_unused]] static const bool vsd_registered_##Type = ::vsd::register_scheduler(       \
      name, [](const ::vsd::SchedulerOptions& options) -> std::unique_ptr<::vsd::Scheduler> { \
        if constexpr (std::is_constructible_v<Type, const ::vsd::SchedulerOptions&>)          \
          return std::make_unique<Type>(options);                                             \
        else                                                                                  \
          return std::make_unique<Type>();                                                    \
      })
