// The control thread's view of the data plane: ctl::start_request parses, validates and
// formats on the control thread, and each step that touches the data plane's state (the state
// for a listing, zeroing, vsd's counters, the swap of an install) runs on the data-plane thread
// through the CallQueue, whole, between two batches. The rules in service are kept here too,
// so reading them costs the data plane nothing; an install is prepared here (the next service
// table, its indexes, new schedulers) and the data plane only swaps it in. The connection
// entries go a chunk a call (Dataplane::connections), never the whole table in one.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ctl/protocol.h"
#include "vsd/call_queue.h"
#include "vsd/dataplane.h"
#include "vsd/sync_daemons.h"

namespace vsd {

// The one line vsd logs when an install adds IPv6 services its data plane does not forward yet
// (fwmark services, a persistence engine), or "" when it adds none.
std::string ipv6_services_warning(const RuleSet& before, const RuleSet& after);

// One worker's data plane and the queue its thread runs calls from (vsd --workers).
struct Lane {
  Dataplane* dataplane;
  CallQueue* calls;
};

// vsd --workers N: the steps an install takes beside the workers' commits. before: runs first,
// with the rules in service and the next; "" or why the next cannot be served (nothing changes
// then). after: runs once every worker has the next rules.
struct InstallHooks {
  std::function<std::string(const RuleSet& now, const RuleSet& next)> before;
  std::function<void(const RuleSet& next)> after;
};

// The workers' states as one director's: their counters summed, a destination overloaded if
// it is on any worker (each worker counts its own connections).
void add_worker_state(DirectorState& into, const DirectorState& worker);

class ControlBridge final : public ctl::ControlTarget {
 public:
  // on_installed: runs on the control thread after each install the data plane took, with
  // the rules now in service (vsd updates its ingress chain's sets there).
  // Made before the data plane runs on its own thread (it reads the rules installed).
  ControlBridge(Dataplane& dataplane, CallQueue& calls,
                std::function<void(const RuleSet&)> on_installed = {})
      : ControlBridge({Lane{&dataplane, &calls}}, std::move(on_installed)) {}
  // Several workers, each with the same rules: a request reaches every one of them (an
  // install, a sysctl, zeroing) or merges what they hold (listings, counters).
  ControlBridge(std::vector<Lane> lanes, std::function<void(const RuleSet&)> on_installed = {},
                InstallHooks hooks = {})
      : lanes_(std::move(lanes)),
        on_installed_(std::move(on_installed)),
        hooks_(std::move(hooks)),
        rules_(lanes_.front().dataplane->rules_ptr()) {}

  // ctl::ControlTarget; each throws when vsd is shutting down and the call cannot run.
  // Installs, from any thread, are serialized here.
  RuleSet rules() const override;
  std::string install(const RuleSet& next) override;
  DirectorState state() const override;  // summary() and every chunk of connections()
  void zero(const std::optional<ServiceKey>& which) override;
  DirectorState summary() const override;
  std::size_t connections(std::size_t from, std::vector<ConnectionEntry>& out) const override;
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  // The sync daemons, when vsd has them (set once, before control requests are served).
  void set_sync_daemons(SyncDaemons* daemons) { sync_ = daemons; }
  // Why there are none, when it is not the default "Protocol not available".
  void set_no_sync_reason(std::string why) { no_sync_reason_ = std::move(why); }
  std::string start_daemon(const sync::DaemonConfig& config) override;
  std::string stop_daemon(sync::Role role) override;
  std::vector<sync::DaemonConfig> daemons() const override;
  Sysctls sysctls() const override;
  std::string set_sysctl(std::string_view name, std::string_view value) override;

 private:
  void on_dataplane(const Lane& lane, const std::function<void()>& fn) const;
  // The connection cursor of a listing over several workers: the worker in the top bits.
  static constexpr unsigned kLaneShift = 48;

  std::vector<Lane> lanes_;
  std::function<void(const RuleSet&)> on_installed_;
  InstallHooks hooks_;
  mutable std::mutex mutex_;  // one install at a time; guards rules_
  std::shared_ptr<const RuleSet> rules_;
  SyncDaemons* sync_ = nullptr;
  std::string no_sync_reason_;
};

}  // namespace vsd
