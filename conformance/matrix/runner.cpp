#include "matrix/runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

#include "matrix/bed.h"
#include "matrix/report.h"
#include "matrix/scenarios.h"
#include "os/child_process.h"
#include "os/interrupt.h"

namespace vslab::matrix {
namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// A cell that ran while the DUT died is the run's one error: its own verdict (most likely
// "cannot reach vsd") says nothing about the director's behaviour.
void blame_dead_dut(CellResult& r, const std::string& why) {
  std::string saw =
      r.outcome == Outcome::Fail ? "\n(the cell itself saw: " + first_line(r.detail) + ")" : "";
  r.outcome = Outcome::Fail;
  r.error = true;
  r.detail = "the DUT died during this cell: " + why + saw;
  r.pcaps.clear();
  r.case_dir.clear();
}

// Every cell of one mode on one bed, brought up when the first cell that needs it runs.
// `stopped` (shared by the modes of a run) is set, to the detail of the cells not run, when
// the run must start nothing more: an interruption or a DUT that died.
void run_mode(Mode mode, const std::vector<const Cell*>& cells, const RunOptions& options,
              std::vector<CellResult>& out, const std::function<void(const CellResult&)>& progress,
              std::string& stopped) {
  std::unique_ptr<MatrixBed> bed;
  std::string unavailable;
  // What the DUT claims is known before it starts: a mode it does not claim (FULLNAT on a
  // kernel) never costs a bring-up, nor a guest's boot.
  std::unique_ptr<dut::Dut> claims;
  try {
    claims = dut::make_dut(options.dut);
  } catch (const std::exception&) {
    // The bed's own make_dut reports it, cell by cell.
  }
  for (const Cell* cell : cells) {
    if (stopped.empty() && os::interrupted())
      stopped = "not run: interrupted by " + os::signal_name(os::interrupt_signal());
    if (!stopped.empty()) {
      out.push_back(not_run(*cell, stopped));
      if (progress) progress(out.back());
      continue;
    }
    CellResult r{*cell, Outcome::Skip, not_applicable(*cell), 0, {}, {}};
    if (r.detail.empty() && claims &&
        (!claims->claims_mode(std::string(name(cell->mode))) ||
         !claims->claims_scheduler(std::string(cell->scheduler)))) {
      r.detail = "not claimed by the DUT (" + claims->name() + ")";
    } else if (r.detail.empty() && !unavailable.empty()) {
      r.detail = unavailable;
    } else if (r.detail.empty()) {
      try {
        if (!bed) bed = std::make_unique<MatrixBed>(mode, dut::make_dut(options.dut));
        r = options.cell_runner ? options.cell_runner(*bed, *cell)
                                : run_cell(*bed, *cell, options.pcap_dir);
        if (auto why = bed->bed().dut().failure(r.outcome == Outcome::Fail)) {
          blame_dead_dut(r, *why);
          stopped = "not run: the run stopped when the DUT died (in " + cell->id() + ")";
          bed.reset();
        } else if (os::interrupted() && r.outcome == Outcome::Fail) {
          // Cut short by the signal (a capture's wait, a vsadm killed): no verdict.
          r = not_run(*cell, "not run: interrupted by " + os::signal_name(os::interrupt_signal()) +
                                 " while it ran");
        }
      } catch (const dut::DutUnavailable& e) {
        unavailable = r.detail = std::string("DUT unavailable: ") + e.what();
      } catch (const std::exception& e) {
        // The bed itself failed (bring-up, DUT start): this cell fails, the next tries anew.
        r.outcome = Outcome::Fail;
        r.error = true;
        r.detail = "bed for " + std::string(name(mode)) + ": " + e.what();
        bed.reset();
        if (os::interrupted())
          r = not_run(*cell, "not run: interrupted by " + os::signal_name(os::interrupt_signal()) +
                                 " while its bed came up");
      }
    }
    out.push_back(r);
    if (progress) progress(r);
  }
  bed.reset();
  if (options.mode_done) options.mode_done(mode);
}

std::vector<CellResult> run_here(const std::vector<Cell>& cells, const RunOptions& options,
                                 const std::function<void(const CellResult&)>& progress,
                                 std::string& stopped) {
  std::map<Mode, std::vector<const Cell*>> by_mode;
  for (const auto& c : cells) by_mode[c.mode].push_back(&c);
  std::vector<CellResult> out;
  for (Mode mode : kModes)
    if (auto it = by_mode.find(mode); it != by_mode.end())
      run_mode(mode, it->second, options, out, progress, stopped);
  return out;
}

// Reaps whichever of `workers` ends first (others' children are reaped and passed over):
// its index, or workers.size() when none is left to wait for.
std::size_t wait_for_any(std::vector<std::pair<os::ChildProcess, std::string>>& workers) {
  for (;;) {
    siginfo_t info{};
    // WNOWAIT: the worker's owner reaps it, so that its ChildProcess knows.
    if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0) {
      if (errno == EINTR) continue;  // a signal: the handler has passed it on to the workers
      return workers.size();
    }
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (workers[i].first.pid() == info.si_pid) {
        os::stop_forwarding_to(info.si_pid);  // before the pid can be another process's
        workers[i].first.wait();
        return i;
      }
    }
    waitpid(info.si_pid, nullptr, 0);
  }
}

}  // namespace

std::vector<CellResult> run_cells(const std::vector<Cell>& cells, const RunOptions& options,
                                  const std::function<void(const CellResult&)>& progress) {
  std::vector<CellResult> results;
  std::string stopped;
  if (options.jobs <= 1 || cells.size() < 2) {
    results = run_here(cells, options, progress, stopped);
  } else {
    // When the modes divide evenly among the workers, each worker takes whole modes and so
    // brings up only their topologies (a mode's rows cost about the same as another's).
    // Otherwise rows (mode/scheduler) are dealt round-robin: each worker then needs every
    // mode's topology once, and the rows' costs even out.
    std::map<Mode, int> mode_worker;
    std::map<std::pair<Mode, std::string_view>, int> row_worker;
    for (const auto& c : cells) mode_worker.emplace(c.mode, int(mode_worker.size()));
    const bool by_mode = mode_worker.size() % std::size_t(options.jobs) == 0;
    std::vector<std::vector<Cell>> shards(std::size_t(options.jobs));
    for (const auto& c : cells) {
      int worker = mode_worker[c.mode] % options.jobs;
      if (!by_mode) {
        auto [it, fresh] = row_worker.emplace(std::pair{c.mode, c.scheduler},
                                              int(row_worker.size()) % options.jobs);
        worker = it->second;
      }
      shards[std::size_t(worker)].push_back(c);
    }
    std::fflush(nullptr);
    std::vector<std::pair<os::ChildProcess, std::string>> workers;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (shards[i].empty()) continue;
      std::string file =
          "/tmp/vslab-conform-" + std::to_string(getpid()) + "-" + std::to_string(i) + ".json";
      os::ChildProcess worker;
      try {
        worker = os::ChildProcess::fork_running([&] {
          int status = 0;
          try {
            std::string why;
            auto report = to_json(run_here(shards[i], options, nullptr, why));
            report["stopped"] = why;
            std::ofstream(file) << report.dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
          } catch (...) {
            status = 1;
          }
          std::fflush(nullptr);
          return status;
        });
      } catch (const std::system_error&) {
        throw std::runtime_error("fork failed");
      }
      // A SIGTERM for this process (a CI's timeout) is one for the workers too; a terminal's
      // ^C reaches them anyway, as they share this process's group.
      os::forward_interrupts_to(worker.pid());
      workers.emplace_back(std::move(worker), file);
    }
    std::map<std::string, CellResult> by_id;
    std::size_t left = workers.size();
    std::string dut_died;  // a worker's DUT died: the others stop too
    while (left > 0) {
      const std::size_t i = wait_for_any(workers);
      if (i >= workers.size()) break;
      --left;
      const std::string& file = workers[i].second;
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      std::remove(file.c_str());
      auto parsed = nlohmann::json::parse(text.str(), nullptr, false);
      if (parsed.is_discarded()) continue;  // its cells are reported as lost below
      for (auto& r : results_from_json(parsed)) {
        if (progress) progress(r);
        by_id[r.cell.id()] = std::move(r);
      }
      const std::string why = parsed.value("stopped", "");
      if (dut_died.empty() && why.find("DUT died") != std::string::npos) {
        dut_died = why;
        for (auto& [other, other_file] : workers) other.signal(SIGTERM);
      }
    }
    for (auto& [worker, file] : workers) os::stop_forwarding_to(worker.pid());
    for (const auto& c : cells) {
      auto it = by_id.find(c.id());
      CellResult r =
          it != by_id.end() ? it->second
          : os::interrupted()
              ? not_run(c, "not run: interrupted by " + os::signal_name(os::interrupt_signal()))
              : CellResult{c, Outcome::Fail, "the worker running it died", 0, {}, {}};
      if (it == by_id.end() && r.outcome == Outcome::Fail) r.error = true;
      // The other workers stopped because of it, not because of a signal from outside.
      if (!dut_died.empty() && r.outcome == Outcome::NotRun && !os::interrupted())
        r.detail = dut_died;
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace vslab::matrix
