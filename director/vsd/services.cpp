#include "vsd/services.h"

#include <algorithm>
#include <unordered_set>

namespace vsd {
namespace {

const Clock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

struct IpEndpointHash {
  std::size_t operator()(const IpEndpoint& e) const noexcept {
    return hash_of(e.addr) ^ std::size_t(e.port) * 0x9e3779b97f4a7c15ull;
  }
};

// What the schedulers see of a destination: an IPv4 one as it is; an IPv6 one as the XOR of
// its four 32-bit words, the fold the kernel's hashing schedulers make of an IPv6 address
// (fold_ipv6 in sched/scheduler.h).
Endpoint scheduler_endpoint(const IpEndpoint& e) {
  if (e.addr.is_v4()) return e.v4();
  return Endpoint{fold_ipv6(e.addr.bytes), e.port};
}

std::string too_many_destinations(std::size_t in_rules, std::size_t handles) {
  return "too many destinations: the rules have " + std::to_string(in_rules) + ", and vsd has " +
         std::to_string(handles) +
         " destination handles (deleted destinations keep theirs while connections use them)";
}

std::shared_ptr<const ServiceTable> empty_table() {
  auto table = std::make_shared<ServiceTable>();
  table->rules = std::make_shared<const RuleSet>();
  return table;
}

// The lookups of a table, from its rules and runtimes: O(services), on the control thread.
void index_table(ServiceTable& t) {
  const RuleSet& rules = *t.rules;
  t.by_vip.reserve(rules.services.size());
  std::unordered_set<uint32_t> vips, owned;
  auto own = [&](Ipv4 a) {
    if (owned.insert(a.value).second) t.owned.push_back(a);
  };
  for (std::size_t i = 0; i < rules.services.size(); ++i) {
    const Service& svc = rules.services[i];
    ServiceRuntime* rt = t.services[i].get();
    // IPv6 services are found by the IPv6 stages' own lookups: address services by their
    // VIP, fwmark services by the mark the IPv6 rules give (the family is part of their key).
    if (svc.family() != Family::V4) {
      if (svc.key.fwmark != 0) {
        t.by_mark6[svc.key.fwmark] = rt;
      } else {
        t.vips6.push_back(svc.key.vip.addr.bytes);
        t.by_vip6[{svc.key.proto, svc.key.vip.addr.bytes, svc.key.vip.port}] = rt;
      }
      continue;
    }
    if (!svc.persistence_engine.empty()) t.conn_out = true;
    if (svc.key.fwmark != 0) {
      t.by_mark[svc.key.fwmark] = rt;
    } else {
      const Ipv4 vip = svc.key.vip.addr.v4();
      t.by_vip[uint64_t(uint8_t(svc.key.proto)) << 48 | uint64_t(svc.key.vip.port) << 32 |
               vip.value] = rt;
      vips.insert(vip.value);
      own(vip);
    }
    for (auto lip : svc.local_addresses) own(lip);
  }
  // A mark rule for one host names a virtual address, as the VIP a kernel director holds on
  // lo for its fwmark services: vsd answers ARP for it, and what no service takes there meets
  // the director's stack (spec 3), not the routing table.
  // An IPv6 host rule does so for the -6 fwmark service of its mark: neighbour discovery
  // answers for it, and its packets reach the IPv6 stages' VIP path.
  for (const MarkRule& m : rules.marks) {
    if (m.prefix_len != m.max_prefix_len()) continue;
    if (m.family() == Family::V6) {
      if (t.by_mark6.contains(m.mark)) t.vips6.push_back(m.dest.bytes);
      continue;
    }
    if (vips.insert(m.dest.v4().value).second) own(m.dest.v4());
  }
  t.vips.assign(vips.begin(), vips.end());
  std::sort(t.vips.begin(), t.vips.end());
  std::sort(t.vips6.begin(), t.vips6.end());
  t.vips6.erase(std::unique(t.vips6.begin(), t.vips6.end()), t.vips6.end());
  t.marks = MarkClassifier(rules.marks);
}

}  // namespace

Services::Services(ConnTable& conns, const Clock& clock)
    : conns_(conns), clock_(clock), table_(empty_table()) {}

Services::Services(ConnTable& conns) : Services(conns, steady_clock()) {}

std::string Services::install(const RuleSet& rules) {
  PreparedServices plan = prepare(rules);
  return commit(plan);
}

PreparedServices Services::prepare(const RuleSet& rules) const {
  PreparedServices plan;
  plan.base = generation_;
  // Every destination of the rules needs a handle of its own: more than there are is refused
  // before anything is built.
  for (const Service& svc : rules.services) plan.destinations += svc.destinations.size();
  if (plan.destinations > conns_.max_destinations()) {
    plan.error = too_many_destinations(plan.destinations, conns_.max_destinations());
    return plan;
  }
  const ServiceTable& now = *table_;
  auto next = std::make_shared<ServiceTable>();
  next->rules = std::make_shared<const RuleSet>(rules);
  next->services.reserve(rules.services.size());
  next->index.reserve(rules.services.size());
  for (std::size_t i = 0; i < rules.services.size(); ++i) {
    const Service& svc = rules.services[i];
    if (!next->index.emplace(svc.key, i).second) {
      plan.error = "service " + svc.key.str() + " is in the rules twice";
      return plan;
    }
    auto fresh_scheduler = [&] {
      return make_scheduler(svc.scheduler, {svc.sched_flags, clock_.now_ms(), &expiration_});
    };
    auto at = now.index.find(svc.key);
    if (at == now.index.end()) {
      auto rt = std::make_shared<ServiceRuntime>();
      rt->config = svc;
      rt->scheduler = fresh_scheduler();
      if (!rt->scheduler) {
        plan.error = "Scheduler or persistence engine not found";
        return plan;
      }
      next->services.push_back(rt);
      plan.changes.push_back({std::move(rt), true, {}, nullptr});
      continue;
    }
    next->services.push_back(now.services[at->second]);
    const Service& before = now.rules->services[at->second];
    if (before == svc) continue;
    PreparedServices::Change change{now.services[at->second], false, svc, nullptr};
    // The kernel tells a scheduler of destination changes only (add/del/upd_dest), and a new
    // scheduler of its list once (init_service); any other rule change leaves it alone.
    if (before.scheduler != svc.scheduler || before.sched_flags != svc.sched_flags) {
      change.scheduler = fresh_scheduler();
      if (!change.scheduler) {
        plan.error = "Scheduler or persistence engine not found";
        return plan;
      }
    }
    plan.changes.push_back(std::move(change));
  }
  for (std::size_t i = 0; i < now.services.size(); ++i)
    if (!next->index.contains(now.rules->services[i].key)) plan.removed.push_back(now.services[i]);
  index_table(*next);
  plan.table = std::move(next);
  return plan;
}

// A destination that is not live takes its deleted handle back, as ip_vs_add_dest takes a
// destination of the same service and address back from the trash, connections and all; else
// a spare one, deleted and counted by no entry (the kernel frees such a destination); else a
// new one. A rule set that needs more handles than the connection table has is refused here,
// before anything (a destination's thresholds, a kept scheduler) has changed.
std::string Services::place_destinations(const PreparedServices& plan,
                                         std::vector<Placed>& out) const {
  std::size_t needed = 0;
  std::unordered_set<DestHandle> taken_back;
  for (const auto& change : plan.changes) {
    const Service& svc = change.created ? change.runtime->config : change.config;
    std::unordered_map<IpEndpoint, DestHandle, IpEndpointHash> live;
    if (!change.created)
      for (DestHandle h : change.runtime->dests) live.emplace(dests_[h].config.addr, h);
    for (const Destination& d : svc.destinations) {
      if (auto it = live.find(d.addr); it != live.end()) {
        out.push_back({Slot::Live, it->second});
      } else if (auto del = deleted_by_key_.find({svc.key, d.addr}); del != deleted_by_key_.end()) {
        out.push_back({Slot::TakenBack, del->second});
        taken_back.insert(del->second);
      } else {
        out.push_back({Slot::Needed, 0});
        ++needed;
      }
    }
  }
  std::size_t available = conns_.max_destinations() - dests_.size();
  for (auto it = deleted_.begin(); it != deleted_.end() && available < needed; ++it)
    if (!taken_back.contains(*it) && !conns_.dest_load(*it).has_entries()) ++available;
  if (needed <= available) return {};
  return too_many_destinations(plan.destinations, conns_.max_destinations());
}

DestHandle Services::spare_or_new() {
  for (auto it = deleted_.begin(); it != deleted_.end(); ++it) {
    const DestHandle h = *it;
    if (conns_.dest_load(h).has_entries()) continue;
    deleted_.erase(it);
    deleted_by_key_.erase({dests_[h].service, dests_[h].config.addr});
    dests_[h] = DestRuntime{};  // nothing of the destination it was
    return h;
  }
  dests_.emplace_back();
  return static_cast<DestHandle>(dests_.size() - 1);
}

void Services::retire(DestHandle h) {
  DestRuntime& d = dests_[h];
  d.deleted = true;
  ++deletions_;
  deleted_by_key_[{d.service, d.config.addr}] = h;
  deleted_.insert(h);
}

void Services::tell_scheduler(ServiceRuntime& rt, bool new_scheduler, bool list_changed) {
  // The scheduler learns the new list as ip_vs_ctl.c tells it of each change.
  for (std::size_t j = 0; j < rt.dests.size(); ++j) rt.view[j] = sched_view(rt.dests[j]);
  if (new_scheduler) {
    // A new scheduler learns the list as the kernel's would: the service created empty, then
    // one add_dest per destination in the order they were added (the list is newest first,
    // so the adds are its suffixes from the oldest up). wrr's starting state depends on that
    // order (spec 6).
    const std::size_t n = rt.view.size();
    for (std::size_t k = 0; k <= n; ++k)
      rt.scheduler->on_change(std::span<const SchedDest>(rt.view).subspan(n - k));
  } else if (list_changed) {
    rt.scheduler->on_change(rt.view);
  }
}

std::string Services::commit(PreparedServices& plan) {
  // First everything that can fail, touching nothing: a refused rule set changes nothing.
  if (!plan.error.empty()) return plan.error;
  if (plan.base != generation_ || !plan.table)
    return "the rules changed while this change was prepared; nothing was changed";
  std::vector<Placed> placed;
  if (auto error = place_destinations(plan, placed); !error.empty()) return error;

  // Past this point nothing can fail: apply, in time proportional to what changed.
  for (const Placed& p : placed)
    if (p.slot == Slot::TakenBack) {
      deleted_.erase(p.handle);
      deleted_by_key_.erase({dests_[p.handle].service, dests_[p.handle].config.addr});
    }
  std::vector<DestHandle> dropped;
  auto next_placed = placed.begin();
  for (auto& change : plan.changes) {
    ServiceRuntime& rt = *change.runtime;
    if (!change.created) {
      std::swap(rt.config, change.config);  // the old rule goes back to be freed off this thread
      if (change.scheduler) std::swap(rt.scheduler, change.scheduler);
    }
    std::vector<DestHandle> dests;
    dests.reserve(rt.config.destinations.size());
    for (const Destination& d : rt.config.destinations) {
      const Placed p = *next_placed++;
      DestHandle h = p.handle;
      if (p.slot == Slot::Needed) h = spare_or_new();
      DestRuntime& dest = dests_[h];
      // Taken back into a service created anew (its old one deleted): __ip_vs_update_dest
      // zeroes the stats of a destination that comes back under another service.
      if (p.slot == Slot::TakenBack && change.created) dest.totals = {}, dest.rates = {};
      dest.service = rt.config.key;
      dest.deleted = false;
      dest.config = d;
      if (dest.runtime != change.runtime) dest.runtime = change.runtime;
      if (shared_) {
        dest.shared_load = shared_->dest_load(rt.config.key, d.addr);
        conns_.share_dest_load(h, dest.shared_load.get());
      }
      conns_.set_dest_thresholds(h, d.upper_threshold, d.lower_threshold);
      dests.push_back(h);
    }
    if (!change.created) {
      std::unordered_set<DestHandle> kept(dests.begin(), dests.end());
      for (DestHandle h : rt.dests)
        if (!kept.contains(h)) dropped.push_back(h);
    }
    rt.dests = std::move(dests);
    rt.view.resize(rt.dests.size());
    const bool new_scheduler = change.created || change.scheduler != nullptr;
    if (shared_ && new_scheduler) {
      rt.scheduler = shared_->adopt(rt.config.key, std::move(rt.scheduler), generation_, leader_);
      rt.shared_scheduler = dynamic_cast<SharedScheduler*>(rt.scheduler.get());
    } else if (new_scheduler) {
      rt.shared_scheduler = nullptr;
    }
    tell_scheduler(rt, new_scheduler,
                   new_scheduler || change.config.destinations != rt.config.destinations);
  }
  for (DestHandle h : dropped) retire(h);
  for (auto& rt : plan.removed) {
    rt->removed = true;
    for (DestHandle h : rt->dests) retire(h);
  }
  std::swap(table_, plan.table);  // the one pointer the packets see; the old table goes back
  ++generation_;
  return {};
}

ServiceRuntime* Services::lookup(Proto proto, Endpoint dest) {
  if (uint32_t mark = table_->marks.mark(proto, dest))
    if (ServiceRuntime* svc = find_mark(mark)) return svc;
  if (ServiceRuntime* svc = find(proto, dest)) return svc;
  return find(proto, {dest.addr, 0});
}

ServiceRuntime* Services::lookup6(Proto proto, const std::array<uint8_t, 16>& dest, uint16_t port) {
  if (uint32_t mark = table_->marks.mark6(proto, dest, port))
    if (ServiceRuntime* svc = find_mark6(mark)) return svc;
  return find6(proto, dest, port);
}

std::optional<DestHandle> Services::schedule(ServiceRuntime& service, const FlowKey& flow,
                                             uint64_t now_ms) {
  if (service.shared_scheduler) return schedule_shared(service, flow, now_ms);
  for (std::size_t j = 0; j < service.dests.size(); ++j)
    service.view[j] = sched_view(service.dests[j]);
  int i = service.scheduler->pick(service.view, flow, now_ms);
  if (i < 0 || static_cast<std::size_t>(i) >= service.dests.size()) return std::nullopt;
  return service.dests[i];
}

// With several workers: the counts read, the pick and the new connection's count under the
// service's lock, so that another worker's next pick sees this one counted.
std::optional<DestHandle> Services::schedule_shared(ServiceRuntime& service, const FlowKey& flow,
                                                    uint64_t now_ms) {
  std::lock_guard lock(service.shared_scheduler->mutex());
  for (std::size_t j = 0; j < service.dests.size(); ++j)
    service.view[j] = sched_view(service.dests[j]);
  int i = service.shared_scheduler->pick_locked(service.view, flow, now_ms);
  if (i < 0 || static_cast<std::size_t>(i) >= service.dests.size()) return std::nullopt;
  const DestHandle h = service.dests[i];
  if (SharedDestLoad* shared = conns_.dest_load(h).shared) conns_.count_scheduled(*shared);
  return h;
}

SchedDest Services::sched_view(DestHandle h) const {
  const auto& d = dests_[h];
  const auto& load = conns_.dest_load(h);
  if (const SharedDestLoad* shared = load.shared)
    return {scheduler_endpoint(d.config.addr), d.config.weight,
            shared->active.load(std::memory_order_relaxed),
            shared->inactive.load(std::memory_order_relaxed),
            shared->overloaded.load(std::memory_order_relaxed)};
  return {scheduler_endpoint(d.config.addr), d.config.weight, load.active, load.inactive,
          load.overloaded};
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
  for (auto& rt : table_->services) rt->rates.estimate(rt->totals, elapsed_ms);
  for (auto& d : dests_) d.rates.estimate(d.totals, elapsed_ms);
}

DirectorState Services::state() const {
  DirectorState s;
  s.rules = *table_->rules;
  for (const auto& svc : table_->services) {
    const ServiceRuntime& rt = *svc;
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
      // Each worker lists its own share of the counts (the bridge sums them), and the flag
      // the thresholds set on the director's.
      ds.overloaded =
          load.shared ? load.shared->overloaded.load(std::memory_order_relaxed) : load.overloaded;
      ds.totals = d.totals;
      ds.rates = d.rates.rates();
      ss.destinations.push_back(ds);
    }
    s.services.push_back(std::move(ss));
  }
  return s;
}

void Services::zero(const std::optional<ServiceKey>& which) {
  auto zero_one = [&](ServiceRuntime& rt) {
    rt.totals = {};
    rt.rates = {};
    for (auto h : rt.dests) dests_[h].totals = {}, dests_[h].rates = {};
  };
  if (!which) {
    for (auto& rt : table_->services) zero_one(*rt);
  } else if (auto* rt = table_->find(*which)) {
    zero_one(**rt);
  }
}

std::optional<DestHandle> Services::nat_real_server(Proto proto, Endpoint server) const {
  auto it = std::find_if(dests_.begin(), dests_.end(), [&](const DestRuntime& d) {
    return !d.deleted && d.runtime && d.config.method == Method::Nat && d.config.addr == server &&
           (d.service.fwmark != 0 || d.service.proto == proto);
  });
  if (it == dests_.end()) return std::nullopt;
  return DestHandle(it - dests_.begin());
}

}  // namespace vsd
