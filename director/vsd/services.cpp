#include "vsd/services.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace vsd {
namespace {

// Handles by service and address, live and deleted, so that an install looks each of its
// destinations up once instead of scanning every handle (quadratic in thousands).
class HandleIndex {
 public:
  explicit HandleIndex(const std::vector<DestRuntime>& dests) {
    for (DestHandle h = 0; h < dests.size(); ++h)
      (dests[h].deleted ? deleted_ : live_).emplace(key(dests[h].service, dests[h].config.addr), h);
  }
  std::optional<DestHandle> live(const ServiceKey& s, Endpoint addr) const {
    return find(live_, s, addr);
  }
  std::optional<DestHandle> deleted(const ServiceKey& s, Endpoint addr) const {
    return find(deleted_, s, addr);
  }
  void now_live(const ServiceKey& s, Endpoint addr, DestHandle h) {
    live_.emplace(key(s, addr), h);
    deleted_.erase(key(s, addr));
  }

 private:
  using Key = std::tuple<Proto, Endpoint, uint32_t, Endpoint>;
  using Map = std::map<Key, DestHandle>;
  static Key key(const ServiceKey& s, Endpoint addr) { return {s.proto, s.vip, s.fwmark, addr}; }
  static std::optional<DestHandle> find(const Map& map, const ServiceKey& s, Endpoint addr) {
    auto it = map.find(key(s, addr));
    if (it == map.end()) return std::nullopt;
    return it->second;
  }
  Map live_, deleted_;
};

const Clock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace

Services::Services(ConnTable& conns) : Services(conns, steady_clock()) {}

std::string Services::install(const RuleSet& rules) {
  // First everything that can fail, touching nothing: a refused rule set changes nothing.
  auto old_runtime = [&](const Service& svc) {
    return std::find_if(services_.begin(), services_.end(),
                        [&](const ServiceRuntime& o) { return o.config.key == svc.key; });
  };
  auto keeps_scheduler = [&](const Service& svc) {
    auto old = old_runtime(svc);
    return old != services_.end() && old->config.scheduler == svc.scheduler &&
           old->config.sched_flags == svc.sched_flags;
  };
  std::vector<std::unique_ptr<Scheduler>> fresh(rules.services.size());
  for (std::size_t i = 0; i < rules.services.size(); ++i) {
    const auto& svc = rules.services[i];
    if (keeps_scheduler(svc)) continue;
    fresh[i] = make_scheduler(svc.scheduler, {svc.sched_flags, clock_.now_ms()});
    if (!fresh[i]) return "Scheduler or persistence engine not found";
  }

  // A destination that is not live takes its deleted handle back, as ip_vs_add_dest takes a
  // destination of the same service and address back from the trash, connections and all;
  // else a spare one, deleted and counted by no entry (the kernel frees such a destination);
  // else a new one. A rule set that needs more handles than the connection table has is
  // refused here, before anything (a destination's thresholds, a kept scheduler) has changed.
  HandleIndex handles(dests_);
  std::vector<bool> taken_back(dests_.size(), false);
  std::size_t without_handle = 0;
  for (const auto& svc : rules.services)
    for (const auto& d : svc.destinations) {
      if (handles.live(svc.key, d.addr)) continue;
      if (auto h = handles.deleted(svc.key, d.addr)) {
        taken_back[*h] = true;
      } else {
        ++without_handle;
      }
    }
  std::vector<DestHandle> spare;  // the highest last: the lowest is given first
  for (DestHandle h = static_cast<DestHandle>(dests_.size()); h-- > 0;) {
    if (dests_[h].deleted && !taken_back[h] && !conns_.dest_load(h).has_entries())
      spare.push_back(h);
  }
  const std::size_t new_handles = without_handle - std::min(without_handle, spare.size());
  if (dests_.size() + new_handles > conns_.max_destinations()) return "too many destinations";

  // Past this point nothing can fail: apply.
  std::vector<ServiceRuntime> next;
  for (std::size_t i = 0; i < rules.services.size(); ++i) {
    const auto& svc = rules.services[i];
    ServiceRuntime rt;
    rt.config = svc;
    auto old = old_runtime(svc);
    if (old != services_.end()) rt.totals = old->totals, rt.rates = old->rates;
    // The kernel tells a scheduler of destination changes only (add/del/upd_dest), and a new
    // scheduler of its list once (init_service); any other rule change leaves it alone.
    rt.new_scheduler = fresh[i] != nullptr;
    rt.list_changed = rt.new_scheduler || old->config.destinations != svc.destinations;
    rt.scheduler = fresh[i] ? std::move(fresh[i]) : std::move(old->scheduler);
    next.push_back(std::move(rt));
  }

  std::vector<bool> kept(dests_.size(), false);
  for (auto& rt : next) {
    for (const auto& d : rt.config.destinations) {
      auto h = handles.live(rt.config.key, d.addr);
      if (!h) {
        h = handles.deleted(rt.config.key, d.addr);
        // Taken back into a service created anew (its old one deleted): __ip_vs_update_dest
        // zeroes the stats of a destination that comes back under another service.
        if (h && old_runtime(rt.config) == services_.end()) {
          dests_[*h].totals = {};
          dests_[*h].rates = {};
        }
      }
      if (!h && !spare.empty()) {
        h = spare.back();
        spare.pop_back();
        dests_[*h] = DestRuntime{};  // nothing of the destination it was
      }
      if (!h) {
        dests_.emplace_back();
        h = static_cast<DestHandle>(dests_.size() - 1);
        kept.push_back(true);
      }
      dests_[*h].service = rt.config.key;
      dests_[*h].deleted = false;
      handles.now_live(rt.config.key, d.addr, *h);
      dests_[*h].config = d;
      kept[*h] = true;
      rt.dests.push_back(*h);
      conns_.set_dest_thresholds(*h, d.upper_threshold, d.lower_threshold);
    }
    rt.view.resize(rt.dests.size());
  }
  for (DestHandle h = 0; h < dests_.size(); ++h)
    if (!kept[h]) dests_[h].deleted = true;

  services_ = std::move(next);
  rules_ = rules;
  by_vip_.clear();
  by_mark_.clear();
  vips_.clear();
  owned_.clear();
  marks_ = MarkClassifier(rules.marks);
  for (std::size_t i = 0; i < services_.size(); ++i) {
    auto& rt = services_[i];
    if (rt.config.key.fwmark != 0) by_mark_[rt.config.key.fwmark] = i;
    if (rt.config.key.fwmark == 0) {
      by_vip_[vip_key(rt.config.key.proto, rt.config.key.vip)] = i;
      if (!is_vip(rt.config.key.vip.addr)) owned_.push_back(rt.config.key.vip.addr);
      add_vip(rt.config.key.vip.addr);
    }
    for (auto lip : rt.config.local_addresses)
      if (std::find(owned_.begin(), owned_.end(), lip) == owned_.end()) owned_.push_back(lip);
    // The scheduler learns the new list as ip_vs_ctl.c tells it of each change.
    for (std::size_t j = 0; j < rt.dests.size(); ++j) rt.view[j] = sched_view(rt.dests[j]);
    if (rt.new_scheduler) {
      // A new scheduler learns the list as the kernel's would: the service created empty,
      // then one add_dest per destination in the order they were added (the list is newest
      // first, so the adds are its suffixes from the oldest up). wrr's starting state depends
      // on that order (spec 6).
      const std::size_t n = rt.view.size();
      for (std::size_t k = 0; k <= n; ++k)
        rt.scheduler->on_change(std::span<const SchedDest>(rt.view).subspan(n - k));
    } else if (rt.list_changed) {
      rt.scheduler->on_change(rt.view);
    }
  }
  // A mark rule for one host names a virtual address, as the VIP a kernel director holds on
  // lo for its fwmark services: vsd answers ARP for it, and what no service takes there meets
  // the director's stack (spec 3), not the routing table.
  for (const MarkRule& m : rules.marks) {
    if (m.prefix_len != 32 || is_vip(m.dest)) continue;
    owned_.push_back(m.dest);
    add_vip(m.dest);
  }
  for (auto& d : dests_) {
    const ServiceKey& key = d.service;
    const ServiceRuntime* svc = key.fwmark != 0 ? find_mark(key.fwmark) : find(key.proto, key.vip);
    d.service_index = svc ? std::size_t(svc - services_.data()) : DestRuntime::kNoService;
  }
  return {};
}

void Services::add_vip(Ipv4 a) {
  auto at = std::lower_bound(vips_.begin(), vips_.end(), a.value);
  if (at == vips_.end() || *at != a.value) vips_.insert(at, a.value);
}

ServiceRuntime* Services::lookup(Proto proto, Endpoint dest) {
  if (uint32_t mark = marks_.mark(proto, dest))
    if (ServiceRuntime* svc = find_mark(mark)) return svc;
  if (ServiceRuntime* svc = find(proto, dest)) return svc;
  return find(proto, {dest.addr, 0});
}

std::optional<DestHandle> Services::schedule(ServiceRuntime& service, const FlowKey& flow,
                                             uint64_t now_ms) {
  for (std::size_t j = 0; j < service.dests.size(); ++j)
    service.view[j] = sched_view(service.dests[j]);
  int i = service.scheduler->pick(service.view, flow, now_ms);
  if (i < 0 || static_cast<std::size_t>(i) >= service.dests.size()) return std::nullopt;
  return service.dests[i];
}

SchedDest Services::sched_view(DestHandle h) const {
  const auto& d = dests_[h];
  const auto& load = conns_.dest_load(h);
  return {d.config.addr, d.config.weight, load.active, load.inactive, load.overloaded};
}

void RateEstimator::estimate(const Counters& now, uint64_t elapsed_ms) {
  if (elapsed_ms == 0) return;
  auto blend = [&](double& avg, uint64_t current, uint64_t previous) {
    double rate = double(current - previous) * 1000.0 / double(elapsed_ms);
    avg += (rate - avg) / 4;
  };
  blend(cps, now.conns, last.conns);
  blend(in_pps, now.in_packets, last.in_packets);
  blend(out_pps, now.out_packets, last.out_packets);
  blend(in_bps, now.in_bytes, last.in_bytes);
  blend(out_bps, now.out_bytes, last.out_bytes);
  last = now;
}

Counters RateEstimator::rates() const {
  auto round = [](double v) { return uint64_t(v + 0.5); };
  // ipvsadm's BPS columns are bytes per second (ip_vs_est.c keeps bytes, not bits).
  return {round(cps), round(in_pps), round(out_pps), round(in_bps), round(out_bps)};
}

void Services::estimate_rates(uint64_t elapsed_ms) {
  for (auto& rt : services_) rt.rates.estimate(rt.totals, elapsed_ms);
  for (auto& d : dests_) d.rates.estimate(d.totals, elapsed_ms);
}

DirectorState Services::state() const {
  DirectorState s;
  s.rules = rules_;
  for (const auto& rt : services_) {
    ServiceState ss;
    ss.key = rt.config.key;
    ss.totals = rt.totals;
    ss.rates = rt.rates.rates();
    for (auto h : rt.dests) {
      const auto& d = dests_[h];
      DestinationState ds;
      ds.addr = d.config.addr;
      const auto& load = conns_.dest_load(h);
      ds.active = load.active;
      ds.inactive = load.inactive;
      ds.persistent = load.persistent;
      ds.overloaded = load.overloaded;
      ds.totals = d.totals;
      ds.rates = d.rates.rates();
      ss.destinations.push_back(ds);
    }
    s.services.push_back(std::move(ss));
  }
  return s;
}

void Services::zero(const std::optional<ServiceKey>& which) {
  for (auto& rt : services_) {
    if (which && rt.config.key != *which) continue;
    rt.totals = {};
    rt.rates = {};
    for (auto h : rt.dests) dests_[h].totals = {}, dests_[h].rates = {};
  }
}

}  // namespace vsd
