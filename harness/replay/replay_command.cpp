#include "replay/replay_command.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "dut/kinds.h"
#include "os/interrupt.h"
#include "replay/record.h"
#include "replay/run.h"
#include "report/exit_status.h"
#include "report/report.h"
#include "topology/data_dir.h"
#include "topology/netns.h"

namespace vslab::replay {
namespace {

struct ReplayCommandOptions {
  std::vector<std::string> cases;
  std::string dut = "builtin";
  std::string dut_config;
  std::string pcap_dir;
  std::string junit, json;
  std::string topologies = topo::topology_dir().string();
  std::string vsd, vsadm;
  bool allow_skips = false;
};

// A case as a report entry: classname "replay", its folder's name as the case's name.
report::Entry entry_of(const std::string& name, ReplayOutcome::Kind kind, const std::string& line,
                       const std::string& details, double seconds, const std::string& dir) {
  report::Entry e;
  e.id = name;
  e.classname = "replay";
  e.name = name;
  switch (kind) {
    case ReplayOutcome::Kind::Pass:
      e.verdict = report::Verdict::Pass;
      break;
    case ReplayOutcome::Kind::Fail:
      e.verdict = report::Verdict::Fail;
      break;
    case ReplayOutcome::Kind::Skip:
      e.verdict = report::Verdict::Skip;
      break;
    case ReplayOutcome::Kind::Error:
      e.verdict = report::Verdict::Error;
      break;
  }
  // The line without its leading word and name: what a CI page shows as the message.
  std::string message = line.substr(std::min(line.size(), line.find(": ") + 2));
  if (line.find(": ") == std::string::npos) message.clear();
  e.detail = details.empty() ? message : message + "\n" + details;
  e.seconds = seconds;
  e.fields = {{"case", dir}, {"line", line}};
  return e;
}

int replay(const ReplayCommandOptions& o) {
  ReplayOptions options;
  options.dut = dut::dut_spec(o.dut, o.dut_config, o.vsd, o.vsadm);
  options.pcap_dir = o.pcap_dir.empty() ? std::filesystem::current_path() / "vslab-failures"
                                        : std::filesystem::path(o.pcap_dir);
  try {
    dut::make_dut(options.dut);  // a bad --dut or config file is an error before anything runs
  } catch (const std::exception& e) {
    std::cerr << "vslab replay: " << e.what() << "\n";
    return 2;
  }
  if (auto why = report::unwritable_reports(o.junit, o.json); !why.empty()) {
    for (const auto& w : why) std::cerr << "vslab replay: " << w << "\n";
    return 2;
  }
  if (!topo::have_net_admin()) {
    std::cerr << "vslab replay: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "topologies (exit "
              << report::kExitNotRoot << ")\n";
    return report::kExitNotRoot;
  }
  report::Report rep;
  rep.suite = "replay";
  rep.timestamp = report::utc_timestamp(std::chrono::system_clock::now());
  rep.properties = {{"dut", o.dut}, {"dut_flags", dut::dut_flags(options.dut)}};
  for (auto& p : report::host_properties()) rep.properties.push_back(std::move(p));
  const auto start = std::chrono::steady_clock::now();
  // A signal lets the case that runs finish (its topology goes down with it) and starts no
  // other; the cases left are reported as not run.
  os::catch_interrupts();
  for (const auto& dir : o.cases) {
    const auto case_start = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - case_start).count();
    };
    auto name = std::filesystem::path(dir).lexically_normal().filename().string();
    if (name.empty())
      name = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
    const auto not_run = [&](const std::string& why) {
      const std::string line = fmt::format("NOT RUN {}: {}", name, why);
      std::cout << line << "\n" << std::flush;
      auto e = entry_of(name, ReplayOutcome::Kind::Skip, line, "", seconds(), dir);
      e.verdict = report::Verdict::NotRun;
      rep.entries.push_back(std::move(e));
    };
    if (os::interrupted()) {
      not_run("interrupted by " + os::signal_name(os::interrupt_signal()));
      continue;
    }
    auto loaded = load_case(dir, o.topologies);
    if (!loaded.ok()) {
      // Not the DUT's doing: an error, no verdict.
      const std::string line = fmt::format("ERROR {}: the case does not load: {}", name,
                                           loaded.errors.empty() ? "?" : loaded.errors.front());
      std::string more;
      for (std::size_t i = 1; i < loaded.errors.size(); ++i)
        more += "    " + loaded.errors[i] + "\n";
      std::cout << line << "\n" << more << std::flush;
      rep.entries.push_back(entry_of(name, ReplayOutcome::Kind::Error, line, more, seconds(), dir));
      continue;
    }
    auto outcome = replay_case(*loaded.value, options);
    if (os::interrupted() &&
        (outcome.kind == ReplayOutcome::Kind::Fail || outcome.kind == ReplayOutcome::Kind::Error)) {
      // Cut short by the signal: no verdict on the director.
      not_run("interrupted by " + os::signal_name(os::interrupt_signal()) + " while it ran");
      continue;
    }
    std::cout << outcome.line << "\n" << outcome.report << std::flush;
    rep.entries.push_back(
        entry_of(loaded.value->name, outcome.kind, outcome.line, outcome.report, seconds(), dir));
  }
  rep.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto t = rep.totals();
  if (o.cases.size() > 1 || t.not_run)
    std::cout << fmt::format("{} case(s): {} passed, {} failed, {} errors, {} skipped{}\n", t.cells,
                             t.passed, t.failed, t.errors, t.skipped,
                             t.not_run ? fmt::format(", {} not run", t.not_run) : "");
  auto unwritten = report::write_reports(rep, o.junit, o.json);
  for (const auto& w : unwritten) std::cerr << "vslab replay: " << w << "\n";
  if (os::interrupted()) {
    std::cerr << fmt::format(
        "vslab replay: interrupted by {}: {} case(s) not run; the run's namespaces and "
        "processes are removed (exit {})\n",
        os::signal_name(os::interrupt_signal()), t.not_run, os::interrupted_exit_status());
    return os::interrupted_exit_status();
  }
  if (!unwritten.empty()) return 2;
  return report::exit_status(t, o.allow_skips, "vslab replay", "case", std::cerr);
}

struct RecordCommandOptions {
  std::string topology, rules_file, out;
  std::vector<std::string> command;
  std::vector<std::string> serve;  // NODE=COMMAND
  std::string dut = "builtin";
  std::string dut_config;
  std::string topologies = topo::topology_dir().string();
  std::string vsd, vsadm;
};

int record(const RecordCommandOptions& o) {
  std::vector<ServeCommand> serve;
  for (const auto& s : o.serve) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
      std::cerr << "vslab record: --serve '" << s
                << "': give it as NODE=COMMAND, e.g. --serve rs1='busybox httpd -f -p 80'\n";
      return 2;
    }
    serve.push_back({s.substr(0, eq), s.substr(eq + 1)});
  }
  if (!topo::have_net_admin()) {
    std::cerr << "vslab record: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "topology\n";
    return 2;
  }
  std::ifstream in(o.rules_file);
  if (!in) {
    std::cerr << "vslab record: " << o.rules_file << ": cannot read the rules\n";
    return 2;
  }
  if (std::filesystem::exists(std::filesystem::path(o.out) / "case.toml")) {
    std::cerr << "vslab record: " << o.out << " holds a case already; not overwriting it\n";
    return 2;
  }
  std::stringstream rules;
  rules << in.rdbuf();
  RecordOptions options;
  options.topology = o.topology;
  options.topologies_dir = o.topologies;
  options.rules = rules.str();
  options.out = o.out;
  options.command = o.command;
  options.serve = std::move(serve);
  options.dut = dut::dut_spec(o.dut, o.dut_config, o.vsd, o.vsadm);
  // A signal stops the recording: the command and the servers are stopped, the topology goes
  // down, nothing is written.
  os::catch_interrupts();
  auto r = record_case(options);
  std::cout << r.command_output;
  std::cout << "vslab record: " << r.message << "\n";
  if (r.interrupted || os::interrupted()) {
    std::cerr << fmt::format(
        "vslab record: interrupted by {}; the run's namespaces and processes are removed (exit "
        "{})\n",
        os::signal_name(os::interrupt_signal()), os::interrupted_exit_status());
    return os::interrupted_exit_status();
  }
  if (r.ok && r.command_exit != 0)
    std::cout << "vslab record: note: the command exited with " << r.command_exit << "\n";
  return r.ok ? 0 : 1;
}

}  // namespace

void add_record_command(CLI::App& app, int& status) {
  auto o = std::make_shared<RecordCommandOptions>();
  auto* cmd = app.add_subcommand(
      "record",
      "Run a command in the client's namespace through a director and write what was seen as a "
      "case");
  cmd->add_option("--topology", o->topology, "Topology name (topologies/<name>.toml) or file")
      ->required();
  cmd->add_option("--rules", o->rules_file, "Rules file (ipvsadm save format)")->required();
  cmd->add_option("--out", o->out, "Case folder to write")->required();
  cmd->add_option("command", o->command, "The traffic command, after --")->required();
  cmd->add_option("--serve", o->serve,
                  "NODE=COMMAND: run COMMAND (sh -c) in NODE's namespace while recording, e.g. "
                  "rs1='busybox httpd -f -p 80'; repeatable. It runs in an empty folder of the "
                  "run with VSLAB_RUN, VSLAB_NODE, VSLAB_NETNS, VSLAB_SERVE_DIR and "
                  "VSLAB_NETNS_<NODE> set; the command starts once it listens")
      // One value per --serve: the traffic command after -- is not the option's.
      ->allow_extra_args(false);
  dut::add_dut_kind_option(*cmd, "--dut", o->dut, "Device under test: ");
  cmd->add_option("--dut-config", o->dut_config, "TOML file describing the DUT");
  cmd->add_option("--topologies", o->topologies, "Folder of topology files")->capture_default_str();
  cmd->add_option("--vsd", o->vsd, "vsd binary for --dut builtin (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary for --dut builtin (default: beside vslab)");
  cmd->callback([o, &status] { status = record(*o); });
}

void add_replay_command(CLI::App& app, int& status) {
  auto o = std::make_shared<ReplayCommandOptions>();
  auto* cmd = app.add_subcommand(
      "replay", "Replay pcap cases (fixtures/pcap/<case>/) against a director: PASS, FAIL, SKIP");
  cmd->add_option("cases", o->cases, "Case folders (each holds case.toml)")->required();
  dut::add_dut_kind_option(*cmd, "--dut", o->dut, "Device under test: ");
  cmd->add_option("--dut-config", o->dut_config, "TOML file describing the DUT");
  cmd->add_option("--pcap-dir", o->pcap_dir,
                  "Where failed cases write pcaps (default: ./vslab-failures)");
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report here");
  cmd->add_flag("--allow-skips", o->allow_skips,
                "Exit 0 also when every case was skipped (else 3: nothing was tested)");
  cmd->add_option("--json", o->json, "Write a JSON report here");
  cmd->add_option("--topologies", o->topologies, "Folder of topology files")->capture_default_str();
  cmd->add_option("--vsd", o->vsd, "vsd binary for --dut builtin (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary for --dut builtin (default: beside vslab)");
  cmd->callback([o, &status] { status = replay(*o); });
}

}  // namespace vslab::replay
