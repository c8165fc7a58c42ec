// The services the data plane serves, built from a RuleSet when it is installed: per-service
// scheduler state and per-destination counters, which outlive a rule change (the kernel keeps
// a destination's counters and scheduler state across -e and -E). Owned by the data-plane
// thread; a new RuleSet is prepared off it and swapped in between two batches, so no packet
// sees half of it and a change among 100k services costs forwarding only what changed.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "config/mark_classifier.h"
#include "config/rules.h"
#include "config/state.h"
#include "conn/clock.h"
#include "conn/table.h"
#include "net/ip6.h"
#include "sched/scheduler.h"
#include "vsd/shared_scheduling.h"

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
struct ServiceRuntime;
struct DestRuntime {
  ServiceKey service;
  Destination config;
  bool deleted = false;  // removed from the rules; connections to it are dropped
  // The service it was made for; every packet of a connection needs it. Kept while a deleted
  // destination has connections, as the kernel's dest keeps its svc.
  std::shared_ptr<ServiceRuntime> runtime;
  Counters totals;
  RateEstimator rates;
  // vsd --workers N: the director's counts, which the connection table's handle points to.
  std::shared_ptr<SharedDestLoad> shared_load;
};

struct ServiceRuntime {
  Service config;
  std::unique_ptr<Scheduler> scheduler;
  std::vector<DestHandle> dests;  // list order, newest first
  std::vector<SchedDest> view;    // refreshed before each pick
  // vsd --workers N: the scheduler when it is the one every worker shares (it is `scheduler`).
  SharedScheduler* shared_scheduler = nullptr;
  Counters totals;
  RateEstimator rates;
  bool removed = false;  // no longer in the rules (its deleted destinations may linger)

  // The port a new connection takes on its real server (spec 4, the port-0 rules): a
  // destination port 0 (port-0 and fwmark services) keeps the packet's; so does every
  // destination of a persistent service the packet's port is not the port of.
  uint16_t real_server_port(uint16_t dest_port, uint16_t packet_port) const {
    const bool services_port = packet_port == config.key.vip.port;
    return dest_port == 0 || (config.persistent && !services_port) ? packet_port : dest_port;
  }
};

// What the data plane looks services up in. Built whole on the control thread and never
// changed once installed: an install replaces the pointer to it. The runtimes it points to are
// the data plane's (their schedulers and counters change with every packet).
struct ServiceTable {
  std::shared_ptr<const RuleSet> rules;
  std::vector<std::shared_ptr<ServiceRuntime>> services;              // rules->services' order
  std::unordered_map<ServiceKey, std::size_t, ServiceKeyHash> index;  // key -> position
  std::unordered_map<uint64_t, ServiceRuntime*> by_vip;
  std::unordered_map<uint32_t, ServiceRuntime*> by_mark;
  std::unordered_map<uint32_t, ServiceRuntime*> by_mark6;  // the -6 fwmark services
  MarkClassifier marks;
  // An IPv4 service has a persistence engine (SIP), whose conn_out makes connections for its
  // real servers' own datagrams: only then is an unclaimed one from a real server looked at.
  bool conn_out = false;
  std::vector<uint32_t> vips;  // sorted: asked for every packet
  std::vector<Ipv4> owned;
  // The VIPs of IPv6 address services, sorted, and the services by (protocol, VIP, port):
  // what the IPv6 stages look up (vsd/dataplane_ipv6.cpp), off the IPv4 path.
  std::vector<std::array<uint8_t, 16>> vips6;
  std::map<std::tuple<Proto, std::array<uint8_t, 16>, uint16_t>, ServiceRuntime*> by_vip6;

  const std::shared_ptr<ServiceRuntime>* find(const ServiceKey& key) const {
    auto it = index.find(key);
    return it == index.end() ? nullptr : &services[it->second];
  }
};

// The next rule set, made ready off the data plane (Services::prepare): the table to swap in,
// and the services whose runtime changes, each with what replaces its rule and scheduler.
// Services::commit then does on the data plane only what depends on its own state (the
// destinations' handles, the schedulers' lists), in time proportional to what changed; what it
// replaces comes back in here, to be freed where the plan was made.
struct PreparedServices {
  struct Change {
    std::shared_ptr<ServiceRuntime> runtime;  // in the new table; a new object when created
    bool created = false;
    Service config;                        // edits: swapped into runtime->config at commit
    std::unique_ptr<Scheduler> scheduler;  // a fresh one (created, or -E with another -s)
  };
  uint64_t base = 0;  // the generation of the table it was made from
  std::shared_ptr<const ServiceTable> table;
  std::vector<Change> changes;  // in the new rules' order
  std::vector<std::shared_ptr<ServiceRuntime>> removed;
  std::size_t destinations = 0;  // in the new rules, for the error when they do not fit
  std::string error;             // a refusal found while preparing
};

class Services {
 public:
  // clock: what schedulers age their state by (lblc, lblcr); the data plane's own, so that
  // tests drive both with one clock. Without one, the steady clock vsd runs on.
  Services(ConnTable& conns, const Clock& clock);
  explicit Services(ConnTable& conns);

  // net.ipv4.vs.lblc_expiration and lblcr_expiration, in ms: every lblc and lblcr scheduler of
  // these services, made before or after, reads them from here at its next pick.
  void set_locality_expiration(int64_t lblc_ms, int64_t lblcr_ms) {
    expiration_.lblc_ms.store(lblc_ms, std::memory_order_relaxed);
    expiration_.lblcr_ms.store(lblcr_ms, std::memory_order_relaxed);
  }

  // Replaces the rule set. Returns "" or why it was refused (nothing changes then). Both
  // steps on this thread: prepare, then commit.
  std::string install(const RuleSet& rules);
  // The two halves of install. prepare() reads only the installed table, which nothing but
  // commit() changes, so it may run on another thread while the data plane forwards, as long
  // as no commit runs meanwhile (vsd serializes installs); O(services) there. commit() runs on
  // the data plane: O(what changed), one pointer swapped. A plan made from another table than
  // the one installed is refused.
  PreparedServices prepare(const RuleSet& rules) const;
  std::string commit(PreparedServices& plan);

  // vsd --workers N: schedule from the state every worker shares (vsd/shared_scheduling.h)
  // from the next commit on. The leader commits each rule set first (worker 0). Before the
  // first install.
  void share(SharedScheduling* shared, bool leader) {
    shared_ = shared;
    leader_ = leader;
  }

  const RuleSet& rules() const { return *table_->rules; }
  std::shared_ptr<const RuleSet> rules_ptr() const { return table_->rules; }

  // The service for a packet to (proto, vip, vport), if any.
  ServiceRuntime* find(Proto proto, Endpoint vip) {
    auto it = table_->by_vip.find(vip_key(proto, vip));
    return it == table_->by_vip.end() ? nullptr : it->second;
  }
  // The fwmark service of a mark, if any: the IPv4 one, or (find_mark6) the -6 one.
  ServiceRuntime* find_mark(uint32_t mark) { return find_in(table_->by_mark, mark); }
  ServiceRuntime* find_mark6(uint32_t mark) { return find_in(table_->by_mark6, mark); }
  // The service a destination belongs to, if it still exists.
  ServiceRuntime* service_of(DestHandle h) {
    ServiceRuntime* svc = dests_[h].runtime.get();
    return svc != nullptr && !svc->removed ? svc : nullptr;
  }
  // The service for a new connection's first packet, as ip_vs_service_find picks it: the
  // fwmark service of the mark vsd's classifier gives the packet first, then the address
  // service of its port, then its VIP's port-0 service.
  ServiceRuntime* lookup(Proto proto, Endpoint dest);
  // vsd's classifier: the mark a new packet to dest gets, 0 when no rule takes it.
  uint32_t mark_of(Proto proto, Endpoint dest) const { return table_->marks.mark(proto, dest); }
  bool has_fwmark_services() const { return !table_->by_mark.empty(); }
  // Includes the hosts (/32) that mark rules name.
  bool is_vip(Ipv4 a) const {
    return std::binary_search(table_->vips.begin(), table_->vips.end(), a.value);
  }
  const std::vector<Ipv4>& owned_addresses() const { return table_->owned; }
  // The IPv6 address service for a packet to [vip]:port, or the VIP's port-0 service.
  ServiceRuntime* find6(Proto proto, const std::array<uint8_t, 16>& vip, uint16_t port) {
    auto it = table_->by_vip6.find({proto, vip, port});
    if (it == table_->by_vip6.end()) it = table_->by_vip6.find({proto, vip, 0});
    return it == table_->by_vip6.end() ? nullptr : it->second;
  }
  const std::vector<std::array<uint8_t, 16>>& vips6() const { return table_->vips6; }
  // Whether an IPv6 destination address is the VIP of an IPv6 service.
  bool is_ipv6_vip(const std::array<uint8_t, 16>& a) const {
    return std::binary_search(table_->vips6.begin(), table_->vips6.end(), a, ip6_less);
  }
  bool has_ipv6_services() const { return !table_->vips6.empty() || has_fwmark6_services(); }
  bool has_fwmark6_services() const { return !table_->by_mark6.empty(); }
  // Whether the IPv6 classifier marks a packet to [dest]:port for a -6 fwmark service.
  bool is_marked6(Proto proto, const std::array<uint8_t, 16>& dest, uint16_t port) const {
    if (!has_fwmark6_services()) return false;
    const uint32_t mark = table_->marks.mark6(proto, dest, port);
    return mark != 0 && table_->by_mark6.contains(mark);
  }
  // lookup() for an IPv6 packet: the -6 fwmark service of its mark, then find6.
  ServiceRuntime* lookup6(Proto proto, const std::array<uint8_t, 16>& dest, uint16_t port);

  // Runs the service's scheduler; nothing when no destination is available. now_ms: the
  // clock's reading, for a caller that has one at hand.
  std::optional<DestHandle> schedule(ServiceRuntime& service, const FlowKey& flow, uint64_t now_ms);
  std::optional<DestHandle> schedule(ServiceRuntime& service, const FlowKey& flow) {
    return schedule(service, flow, clock_.now_ms());
  }

  DestRuntime& dest(DestHandle h) { return dests_[h]; }
  // How many destinations were ever deleted: grows when an install deletes one.
  uint64_t deletions() const { return deletions_; }
  // Whether a live NAT destination has this address and port, for this protocol or under a
  // fwmark service (ip_vs_has_real_service). O(destinations): asked only with nat_icmp_send.
  bool is_nat_real_server(Proto proto, Endpoint server) const {
    return nat_real_server(proto, server).has_value();
  }
  // A live NAT destination at `server` of a `proto` (or fwmark) service, as
  // ip_vs_find_real_service finds one: the first the table holds when several services name
  // the same real server and port.
  std::optional<DestHandle> nat_real_server(Proto proto, Endpoint server) const;
  bool has_conn_out_services() const { return table_->conn_out; }
  std::size_t dest_count() const { return dests_.size(); }

  DirectorState state() const;
  // Runs the estimators of every service and destination (every RateEstimator::kIntervalMs).
  void estimate_rates(uint64_t elapsed_ms);
  void zero(const std::optional<ServiceKey>& which);
  const std::vector<std::shared_ptr<ServiceRuntime>>& all() const { return table_->services; }

 private:
  static ServiceRuntime* find_in(const std::unordered_map<uint32_t, ServiceRuntime*>& by,
                                 uint32_t mark) {
    auto it = by.find(mark);
    return it == by.end() ? nullptr : it->second;
  }
  static uint64_t vip_key(Proto p, Endpoint vip) {
    return uint64_t(uint8_t(p)) << 48 | uint64_t(vip.port) << 32 | vip.addr.value;
  }
  SchedDest sched_view(DestHandle h) const;
  std::optional<DestHandle> schedule_shared(ServiceRuntime& service, const FlowKey& flow,
                                            uint64_t now_ms);
  struct DestKeyHash {
    std::size_t operator()(const std::pair<ServiceKey, IpEndpoint>& k) const noexcept {
      return ServiceKeyHash{}(k.first) ^ ((hash_of(k.second.addr) ^ k.second.port) << 1);
    }
  };
  using DestKey = std::pair<ServiceKey, IpEndpoint>;
  // commit()'s steps.
  // Where each destination of the changed services gets its handle, in their order.
  enum class Slot : uint8_t { Live, TakenBack, Needed };
  struct Placed {
    Slot slot = Slot::Needed;
    DestHandle handle = 0;
  };
  std::string place_destinations(const PreparedServices& plan, std::vector<Placed>& out) const;
  void retire(DestHandle h);
  DestHandle spare_or_new();
  void tell_scheduler(ServiceRuntime& rt, bool new_scheduler, bool list_changed);

  ConnTable& conns_;
  const Clock& clock_;
  LocalityExpiration expiration_;
  SharedScheduling* shared_ = nullptr;
  bool leader_ = false;
  std::shared_ptr<const ServiceTable> table_;
  uint64_t generation_ = 0;
  // A handle is an index here: deleted ones stay for their connections, and are taken back by
  // their destination or given to a new one at a later install (commit). A vector, as every
  // packet looks one up; no reference to an element is kept past an install.
  std::vector<DestRuntime> dests_;
  // The deleted handles, by what would take them back, and in order (the lowest spare first).
  std::unordered_map<DestKey, DestHandle, DestKeyHash> deleted_by_key_;
  std::set<DestHandle> deleted_;
  uint64_t deletions_ = 0;
};

}  // namespace vsd
