// The services the data plane serves, built from a RuleSet when it is installed: per-service
// scheduler state and per-destination counters, which outlive a rule change (the kernel keeps
// a destination's counters and scheduler state across -e and -E). Owned by the data-plane
// thread; a new RuleSet is applied between two batches, so no packet sees half of it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/mark_classifier.h"
#include "config/rules.h"
#include "config/state.h"
#include "conn/clock.h"
#include "conn/table.h"
#include "sched/scheduler.h"

namespace vsd {

using DestHandle = uint32_t;

// ipvsadm --rate's figures, as the kernel's estimator makes them (ip_vs_est.c): every 2 s the
// per-second rate of the last interval is blended into the average with weight 1/4.
struct RateEstimator {
  static constexpr uint64_t kIntervalMs = 2000;
  Counters last;  // totals at the previous estimation
  double cps = 0, in_pps = 0, out_pps = 0, in_bps = 0, out_bps = 0;

  void estimate(const Counters& now, uint64_t elapsed_ms);
  Counters rates() const;
};

// A destination's handle is its index here and in the ConnTable's counters, which are the
// authority for ActiveConn, InActConn, PersistConn and the overload flag.
struct DestRuntime {
  ServiceKey service;
  Destination config;
  bool deleted = false;  // removed from the rules; connections to it are dropped
  // Where the service of that key is in Services::all() since the last install; kNoService
  // when the rules no longer have one. Every packet of a connection needs its service.
  static constexpr std::size_t kNoService = ~std::size_t{0};
  std::size_t service_index = kNoService;
  Counters totals;
  RateEstimator rates;
};

struct ServiceRuntime {
  Service config;
  std::unique_ptr<Scheduler> scheduler;
  std::vector<DestHandle> dests;  // list order, newest first
  std::vector<SchedDest> view;    // refreshed before each pick
  Counters totals;
  RateEstimator rates;
  bool list_changed = false;   // at the last install
  bool new_scheduler = false;  // made at the last install (new service or -E -s)
};

class Services {
 public:
  // clock: what schedulers age their state by (lblc, lblcr); the data plane's own, so that
  // tests drive both with one clock. Without one, the steady clock vsd runs on.
  Services(ConnTable& conns, const Clock& clock) : conns_(conns), clock_(clock) {}
  explicit Services(ConnTable& conns);

  // Replaces the rule set. Returns "" or why it was refused (nothing changes then).
  std::string install(const RuleSet& rules);
  const RuleSet& rules() const { return rules_; }

  // The service for a packet to (proto, vip, vport), if any.
  ServiceRuntime* find(Proto proto, Endpoint vip) {
    auto it = by_vip_.find(vip_key(proto, vip));
    return it == by_vip_.end() ? nullptr : &services_[it->second];
  }
  // The fwmark service of a mark, if any.
  ServiceRuntime* find_mark(uint32_t mark) {
    auto it = by_mark_.find(mark);
    return it == by_mark_.end() ? nullptr : &services_[it->second];
  }
  // The service a destination belongs to, if it still exists.
  ServiceRuntime* service_of(DestHandle h) {
    const std::size_t i = dests_[h].service_index;
    return i == DestRuntime::kNoService ? nullptr : &services_[i];
  }
  // The service for a new connection's first packet, as ip_vs_service_find picks it: the
  // fwmark service of the mark vsd's classifier gives the packet first, then the address
  // service of its port, then its VIP's port-0 service.
  ServiceRuntime* lookup(Proto proto, Endpoint dest);
  // vsd's classifier: the mark a new packet to dest gets, 0 when no rule takes it.
  uint32_t mark_of(Proto proto, Endpoint dest) const { return marks_.mark(proto, dest); }
  bool has_fwmark_services() const { return !by_mark_.empty(); }
  // Includes the hosts (/32) that mark rules name.
  bool is_vip(Ipv4 a) const { return std::binary_search(vips_.begin(), vips_.end(), a.value); }
  const std::vector<Ipv4>& owned_addresses() const { return owned_; }

  // Runs the service's scheduler; nothing when no destination is available. now_ms: the
  // clock's reading, for a caller that has one at hand.
  std::optional<DestHandle> schedule(ServiceRuntime& service, const FlowKey& flow, uint64_t now_ms);
  std::optional<DestHandle> schedule(ServiceRuntime& service, const FlowKey& flow) {
    return schedule(service, flow, clock_.now_ms());
  }

  DestRuntime& dest(DestHandle h) { return dests_[h]; }
  std::size_t dest_count() const { return dests_.size(); }

  DirectorState state() const;
  // Runs the estimators of every service and destination (every RateEstimator::kIntervalMs).
  void estimate_rates(uint64_t elapsed_ms);
  void zero(const std::optional<ServiceKey>& which);
  std::vector<ServiceRuntime>& all() { return services_; }

 private:
  static uint64_t vip_key(Proto p, Endpoint vip) {
    return uint64_t(uint8_t(p)) << 48 | uint64_t(vip.port) << 32 | vip.addr.value;
  }
  SchedDest sched_view(DestHandle h) const;
  void add_vip(Ipv4 a);

  ConnTable& conns_;
  const Clock& clock_;
  RuleSet rules_;
  std::vector<ServiceRuntime> services_;
  // A handle is an index here: deleted ones stay for their connections, and are taken back by
  // their destination or given to a new one at a later install (install). A vector, as every
  // packet looks one up; no reference to an element is kept past an install.
  std::vector<DestRuntime> dests_;
  std::unordered_map<uint64_t, std::size_t> by_vip_;
  std::unordered_map<uint32_t, std::size_t> by_mark_;
  MarkClassifier marks_;
  std::vector<uint32_t> vips_;  // sorted: asked for every packet, changed only at install
  std::vector<Ipv4> owned_;
};

}  // namespace vsd
