// vslab: the harness's command line.
#include <CLI/CLI.hpp>

#include "bench/bench_command.h"
#include "failover/failover_command.h"
#include "matrix/conform_command.h"
#include "matrix/diff_command.h"
#include "matrix/merge_command.h"
#include "mutate/mutate_command.h"
#include "replay/replay_command.h"
#include "scaleout/scaleout_command.h"
#include "topo_commands.h"
#include "vslab_version.h"

int main(int argc, char** argv) {
  using namespace vslab::cli;
  CLI::App app{
      "vslab: network-emulation test harness and conformance suite for LVS-style "
      "directors"};
  app.set_version_flag("--version", "vslab " VSLAB_VERSION);
  app.require_subcommand(1);
  auto* topo = app.add_subcommand("topo", "Build, inspect and remove namespace topologies");
  topo->require_subcommand(1);
  int status = 0;

  UpOptions up;
  auto* up_cmd = topo->add_subcommand(
      "up", "Bring a topology up and keep it until Ctrl-C, SIGTERM or `vslab topo down`");
  up_cmd->add_option("file", up.file, "Topology file (topologies/*.toml)")->required();
  up_cmd->add_flag("--detach", up.detach,
                   "Return at once and leave the topology up until `vslab topo down`");
  up_cmd->add_option("--prefix", up.prefix,
                     "Namespace name prefix: letters, digits, '-', '_', at most 32 (default: "
                     "vsl-<pid>-<n>)");
  up_cmd->callback([&] { status = topo_up(up); });

  std::vector<std::string> down_runs;
  bool down_all = false, down_force = false;
  auto* down_cmd = topo->add_subcommand(
      "down", "Remove topologies started by `vslab topo up` (all of them without arguments)");
  down_cmd->add_option("run", down_runs, "Run prefixes as `vslab topo list` shows them");
  down_cmd->add_flag("--all", down_all, "Also remove runs made by tests and other programs");
  down_cmd->add_flag("--force", down_force,
                     "Also remove runs that another live process (a conform, a test) owns; "
                     "the owner gets SIGTERM");
  down_cmd->callback([&] { status = topo_down(down_runs, down_all, down_force); });

  topo->add_subcommand("list", "List the topology runs on this machine")->callback([&] {
    status = topo_list();
  });

  std::string script_file, script_prefix;
  auto* script_cmd = topo->add_subcommand(
      "script", "Print the iproute2/ethtool/sysctl commands that build a topology by hand");
  script_cmd->add_option("file", script_file, "Topology file")->required();
  script_cmd->add_option("--prefix", script_prefix,
                         "Namespace name prefix (default: vslab-<topology name>)");
  script_cmd->callback([&] { status = topo_script(script_file, script_prefix); });

  std::vector<std::string> check_files;
  auto* check_cmd = topo->add_subcommand("check", "Validate topology files without root");
  check_cmd->add_option("files", check_files, "Topology files")->required();
  check_cmd->callback([&] { status = topo_check(check_files); });

  std::string exec_run, exec_node;
  std::vector<std::string> exec_cmd;
  auto* exec_sub = topo->add_subcommand("exec", "Run a command inside a node's namespace");
  exec_sub->add_option("--run", exec_run, "Run prefix (default: the only `topo up` run)");
  exec_sub->add_option("node", exec_node, "Node name")->required();
  exec_sub->add_option("command", exec_cmd, "Command and arguments, after --")->required();
  exec_sub->callback([&] { status = topo_exec(exec_run, exec_node, exec_cmd); });

  bool gc_all = false;
  auto* gc_cmd = topo->add_subcommand(
      "gc", "Remove namespaces and processes left by vslab runs whose process is gone");
  gc_cmd->add_flag("--all", gc_all, "Also remove detached topologies");
  gc_cmd->callback([&] { status = topo_gc(gc_all); });

  std::string selftest_file, pcap_dir;
  auto* selftest_cmd = topo->add_subcommand(
      "selftest", "Bring up topologies/selftest.toml, send crafted frames, check every field");
  selftest_cmd->add_option("file", selftest_file,
                           "Topology file (default: topologies/selftest.toml)");
  selftest_cmd->add_option("--pcap-dir", pcap_dir,
                           "Where failed checks write pcaps (default: ./vslab-failures)");
  selftest_cmd->callback([&] { status = topo_selftest(selftest_file, pcap_dir); });

  vslab::scaleout::add_scaleout_command(app, status);
  vslab::matrix::add_conform_command(app, status);
  vslab::replay::add_replay_command(app, status);
  vslab::replay::add_record_command(app, status);
  vslab::matrix::add_diff_command(app, status);
  vslab::matrix::add_report_command(app, status);
  vslab::bench::add_bench_command(app, status);
  vslab::failover::add_failover_command(app, status);
  vslab::mutate::add_mutate_command(app, status);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 numbers its errors 105-109 and more; a CI expects one usage status, the 2 every
    // command of vslab already gives for its own usage errors. --help and --version stay 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return status;
}
