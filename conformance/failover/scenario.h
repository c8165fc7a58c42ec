// The failover scenario (issue 23): two directors share the VIP by VRRP; flows go through the
// master; the master dies (its vsd and keepalived killed, or its links pulled), the VIP moves to
// the backup, and each flow is timed as it goes on (or is reset); then the master comes back and
// takes the VIP again (failback), with flows made through the backup. Each phase is judged
// against what the spec predicts for it (docs/ipvs.md section 3): without connection sync the
// new master has no entry for the flows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "dut/external_dut.h"
#include "failover/flows.h"

namespace vslab::failover {

enum class Failure { Kill, PullLink };
enum class VipMover { Keepalived, Harness };
// What a director of the pair is: vsd, or Linux IPVS in a qemu guest (dut/qemu), which has no
// keepalived: the harness moves its VIP through the guest's shell; or a real box (dut/external),
// wired to this machine's interfaces, whose events are its config's [failover] commands.
enum class DirectorKind { Vsd, QemuKernel, External };

struct ScenarioOptions {
  std::string vsd_binary, vsadm_binary;  // for a director that is vsd
  DirectorKind master_kind = DirectorKind::Vsd, backup_kind = DirectorKind::Vsd;
  bool sync = false;  // connection sync between the two (ipvsadm --start-daemon on both)
  VipMover mover = VipMover::Keepalived;
  std::vector<Failure> failures{Failure::Kill, Failure::PullLink};
  // nat (topologies/failover.toml) or dr (topologies/failover-dr.toml).
  std::string mode = "nat";
  // For an External director: the master's box stands for the node "director", the backup's
  // for "backup". With VipMover::Keepalived the boxes run their own VRRP and the harness only
  // watches where the VIP answers ARP; with Harness it runs their take_vip/release_vip.
  dut::ExternalConfig master_box, backup_box;
};

struct PhaseReport {
  Failure failure = Failure::Kill;
  std::string phase;  // "failover" or "failback"
  // From the event until the new master held the VIP and the router sent the VIP's frames to it.
  std::optional<double> vip_moved_ms;
  std::vector<FlowReport> flows;
  std::vector<std::string> problems;  // where the pair did not do what the spec predicts
  std::string error;                  // no verdict: the bed or the pair broke
};

struct ScenarioReport {
  std::string skipped;  // why nothing ran (a missing feature), or empty
  // A case that did not run while others did: "kill: not configured: [failover] revive in F".
  std::vector<std::string> skipped_cases;
  std::string master_name, backup_name;  // external boxes' names, for the heading
  std::vector<PhaseReport> phases;
  bool sync = false;
  VipMover mover = VipMover::Keepalived;
  DirectorKind master_kind = DirectorKind::Vsd, backup_kind = DirectorKind::Vsd;
  std::string mode = "nat";
  bool passed() const;
  bool erred() const;
};

// The name a failure has on the command line and in reports: "kill", "link".
std::string name_of(Failure failure);
std::optional<Failure> failure_named(const std::string& name);

// Runs each failure on a fresh bring-up of the topology; `progress` hears a line per step.
ScenarioReport run_failover(const ScenarioOptions& options,
                            const std::function<void(const std::string&)>& progress);

// The report as a person reads it: the prediction, then a line per flow of each phase.
std::string format_report(const ScenarioReport& report);

}  // namespace vslab::failover
