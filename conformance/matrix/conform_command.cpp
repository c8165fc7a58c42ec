#include "matrix/conform_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "dut/kinds.h"
#include "matrix/report.h"
#include "matrix/runner.h"
#include "os/interrupt.h"
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
  int jobs = 1;
  bool allow_skips = false;
};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) std::cerr << "vslab conform: cannot write " << path << "\n";
  return bool(out);
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
  std::cout << fmt::format("vslab conform: {} cells against the {} DUT, -j{}\n", cells.size(),
                           o.dut, run.jobs)
            << std::flush;
  auto start = std::chrono::steady_clock::now();
  std::size_t done = 0;
  const bool tty = isatty(STDOUT_FILENO);
  auto results = run_cells(cells, run, [&](const CellResult&) {
    ++done;
    if (tty) std::cout << fmt::format("\r{}/{} cells", done, cells.size()) << std::flush;
  });
  if (tty) std::cout << "\r";
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << format_table(results) << "\n" << format_summary(results, wall, run.jobs);
  bool written = true;
  if (!o.junit.empty()) written &= write_file(o.junit, format_junit(results, wall));
  if (!o.json.empty()) {
    auto j = to_json(results);
    j["wall_seconds"] = wall;
    j["jobs"] = o.jobs;
    j["dut"] = o.dut;
    written &= write_file(o.json, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (os::interrupted()) {
    std::size_t left = std::count_if(results.begin(), results.end(),
                                     [](const auto& r) { return r.outcome == Outcome::NotRun; });
    std::cerr << fmt::format(
        "vslab conform: interrupted by {}: {} of {} cells not run; the run's namespaces and "
        "processes are removed (exit {})\n",
        os::signal_name(os::interrupt_signal()), left, results.size(),
        os::interrupted_exit_status());
    return os::interrupted_exit_status();
  }
  if (!written) return 2;
  for (const auto& r : results)
    if (r.error && r.detail.rfind("the DUT died", 0) == 0)
      std::cerr << "vslab conform: the run stopped: " << first_line(r.detail) << "\n";
  std::size_t skipped = 0;
  for (const auto& r : results) {
    if (r.outcome == Outcome::Fail) return 1;
    skipped += r.outcome == Outcome::Skip;
  }
  if (skipped == results.size() && !o.allow_skips) {
    // A CI job whose DUT claims nothing tested nothing: not a pass.
    std::cerr << "vslab conform: every cell was skipped, nothing was tested (exit "
              << kExitAllSkipped << "; --allow-skips accepts it)\n";
    return kExitAllSkipped;
  }
  return 0;
}

}  // namespace

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
  cmd->add_option("--vsd", o->vsd, "vsd binary for --dut builtin (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary for --dut builtin (default: beside vslab)");
  cmd->callback([o, &status] { status = conform(*o); });
}

}  // namespace vslab::matrix
