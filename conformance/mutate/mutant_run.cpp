// mutant_run.cpp: one binary through conform and replay, stopped at the first failure.
#include "mutate/mutant_run.h"

#include <fcntl.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "os/child_process.h"
#include "os/interrupt.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::mutate {

namespace fs = std::filesystem;

namespace {

struct Step {
  int exit_code = -1;
  std::string output;
  bool stopped = false;  // we sent SIGTERM at the first failure line
};

// Runs vslab with stdout and stderr on a pipe; at the first line that reports a failing or
// erring cell, SIGTERM: vslab finishes the cells that run, writes its reports and exits.
Step run_stopping_at_failure(const std::vector<std::string>& argv) {
  auto [read_end, write_end] = os::make_pipe(O_CLOEXEC);
  auto child = os::ChildProcess::spawn(argv, {.stdout_fd = write_end.get(),
                                              .stderr_fd = write_end.get(),
                                              .parent_death_signal = SIGTERM,
                                              .new_process_group = true});
  write_end.reset();
  // vslab is in a group of its own: a SIGTERM or ^C that stops `vslab mutate` is passed on, and
  // vslab takes its namespaces down before it exits.
  os::forward_interrupts_to(child.pid());
  Step step;
  std::size_t scanned = 0;
  char buffer[4096];
  for (ssize_t n; (n = os::read_some(read_end.get(), buffer, sizeof buffer)) > 0;) {
    step.output.append(buffer, std::size_t(n));
    for (std::size_t eol; (eol = step.output.find('\n', scanned)) != std::string::npos;
         scanned = eol + 1) {
      const std::string_view line(step.output.data() + scanned, eol - scanned);
      if (!step.stopped && (line.starts_with("FAIL ") || line.starts_with("ERROR "))) {
        child.signal(SIGTERM);
        step.stopped = true;
      }
    }
  }
  step.exit_code = os::exit_code_of(child.wait());
  os::stop_forwarding_to(child.pid());
  return step;
}

// The first failing or erring cell of a conform/replay JSON report; false when none.
bool first_failure(const std::string& json_path, SuiteResult& result) {
  std::ifstream in(json_path);
  if (!in) return false;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("cells")) return false;
  for (const auto& cell : j["cells"]) {
    const std::string outcome = cell.value("outcome", "");
    if (outcome != "fail" && outcome != "error") continue;
    result.outcome = SuiteResult::Outcome::Failed;
    result.cell = cell.value("id", "?") + (outcome == "error" ? " (error)" : "");
    result.detail = cell.value("detail", "");
    return true;
  }
  return false;
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

}  // namespace

SuiteResult run_suite(const SuiteOptions& options, const std::string& vsd,
                      const std::string& test_fault, const std::string& run_dir) {
  fs::remove_all(run_dir);
  fs::create_directories(run_dir);
  std::vector<std::string> dut = {"--dut", "builtin", "--vsd", vsd};
  if (!test_fault.empty()) {
    const std::string config = run_dir + "/dut.toml";
    std::ofstream(config) << "vsd_args = [\"--test-fault\", \"" << test_fault << "\"]\n";
    dut.insert(dut.end(), {"--dut-config", config});
  }
  SuiteResult result;
  struct Command {
    std::vector<std::string> argv;
    std::string json;
  };
  std::vector<Command> commands;
  {
    Command conform{{options.vslab, "conform", "-j", "1", "-q", "--color", "never"},
                    run_dir + "/conform.json"};
    if (!options.filter.empty())
      conform.argv.insert(conform.argv.end(), {"--filter", options.filter});
    commands.push_back(std::move(conform));
  }
  if (!options.fixtures.empty()) {
    Command replay{{options.vslab, "replay"}, run_dir + "/replay.json"};
    replay.argv.insert(replay.argv.end(), options.fixtures.begin(), options.fixtures.end());
    commands.push_back(std::move(replay));
  }
  for (auto& c : commands) {
    c.argv.insert(c.argv.end(), dut.begin(), dut.end());
    c.argv.insert(c.argv.end(),
                  {"--json", c.json, "--pcap-dir", run_dir + "/failures", "--allow-skips"});
    Step step = run_stopping_at_failure(c.argv);
    if (first_failure(c.json, result)) return result;
    // 0: ran, nothing failed. Anything else without a failing cell is no verdict.
    if (step.exit_code != 0) {
      result.outcome = SuiteResult::Outcome::Error;
      result.error =
          c.argv[1] + " exited " + std::to_string(step.exit_code) + ": " + tail(step.output, 600);
      return result;
    }
  }
  result.outcome = SuiteResult::Outcome::Passed;
  return result;
}

}  // namespace vslab::mutate
