// For the scheduler tests: one service's destination list driven as vsd drives it. An add puts
// the destination at the head (IPVS list order, spec section 4), every add, delete and edit is
// followed by on_change, and every pick opens a connection that stays active. Real servers
// are named by number: rs n is 10.0.0.n:80. Time is a fake clock that starts at 0, when the
// scheduler is made, and moves only when the test advances it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sched/scheduler.h"

namespace vsd::sched_test {

inline Endpoint rs(int n) {
  return Endpoint{Ipv4::from_octets(10, 0, 0, uint8_t(n)), 80};
}

class TestService {
 public:
  // flags: ipvsadm -b (sh-port, mh-fallback, ...).
  explicit TestService(std::string_view scheduler, std::vector<std::string> flags = {})
      : scheduler_(make_scheduler(scheduler, SchedulerOptions{std::move(flags), 0})) {
    if (!scheduler_) throw std::invalid_argument("no scheduler " + std::string(scheduler));
  }
  // A scheduler made by hand, e.g. wrapped by a decorator the registry does not apply.
  explicit TestService(std::unique_ptr<Scheduler> scheduler) : scheduler_(std::move(scheduler)) {
    if (!scheduler_) throw std::invalid_argument("no scheduler");
  }

  // ipvsadm -E with another scheduler: the kernel binds a fresh one to the list as it stands
  // (init_service), as vsd does by making a new scheduler and reporting the list once.
  TestService& switch_scheduler(std::string_view scheduler) {
    scheduler_ = make_scheduler(scheduler, SchedulerOptions{{}, now_ms_});
    if (!scheduler_) throw std::invalid_argument("no scheduler " + std::string(scheduler));
    scheduler_->on_change(dests_);
    return *this;
  }
  // ipvsadm -a: the new destination goes to the head of the list.
  TestService& add(int n, uint32_t weight = 1) {
    SchedDest dest;
    dest.addr = rs(n);
    dest.weight = weight;
    dests_.insert(dests_.begin(), dest);
    scheduler_->on_change(dests_);
    return *this;
  }
  // ipvsadm -d.
  TestService& remove(int n) {
    dests_.erase(dests_.begin() + position(n));
    scheduler_->on_change(dests_);
    return *this;
  }
  // ipvsadm -e -w: an edit, even one that changes nothing, is reported.
  TestService& set_weight(int n, uint32_t weight) {
    dests_[position(n)].weight = weight;
    scheduler_->on_change(dests_);
    return *this;
  }
  // Counters and the OVERLOADED flag change with connections, not with the configuration, so
  // changing them through here is not reported to the scheduler.
  SchedDest& dest(int n) { return dests_[position(n)]; }
  void overload_all(bool overloaded) {
    for (SchedDest& dest : dests_) dest.overloaded = overloaded;
  }

  // The clock every later pick reads.
  TestService& advance(std::chrono::milliseconds by) {
    now_ms_ += static_cast<uint64_t>(by.count());
    return *this;
  }

  // The number of the real server picked for a new connection (from `flow`, for schedulers
  // that key on it), 0 when none is available. The connection stays active.
  int pick(const FlowKey& flow = {}) {
    const int at = scheduler_->pick(dests_, flow, now_ms_);
    if (at < 0) return 0;
    EXPECT_LT(at, int(dests_.size()));
    dests_[at].active++;
    return dests_[at].addr.addr.value & 0xff;
  }
  // As pick, but the connection is gone at once: counters do not move.
  int peek(const FlowKey& flow) {
    const int at = scheduler_->pick(dests_, flow, now_ms_);
    return at < 0 ? 0 : int(dests_[at].addr.addr.value & 0xff);
  }
  std::vector<int> picks(int count) {
    std::vector<int> picked;
    for (int i = 0; i < count; ++i) picked.push_back(pick());
    return picked;
  }

 private:
  std::size_t position(int n) const {
    auto it = std::find_if(dests_.begin(), dests_.end(),
                           [n](const SchedDest& d) { return d.addr == rs(n); });
    if (it == dests_.end()) throw std::invalid_argument("no rs" + std::to_string(n));
    return std::size_t(it - dests_.begin());
  }

  std::unique_ptr<Scheduler> scheduler_;
  std::vector<SchedDest> dests_;  // list order: newest first
  uint64_t now_ms_ = 0;
};

using Picks = std::vector<int>;

}  // namespace vsd::sched_test
