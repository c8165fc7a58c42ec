#include "failover/failover_command.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "dut/external_dut.h"
#include "dut/kinds.h"
#include "failover/scenario.h"
#include "os/interrupt.h"
#include "topology/netns.h"

namespace vslab::failover {
namespace {

struct CommandOptions {
  std::string dut = "builtin";
  std::string vsd, vsadm;
  std::vector<std::string> dut_configs;  // external: the master's box, then the backup's
  std::string mover;  // keepalived for builtin, harness where a director is a qemu guest
  std::string mode = "nat";
  std::vector<std::string> cases{"kill", "link"};
  bool sync = false;
  bool allow_skips = false;
};

int run(const CommandOptions& o) {
  ScenarioOptions options;
  if (o.dut == "qemu-kernel" || o.dut == "mixed") options.backup_kind = DirectorKind::QemuKernel;
  if (o.dut == "qemu-kernel") options.master_kind = DirectorKind::QemuKernel;
  const bool external = o.dut == "external";
  if (external != !o.dut_configs.empty() || (external && o.dut_configs.size() != 2)) {
    std::cerr << "vslab failover: "
              << (external ? "--dut external takes two --dut-config files: the master box's, "
                             "then the backup box's"
                           : "--dut-config is for --dut external only")
              << "\n";
    return 2;
  }
  if (external) {
    options.master_kind = options.backup_kind = DirectorKind::External;
    try {
      options.master_box = dut::read_external_config(o.dut_configs[0]);
      options.backup_box = dut::read_external_config(o.dut_configs[1]);
    } catch (const std::exception& e) {
      std::cerr << "vslab failover: " << e.what() << "\n";
      return 2;
    }
  }
  const bool guest = o.dut == "qemu-kernel" || o.dut == "mixed";
  if (guest && o.mover == "keepalived") {
    std::cerr << "vslab failover: --vip-mover keepalived needs keepalived beside each director, "
                 "and the qemu guest has none (busybox, iproute2 and ipvsadm only): use "
                 "--vip-mover harness, the default for --dut "
              << o.dut << "\n";
    return 2;
  }
  options.sync = o.sync;
  options.mode = o.mode;
  options.mover =
      o.mover == "harness" || (o.mover.empty() && guest) ? VipMover::Harness : VipMover::Keepalived;
  options.failures.clear();
  for (const auto& name : o.cases) options.failures.push_back(*failure_named(name));
  const auto spec = dut::dut_spec("builtin", "", o.vsd, o.vsadm);
  options.vsd_binary = spec.vsd_binary;
  options.vsadm_binary = spec.vsadm_binary;
  if (!topo::have_net_admin()) {
    std::cerr << "vslab failover: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "pair's namespaces\n";
    return 4;
  }
  // ^C stops the run between two steps; the pair and its namespaces are taken down first.
  os::catch_interrupts();
  auto report = run_failover(options, [](const std::string& line) {
    std::cerr << "vslab failover: " << line << std::endl;
  });
  std::cout << format_report(report) << std::flush;
  if (os::interrupted()) {
    std::cerr << "vslab failover: stopped by " << os::signal_name(os::interrupt_signal())
              << "; the pair's namespaces and processes are removed\n";
    return os::interrupted_exit_status();
  }
  if (!report.skipped.empty()) return o.allow_skips ? 0 : 3;
  if (!report.passed()) return 1;
  // Some cases ran and passed, others lacked their box's commands.
  return report.skipped_cases.empty() || o.allow_skips ? 0 : 3;
}

}  // namespace

void add_failover_command(CLI::App& app, int& status) {
  auto options = std::make_shared<CommandOptions>();
  auto* cmd = app.add_subcommand(
      "failover",
      "Two directors share the VIP by VRRP (topologies/failover.toml): flows through the master, "
      "the master killed or its links pulled, the flows timed through the backup, then the "
      "failback; each flow's loss, gap and resets against what the spec predicts");
  cmd->add_option("--dut", options->dut,
                  "The pair's directors: builtin (vsd on both), qemu-kernel (Linux IPVS in a "
                  "qemu guest on both), mixed (vsd master, kernel guest backup) or external (two "
                  "real boxes wired to this machine's interfaces, see --dut-config)")
      ->check(CLI::IsMember({"builtin", "qemu-kernel", "mixed", "external"}))
      ->capture_default_str();
  cmd->add_option("--dut-config", options->dut_configs,
                  "For --dut external, twice: the master box's config, then the backup box's "
                  "(vslab conform's external config; [ports] map the director's, resp. the "
                  "backup's, interfaces; [failover] gives the kill, revive, start_vrrp, take_vip "
                  "and release_vip commands)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--vsd", options->vsd, "vsd to run (default: the one beside vslab)");
  cmd->add_option("--vsadm", options->vsadm, "vsadm to run (default: the one beside vslab)");
  cmd->add_option("--mode", options->mode,
                  "nat (topologies/failover.toml: the VIP and the real servers' gateway float) or "
                  "dr (topologies/failover-dr.toml)")
      ->check(CLI::IsMember({"nat", "dr"}))
      ->capture_default_str();
  cmd->add_flag("--sync", options->sync,
                "Connection sync between the directors (ipvsadm --start-daemon master and "
                "backup on both, vsd's or the guest kernel's own): no flow may be reset");
  cmd->add_option("--vip-mover", options->mover,
                  "keepalived (VRRP in each director's namespace; external boxes run their own) "
                  "or harness (the harness moves the addresses and sends the gratuitous ARPs, "
                  "for a DUT that cannot run keepalived; on external boxes by their take_vip and "
                  "release_vip); default keepalived for builtin and external, harness otherwise")
      ->check(CLI::IsMember({"keepalived", "harness"}));
  cmd->add_option(
         "--case", options->cases,
         "kill (SIGKILL of the master's vsd and keepalived, or of its qemu, or an external "
         "box's [failover] kill), link (its links pulled); repeat for both")
      ->check(CLI::IsMember({"kill", "link"}))
      ->capture_default_str();
  cmd->add_flag("--allow-skips", options->allow_skips,
                "Exit 0, not 3, when the run (or one of its cases) was skipped");
  cmd->callback([options, &status] { status = run(*options); });
}

}  // namespace vslab::failover
