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

#include "ctl/protocol.h"
#include "vsd/call_queue.h"
#include "vsd/dataplane.h"
#include "vsd/sync_daemons.h"

namespace vsd {

// The one line vsd logs when an install adds IPv6 services its data plane does not forward yet
// (TUN, FULLNAT, persistence, fwmarks), or "" when it adds none.
std::string ipv6_services_warning(const RuleSet& before, const RuleSet& after);

class ControlBridge final : public ctl::ControlTarget {
 public:
  // on_installed: runs on the control thread after each install the data plane took, with
  // the rules now in service (vsd updates its ingress chain's sets there).
  // Made before the data plane runs on its own thread (it reads the rules installed).
  ControlBridge(Dataplane& dataplane, CallQueue& calls,
                std::function<void(const RuleSet&)> on_installed = {})
      : dataplane_(dataplane),
        calls_(calls),
        on_installed_(std::move(on_installed)),
        rules_(dataplane.rules_ptr()) {}

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
  std::string start_daemon(const sync::DaemonConfig& config) override;
  std::string stop_daemon(sync::Role role) override;
  std::vector<sync::DaemonConfig> daemons() const override;
  Sysctls sysctls() const override;
  std::string set_sysctl(std::string_view name, std::string_view value) override;

 private:
  void on_dataplane(const std::function<void()>& fn) const;

  Dataplane& dataplane_;
  CallQueue& calls_;
  std::function<void(const RuleSet&)> on_installed_;
  mutable std::mutex mutex_;  // one install at a time; guards rules_
  std::shared_ptr<const RuleSet> rules_;
  SyncDaemons* sync_ = nullptr;
};

}  // namespace vsd
