// For the tests of schedulers that key on the connection (dh, sh, mh, lblc, lblcr): a
// TestService whose picks say which client, port and VIP they are for, and whose scheduler can
// be given -b flags. Real servers are named by number as in test_service.h: rs n is
// 10.0.0.n:80. Every pick opens a connection that stays active.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sched/scheduler.h"
#include "sched/test_service.h"

namespace vsd::sched_test {

inline FlowKey tcp_from(Ipv4 client, uint16_t port = 40000,
                        Ipv4 vip = Ipv4::from_octets(10, 9, 9, 7)) {
  return FlowKey{Proto::Tcp, Endpoint{client, port}, Endpoint{vip, 80}};
}

inline FlowKey tcp_to(Ipv4 vip) {
  return tcp_from(Ipv4::from_octets(10, 1, 1, 1), 40000, vip);
}

class FlowService {
 public:
  explicit FlowService(std::string_view scheduler, std::vector<std::string> flags = {})
      : scheduler_(make_scheduler(scheduler, SchedulerOptions{std::move(flags)})) {
    if (!scheduler_) throw std::invalid_argument("no scheduler " + std::string(scheduler));
  }

  FlowService& add(int n, uint32_t weight = 1) {
    SchedDest dest;
    dest.addr = rs(n);
    dest.weight = weight;
    dests_.insert(dests_.begin(), dest);
    scheduler_->on_change(dests_);
    return *this;
  }
  FlowService& remove(int n) {
    dests_.erase(dests_.begin() + position(n));
    scheduler_->on_change(dests_);
    return *this;
  }
  FlowService& set_weight(int n, uint32_t weight) {
    dests_[position(n)].weight = weight;
    scheduler_->on_change(dests_);
    return *this;
  }
  SchedDest& dest(int n) { return dests_[position(n)]; }

  // The number of the real server picked for flow, 0 when none; the connection stays active.
  int pick(const FlowKey& flow) {
    const int at = scheduler_->pick(dests_, flow);
    if (at < 0) return 0;
    EXPECT_LT(at, int(dests_.size()));
    dests_[at].active++;
    return dests_[at].addr.addr.value & 0xff;
  }
  // As pick, but the connection is gone at once: counters do not move.
  int peek(const FlowKey& flow) {
    const int at = scheduler_->pick(dests_, flow);
    return at < 0 ? 0 : int(dests_[at].addr.addr.value & 0xff);
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
};

}  // namespace vsd::sched_test
