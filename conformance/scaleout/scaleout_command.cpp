#include "scaleout/scaleout_command.h"

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "dut/config_reader.h"
#include "dut/dut.h"
#include "dut/kinds.h"
#include "os/interrupt.h"
#include "report/exit_status.h"
#include "report/report.h"
#include "scaleout/scenario.h"
#include "topology/data_dir.h"
#include "topology/netns.h"

namespace vslab::scaleout {

namespace {

struct CommandOptions {
  Options run;
  std::string dut = "builtin";
  std::string dut_config;
  std::string vsd, vsadm;
  std::string json;
  bool no_sloppy_tcp = false;
};

nlohmann::json json_of(const Outcome& o, const Figures& f) {
  nlohmann::json flows = nlohmann::json::array();
  for (const auto& fl : o.flows)
    flows.push_back({{"proto", fl.proto},
                     {"client_port", fl.client_port},
                     {"director_before", fl.director_before},
                     {"server_before", fl.server_before},
                     {"director_after", fl.director_after},
                     {"server_after", fl.server_after},
                     {"error_after", fl.error_after},
                     {"moved", fl.moved()},
                     {"kept", fl.kept()}});
  nlohmann::json probes = nlohmann::json::array();
  for (const auto& p : o.probes)
    probes.push_back({{"client_port", p.client_port},
                      {"server_by_director", p.server_by_director},
                      {"consistent", p.consistent()}});
  return {{"scheduler", o.scheduler},
          {"sloppy_tcp", o.sloppy_tcp},
          {"directors", o.directors},
          {"removed", o.removed},
          {"tcp_by_director", f.tcp_by_director},
          {"udp_by_director", f.udp_by_director},
          {"inconsistent_probes", f.inconsistent_probes},
          {"moved", f.moved},
          {"moved_kept", f.moved_kept},
          {"broken", f.broken},
          {"passed", f.passed()},
          {"problems", f.problems},
          {"probes", probes},
          {"flows", flows}};
}

int run_command(CommandOptions& o) {
  if (o.dut != "builtin") {
    std::cerr << "vslab scaleout: --dut " << o.dut
              << " cannot run here yet: the scenario starts one vsd per director (--dut "
                 "builtin)\n";
    return 2;
  }
  if (auto why = report::unwritable_reports("", o.json); !why.empty()) {
    for (const auto& w : why) std::cerr << "vslab scaleout: " << w << "\n";
    return 2;
  }
  if (o.run.topology_file.empty())
    o.run.topology_file = (topo::topology_dir() / "ecmp.toml").string();
  if (auto why = options_problem(o.run); !why.empty()) {
    std::cerr << "vslab scaleout: " << why << "\n";
    return 2;
  }
  if (!topo::have_net_admin()) {
    std::cerr << "vslab scaleout: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "topology\n";
    return report::kExitNotRoot;
  }
  const auto spec = dut::dut_spec(o.dut, o.dut_config, o.vsd, o.vsadm);
  o.run.vsd_binary = spec.vsd_binary;
  o.run.vsadm_binary = spec.vsadm_binary;
  o.run.vsd_args = spec.vsd_args;
  if (!o.dut_config.empty())
    for (auto& a : dut::parse_builtin_config(dut::read_config_text(o.dut_config), o.dut_config))
      o.run.vsd_args.push_back(a);
  o.run.sloppy_tcp = !o.no_sloppy_tcp;

  os::catch_interrupts();
  Outcome outcome;
  try {
    outcome = run_scaleout(
        o.run, [](const std::string& step) { std::cerr << "vslab scaleout: " << step << "\n"; });
  } catch (const std::exception& e) {
    std::cerr << "vslab scaleout: error, no verdict: " << e.what() << "\n";
    return os::interrupted() ? os::interrupted_exit_status() : 1;
  }
  if (os::interrupted()) {
    std::cerr << "vslab scaleout: interrupted by " << os::signal_name(os::interrupt_signal())
              << "; no verdict\n";
    return os::interrupted_exit_status();
  }
  const auto figures = figures_of(outcome);
  std::cout << report_text(outcome, figures);
  if (!o.json.empty()) std::ofstream(o.json, std::ios::trunc) << json_of(outcome, figures).dump(2);
  return figures.passed() ? 0 : 1;
}

}  // namespace

void add_scaleout_command(CLI::App& app, int& status) {
  auto o = std::make_shared<CommandOptions>();
  auto* cmd = app.add_subcommand(
      "scaleout",
      "Several directors behind an ECMP router: the flows' spread, each flow's real server "
      "on every director, and the flows kept when one director leaves the route");
  dut::add_dut_kind_option(*cmd, "--dut", o->dut, "Device under test (builtin only): ");
  cmd->add_option("--dut-config", o->dut_config, "TOML file describing the DUT (vsd_args)");
  cmd->add_option("--directors", o->run.directors,
                  "How many of the topology's directors the route spreads over (default: all)")
      ->check(CLI::Range(2, 64));
  cmd->add_option("--scheduler", o->run.scheduler,
                  "The scheduler of every director (mh keeps a flow's server on any of them)")
      ->capture_default_str();
  cmd->add_option("--flows", o->run.flows, "TCP connections, and as many UDP flows")
      ->check(CLI::Range(3, 2000))
      ->capture_default_str();
  cmd->add_option("--probes", o->run.probes, "UDP flows sent to every director in turn")
      ->check(CLI::Range(1, 2000))
      ->capture_default_str();
  cmd->add_flag("--no-sloppy-tcp", o->no_sloppy_tcp,
                "Run vsd without --sloppy-tcp: a TCP segment a director has no connection for "
                "gets a RST, as kernel IPVS with net.ipv4.vs.sloppy_tcp=0");
  cmd->add_option("--topology", o->run.topology_file,
                  "Topology file (default: topologies/ecmp.toml)");
  cmd->add_option("--json", o->json, "Write every flow and the figures here");
  cmd->add_option("--vsd", o->vsd, "vsd binary (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary (default: beside vslab)");
  cmd->callback([o, &status] { status = run_command(*o); });
}

}  // namespace vslab::scaleout
