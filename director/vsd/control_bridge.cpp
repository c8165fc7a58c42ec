#include "vsd/control_bridge.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <unordered_set>

#include "vsd/log.h"

namespace vsd {
namespace {

// Preparing 100k services takes the control thread a few hundred ms of CPU, and nft as much
// again; on a busy 2-core box that would be taken from forwarding. While it lasts, the calling
// thread (and the nft work it does) runs at a lower priority than the data plane; the old nice
// value comes back after (root may raise it again; without root it stays lowered, which only
// slows control requests).
class YieldToForwarding {
 public:
  YieldToForwarding() : tid_(id_t(syscall(SYS_gettid))) {
    errno = 0;
    before_ = getpriority(PRIO_PROCESS, tid_);
    if (errno == 0 && before_ < kNice) lowered_ = setpriority(PRIO_PROCESS, tid_, kNice) == 0;
  }
  ~YieldToForwarding() {
    if (lowered_) setpriority(PRIO_PROCESS, tid_, before_);
  }
  YieldToForwarding(const YieldToForwarding&) = delete;
  YieldToForwarding& operator=(const YieldToForwarding&) = delete;

 private:
  static constexpr int kNice = 10;
  id_t tid_;
  int before_ = 0;
  bool lowered_ = false;
};

}  // namespace

std::string ipv6_services_warning(const RuleSet& before, const RuleSet& after) {
  std::unordered_set<ServiceKey, ServiceKeyHash> had;
  for (const Service& s : before.services)
    if (s.family() == Family::V6) had.insert(s.key);
  // What the IPv6 stages do not forward yet (vsd/dataplane_ipv6.cpp).
  auto unforwarded = [](const Service& s) { return !s.persistence_engine.empty(); };
  std::size_t added = 0;
  const Service* first = nullptr;
  for (const Service& s : after.services) {
    if (s.family() != Family::V6 || had.contains(s.key) || !unforwarded(s)) continue;
    if (added++ == 0) first = &s;
  }
  if (added == 0) return "";
  const std::string which =
      added == 1 ? "IPv6 service " + first->key.str()
                 : std::to_string(added) + " IPv6 services (" + first->key.str() + ", ...)";
  return which +
         " added that vsd does not forward over IPv6 yet (it forwards every method and "
         "persistence and fwmark services, not --pe): their frames are dropped and counted as "
         "discard_ipv6_unsupported (vsadm --counters)";
}

void ControlBridge::on_dataplane(const Lane& lane, const std::function<void()>& fn) const {
  if (!lane.calls->call(fn)) throw std::runtime_error("vsd is shutting down");
}

void add_worker_state(DirectorState& into, const DirectorState& worker) {
  auto add = [](Counters& a, const Counters& b) {
    a.conns += b.conns;
    a.in_packets += b.in_packets;
    a.out_packets += b.out_packets;
    a.in_bytes += b.in_bytes;
    a.out_bytes += b.out_bytes;
  };
  // Every worker holds the same rules, so the same services and destinations in one order.
  const std::size_t services = std::min(into.services.size(), worker.services.size());
  for (std::size_t i = 0; i < services; ++i) {
    ServiceState& s = into.services[i];
    const ServiceState& w = worker.services[i];
    add(s.totals, w.totals);
    add(s.rates, w.rates);
    const std::size_t dests = std::min(s.destinations.size(), w.destinations.size());
    for (std::size_t j = 0; j < dests; ++j) {
      DestinationState& d = s.destinations[j];
      const DestinationState& wd = w.destinations[j];
      d.active += wd.active;
      d.inactive += wd.inactive;
      d.persistent += wd.persistent;
      d.overloaded = d.overloaded || wd.overloaded;
      add(d.totals, wd.totals);
      add(d.rates, wd.rates);
    }
  }
  into.connections.insert(into.connections.end(), worker.connections.begin(),
                          worker.connections.end());
}

RuleSet ControlBridge::rules() const {
  std::shared_ptr<const RuleSet> now;
  {
    std::lock_guard lock(mutex_);
    now = rules_;
  }
  return *now;
}

std::string ControlBridge::install(const RuleSet& next) {
  std::unique_lock lock(mutex_);
  YieldToForwarding nice;
  // Everything that grows with the rules is done here, on this thread; the data plane's part
  // is proportional to what changed. What it replaced comes back in the plan and is freed
  // here when the plan goes.
  std::vector<PreparedInstall> plans;
  plans.reserve(lanes_.size());
  for (const Lane& lane : lanes_) {
    plans.push_back(lane.dataplane->prepare(next));
    if (!plans.back().services.error.empty()) return plans.back().services.error;
  }
  std::shared_ptr<const RuleSet> installed = plans.front().services.table->rules;
  if (hooks_.before)
    if (auto error = hooks_.before(*rules_, *installed); !error.empty()) return error;
  // The workers hold the same rules and took the same installs, so a commit one refuses the
  // first refuses too, before any has changed.
  std::string error;
  for (std::size_t i = 0; i < lanes_.size() && error.empty(); ++i)
    on_dataplane(lanes_[i], [&] { error = lanes_[i].dataplane->commit(plans[i]); });
  if (!error.empty()) return error;
  if (hooks_.after) hooks_.after(*installed);
  if (auto warning = ipv6_services_warning(*rules_, *installed); !warning.empty())
    log_warn(warning);
  rules_ = std::move(installed);
  // Under the lock, so that the ingress chain's sets follow the installs in their order.
  if (on_installed_) on_installed_(*rules_);
  return error;
}

DirectorState ControlBridge::state() const {
  DirectorState out = summary();
  for (std::size_t cursor = 0; cursor != ctl::kNoMoreConnections;)
    cursor = connections(cursor, out.connections);
  return out;
}

DirectorState ControlBridge::summary() const {
  DirectorState out;
  on_dataplane(lanes_.front(), [&] { out = lanes_.front().dataplane->summary(); });
  for (std::size_t i = 1; i < lanes_.size(); ++i) {
    DirectorState worker;
    on_dataplane(lanes_[i], [&] { worker = lanes_[i].dataplane->summary(); });
    add_worker_state(out, worker);
  }
  return out;
}

std::size_t ControlBridge::connections(std::size_t from, std::vector<ConnectionEntry>& out) const {
  constexpr std::size_t kInLane = (std::size_t{1} << kLaneShift) - 1;
  std::size_t in_lane = from & kInLane;
  for (std::size_t lane = from >> kLaneShift; lane < lanes_.size(); ++lane, in_lane = 0) {
    std::size_t next = ctl::kNoMoreConnections;
    on_dataplane(lanes_[lane], [&] { next = lanes_[lane].dataplane->connections(in_lane, out); });
    if (next != ctl::kNoMoreConnections) return lane << kLaneShift | next;
  }
  return ctl::kNoMoreConnections;
}

void ControlBridge::zero(const std::optional<ServiceKey>& which) {
  for (const Lane& lane : lanes_) on_dataplane(lane, [&] { lane.dataplane->zero(which); });
}

Sysctls ControlBridge::sysctls() const {
  Sysctls out;
  on_dataplane(lanes_.front(), [&] { out = lanes_.front().dataplane->sysctls(); });
  return out;
}

// Read, changed and written back in one call on the data plane: two clients setting two
// names at once both take effect. A name or value one worker refuses, the first refuses,
// before any has changed.
std::string ControlBridge::set_sysctl(std::string_view name, std::string_view value) {
  std::string error;
  for (std::size_t i = 0; i < lanes_.size() && error.empty(); ++i)
    on_dataplane(lanes_[i], [&] { error = lanes_[i].dataplane->set_sysctl(name, value); });
  return error;
}

std::vector<std::pair<std::string, uint64_t>> ControlBridge::counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  on_dataplane(lanes_.front(), [&] { out = lanes_.front().dataplane->counters(); });
  for (std::size_t i = 1; i < lanes_.size(); ++i) {
    std::vector<std::pair<std::string, uint64_t>> worker;
    on_dataplane(lanes_[i], [&] { worker = lanes_[i].dataplane->counters(); });
    // The same names in the same order on every worker.
    for (std::size_t j = 0; j < std::min(out.size(), worker.size()); ++j)
      out[j].second += worker[j].second;
  }
  if (sync_) {
    const auto& c = sync_->counters();
    out.emplace_back("sync_messages_sent", c.messages_sent);
    out.emplace_back("sync_entries_sent", c.entries_sent);
    out.emplace_back("sync_send_errors", c.send_errors);
    out.emplace_back("sync_messages_dropped", c.messages_dropped);
    out.emplace_back("sync_entries_dropped", c.entries_dropped);
    out.emplace_back("sync_messages_received", c.messages_received);
    out.emplace_back("sync_messages_refused", c.messages_refused);
    out.emplace_back("sync_entries_received", c.entries_received);
  }
  return out;
}

std::string ControlBridge::start_daemon(const sync::DaemonConfig& config) {
  if (!sync_ && !no_sync_reason_.empty()) return no_sync_reason_;
  return sync_ ? sync_->start(config) : ctl::ControlTarget::start_daemon(config);
}

std::string ControlBridge::stop_daemon(sync::Role role) {
  return sync_ ? sync_->stop(role) : ctl::ControlTarget::stop_daemon(role);
}

std::vector<sync::DaemonConfig> ControlBridge::daemons() const {
  return sync_ ? sync_->running() : std::vector<sync::DaemonConfig>{};
}

}  // namespace vsd
