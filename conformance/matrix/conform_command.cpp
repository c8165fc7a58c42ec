#include "matrix/conform_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "dut/kinds.h"
#include "matrix/console.h"
#include "matrix/report.h"
#include "matrix/runner.h"
#include "matrix/shard.h"
#include "os/interrupt.h"
#include "os/text.h"
#include "report/report.h"
#include "topology/netns.h"

namespace vslab::matrix {
namespace {

struct ConformOptions {
  std::string dut = "builtin";
  std::string dut_config;
  std::string filter;
  std::string junit;
  std::string json;
  std::string pcap_dir;
  std::string vsd;
  std::string vsadm;
  std::string shard;
  std::string shard_durations;
  std::string color = "auto";
  int jobs = 1;
  bool allow_skips = false;
  bool list = false;
  bool quiet = false;
  bool verbose = false;
};

using os::first_line;

// The seconds each cell took in an earlier run's JSON report; its skipped cells cost what a
// skip costs, so only the cells that ran are taken.
RecordedSeconds recorded_seconds(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read it");
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("not JSON");
  RecordedSeconds out;
  for (const auto& e : report::from_json(j).entries)
    if (e.verdict == report::Verdict::Pass || e.verdict == report::Verdict::Fail)
      out[e.id] = e.seconds;
  return out;
}

int conform(const ConformOptions& o) {
  std::vector<Cell> cells;
  for (const auto& c : all_cells())
    if (matches(c, o.filter)) cells.push_back(c);
  if (cells.empty()) {
    std::cerr << "vslab conform: no cell matches --filter '" << o.filter
              << "' (cells are named mode/scheduler/kind/proto, e.g. nat/rr/rewrite/tcp)\n";
    return 2;
  }
  std::optional<Shard> shard;
  if (!o.shard.empty()) {
    shard = parse_shard(o.shard);
    if (!shard) {
      std::cerr << "vslab conform: --shard '" << o.shard
                << "' is not I/N with 1 <= I <= N (e.g. --shard 2/3)\n";
      return 2;
    }
    RecordedSeconds recorded;
    if (!o.shard_durations.empty()) {
      try {
        recorded = recorded_seconds(o.shard_durations);
      } catch (const std::exception& e) {
        std::cerr << "vslab conform: --shard-durations " << o.shard_durations << ": " << e.what()
                  << "\n";
        return 2;
      }
    }
    cells = shard_cells(cells, *shard, recorded);
  } else if (!o.shard_durations.empty()) {
    std::cerr << "vslab conform: --shard-durations needs --shard\n";
    return 2;
  }
  if (o.list) {
    for (const auto& c : cells) std::cout << c.id() << "\n";
    return 0;
  }
  if (o.quiet && o.verbose) {
    std::cerr << "vslab conform: -q and -v exclude each other\n";
    return 2;
  }
  // Before anything runs: a report that cannot be written is known now, not after the run.
  if (auto why = report::unwritable_reports(o.junit, o.json); !why.empty()) {
    for (const auto& w : why) std::cerr << "vslab conform: " << w << "\n";
    return 2;
  }
  if (!topo::have_net_admin()) {
    std::cerr << "vslab conform: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "topologies\n";
    return kExitNotRoot;
  }
  RunOptions run;
  run.dut = dut::dut_spec(o.dut, o.dut_config, o.vsd, o.vsadm);
  run.pcap_dir = o.pcap_dir.empty() ? std::filesystem::current_path() / "vslab-failures"
                                    : std::filesystem::path(o.pcap_dir);
  run.jobs = o.jobs;
  if (dut::serves_one_topology(o.dut) && o.jobs > 1) {
    // An external box's interfaces can be lent to one topology at a time.
    std::cerr << "vslab conform: --dut " << o.dut
              << " runs at -j1 (its ports serve one topology)\n";
    run.jobs = 1;
  }
  try {
    dut::make_dut(run.dut);  // a bad --dut or config file is an error before anything runs
  } catch (const std::exception& e) {
    std::cerr << "vslab conform: " << e.what() << "\n";
    return 2;
  }

  // From here on a signal stops the run in order: nothing new starts, what runs finishes, the
  // beds go down, the reports are written.
  os::catch_interrupts();
  const bool tty = isatty(STDOUT_FILENO);
  const Verbosity verbosity = o.quiet     ? Verbosity::Quiet
                              : o.verbose ? Verbosity::Verbose
                                          : Verbosity::Normal;
  const bool colour = use_colour(o.color, tty);
  if (verbosity != Verbosity::Quiet)
    std::cout << fmt::format("vslab conform: {} cells against the {} DUT, -j{}{}\n", cells.size(),
                             o.dut, run.jobs, shard ? ", shard " + shard->text() : "")
              << std::flush;
  const auto started = std::chrono::system_clock::now();
  auto start = std::chrono::steady_clock::now();
  CellConsole console(std::cout, tty, colour, verbosity);
  console.start(cells.size());
  std::vector<CellResult> results;
  if (!cells.empty())
    results = run_cells(cells, run, [&](const CellResult& r) { console.finished(r); });
  console.end();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (verbosity == Verbosity::Quiet)
    std::cout << format_problems(results);
  else
    std::cout << format_table(results) << "\n";
  std::cout << format_summary(results, wall, run.jobs);

  report::Report rep = to_report(results);
  rep.timestamp = report::utc_timestamp(started);
  rep.duration = wall;
  rep.properties = {{"dut", o.dut},
                    {"dut_flags", dut::dut_flags(run.dut)},
                    {"filter", o.filter.empty() ? "*" : o.filter},
                    {"shard", shard ? shard->text() : "1/1"},
                    {"jobs", std::to_string(run.jobs)}};
  for (auto& p : report::host_properties()) rep.properties.push_back(std::move(p));
  auto unwritten =
      report::write_reports(rep, o.junit, o.json, {{"wall_seconds", wall}, {"jobs", run.jobs}});
  for (const auto& w : unwritten) std::cerr << "vslab conform: " << w << "\n";
  if (os::interrupted()) {
    std::cerr << fmt::format(
        "vslab conform: interrupted by {}: {} of {} cells not run; the run's namespaces and "
        "processes are removed (exit {})\n",
        os::signal_name(os::interrupt_signal()), rep.totals().not_run, results.size(),
        os::interrupted_exit_status());
    return os::interrupted_exit_status();
  }
  if (!unwritten.empty()) return 2;
  if (cells.empty()) {
    // A slice the split left empty (more slices than cells): the merge judges the run.
    std::cerr << "vslab conform: shard " << shard->text() << " holds no cell of this filter\n";
    return 0;
  }
  for (const auto& r : results)
    if (r.outcome == Outcome::Error && r.detail.rfind("the DUT died", 0) == 0)
      std::cerr << "vslab conform: the run stopped: " << first_line(r.detail) << "\n";
  return conform_exit_status(rep.totals(), o.allow_skips, std::cerr);
}

}  // namespace

int conform_exit_status(const report::Totals& t, bool allow_skips, std::ostream& why) {
  return report::exit_status(t, allow_skips, "vslab conform", "cell", why);
}

void add_conform_command(CLI::App& app, int& status) {
  auto o = std::make_shared<ConformOptions>();
  auto* cmd = app.add_subcommand(
      "conform", "Run the conformance matrix (modes x schedulers x scenarios) against a director");
  dut::add_dut_kind_option(*cmd, "--dut", o->dut, "Device under test: ");
  cmd->add_option("--dut-config", o->dut_config, "TOML file describing the DUT");
  cmd->add_option("--filter", o->filter,
                  "Glob over cell names mode/scheduler/kind/proto, e.g. 'nat/*/rewrite/*'");
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report here");
  cmd->add_option("--json", o->json, "Write a JSON report here");
  cmd->add_option("--pcap-dir", o->pcap_dir,
                  "Where failed cells write pcaps (default: ./vslab-failures)");
  cmd->add_option("-j,--jobs", o->jobs, "Worker processes, each with its own topologies")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--allow-skips", o->allow_skips,
                "Exit 0 also when every cell was skipped (else 3: nothing was tested)");
  cmd->add_option("--shard", o->shard,
                  "Run slice I of N (1-based, e.g. 2/3) of the selected cells, for CI jobs in "
                  "parallel; `vslab report merge` joins the slices' JSON");
  cmd->add_option("--shard-durations", o->shard_durations,
                  "Balance the slices by the seconds each cell took in this earlier JSON report "
                  "(every slice must be given the same file)");
  cmd->add_flag("--list", o->list, "Print the cells the filter (and --shard) select; run nothing");
  cmd->add_flag("-q,--quiet", o->quiet, "Print only failures, errors and the summary");
  cmd->add_flag("-v,--verbose", o->verbose, "Print every cell as it finishes, failures in full");
  cmd->add_option("--color", o->color, "Colour: auto (a terminal without NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_option("--vsd", o->vsd, "vsd binary for --dut builtin (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary for --dut builtin (default: beside vslab)");
  cmd->callback([o, &status] { status = conform(*o); });
}

}  // namespace vslab::matrix
