#include "matrix/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <system_error>

#include "dut/kinds.h"
#include "matrix/bed.h"
#include "matrix/report.h"
#include "matrix/scenarios.h"
#include "os/child_process.h"
#include "os/interrupt.h"
#include "os/text.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::matrix {
namespace {

using os::first_line;

std::string interrupted_by() {
  return os::signal_name(os::interrupt_signal());
}

// A cell that ran while the DUT died is the run's one error: its own verdict (most likely
// "cannot reach vsd") says nothing about the director's behaviour.
void blame_dead_dut(CellResult& r, const std::string& why) {
  std::string saw = r.outcome == Outcome::Fail || r.outcome == Outcome::Error
                        ? "\n(the cell itself saw: " + first_line(r.detail) + ")"
                        : "";
  r.outcome = Outcome::Error;
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
    if (stopped.empty() && os::interrupted()) stopped = "interrupted by " + interrupted_by();
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
    } else if (r.detail.empty() && claims &&
               !claims->claims_family_in(number(cell->family), std::string(name(cell->mode)))) {
      r.detail = claims->unclaimed_family_in(number(cell->family), std::string(name(cell->mode)));
    } else if (std::string missing =
                   r.detail.empty() && claims
                       ? claims->missing_feature(cell->kind->name, number(cell->family),
                                                 std::string(name(cell->mode)))
                       : "";
               !missing.empty()) {
      r.detail = missing;
    } else if (r.detail.empty() && !unavailable.empty()) {
      r.detail = unavailable;
    } else if (r.detail.empty()) {
      try {
        if (!bed) bed = std::make_unique<MatrixBed>(mode, dut::make_dut(options.dut));
        if (options.cell_runner) {
          r = options.cell_runner(*bed, *cell);
        } else {
          r = run_cell(*bed, *cell, options.pcap_dir);
          // The same director again: a non-builtin DUT's failure must not replay on vsd.
          if (!r.case_dir.empty())
            r.detail += "\nreplay: vslab replay " + r.case_dir + " " + dut::dut_flags(options.dut);
        }
        const bool failed = r.outcome == Outcome::Fail || r.outcome == Outcome::Error;
        if (auto why = bed->bed().dut().failure(failed)) {
          blame_dead_dut(r, *why);
          stopped = "the run stopped when the DUT died (in " + cell->id() + ")";
          bed.reset();
        } else if (os::interrupted() && failed) {
          // Cut short by the signal (a capture's wait, a vsadm killed): no verdict.
          r = not_run(*cell, "interrupted by " + interrupted_by() + " while it ran");
        }
      } catch (const dut::DutUnavailable& e) {
        unavailable = r.detail = std::string("DUT unavailable: ") + e.what();
      } catch (const std::exception& e) {
        // The bed itself broke (bring-up, DUT start): no verdict on this cell, and the next
        // tries anew.
        r.outcome = Outcome::Error;
        r.detail = "bed for " + std::string(name(mode)) + ": " + e.what();
        bed.reset();
        if (os::interrupted())
          r = not_run(*cell, "interrupted by " + interrupted_by() + " while its bed came up");
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

}  // namespace

std::vector<CellResult> run_cells(const std::vector<Cell>& cells, const RunOptions& options,
                                  const std::function<void(const CellResult&)>& progress) {
  std::vector<CellResult> results;
  if (options.jobs <= 1 || cells.size() < 2) {
    std::string stopped;
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
    // Each worker writes a line of JSON per cell as it finishes, so that progress (the
    // per-cell lines of a CI log) comes as cells finish, not as workers do.
    std::fflush(nullptr);
    struct Worker {
      os::ChildProcess process;
      os::UniqueFd lines;
      std::string pending;
    };
    std::vector<Worker> workers;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (shards[i].empty()) continue;
      Worker w;
      try {
        auto pipe = os::make_pipe(O_CLOEXEC);
        const int out = pipe.second.get();
        w.process = os::ChildProcess::fork_running([&] {
          int status = 0;
          try {
            std::string stopped;
            run_here(
                shards[i], options,
                [out](const CellResult& r) {
                  os::write_all(out, to_json({r}).dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace) +
                                         "\n");
                },
                stopped);
          } catch (...) {
            status = 1;
          }
          std::fflush(nullptr);
          return status;
        });
        w.lines = std::move(pipe.first);
        // A SIGTERM for this process (a CI's timeout) is one for the workers too; a terminal's
        // ^C reaches them anyway, as they share this process's group.
        os::forward_interrupts_to(w.process.pid());
      } catch (const std::system_error&) {
        throw std::runtime_error("fork failed");
      }
      workers.push_back(std::move(w));
    }
    std::map<std::string, CellResult> by_id;
    std::string dut_died;  // a worker's DUT died: the others stop too
    auto take_line = [&](const std::string& line) {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (parsed.is_discarded()) return;  // its cell is reported as lost below
      try {
        for (auto& r : results_from_json(parsed)) {
          if (progress) progress(r);
          if (dut_died.empty() && r.outcome == Outcome::Error &&
              r.detail.rfind("the DUT died", 0) == 0) {
            dut_died = "the run stopped when the DUT died (in " + r.cell.id() + ")";
            for (auto& w : workers) w.process.signal(SIGTERM);
          }
          by_id[r.cell.id()] = std::move(r);
        }
      } catch (const std::exception&) {
        // A line that names no cell of the matrix: its cell is reported as lost below.
      }
    };
    for (std::size_t open = workers.size(); open > 0;) {
      std::vector<pollfd> fds;
      for (auto& w : workers) fds.push_back({w.lines.get(), POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (std::size_t k = 0; k < workers.size(); ++k) {
        auto& w = workers[k];
        if (!w.lines || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buffer[65536];
        ssize_t n = os::read_some(w.lines.get(), buffer, sizeof buffer);
        if (n <= 0) {
          w.lines.reset();  // poll ignores a negative descriptor from now on
          --open;
          continue;
        }
        w.pending.append(buffer, std::size_t(n));
        for (auto end = w.pending.find('\n'); end != std::string::npos;
             end = w.pending.find('\n')) {
          take_line(w.pending.substr(0, end));
          w.pending.erase(0, end + 1);
        }
      }
    }
    for (auto& w : workers) {
      os::stop_forwarding_to(w.process.pid());  // before the pid can be another process's
      w.process.wait();
    }
    for (const auto& c : cells) {
      auto it = by_id.find(c.id());
      CellResult r = it != by_id.end() ? it->second
                     : os::interrupted()
                         ? not_run(c, "interrupted by " + interrupted_by())
                         : CellResult{c, Outcome::Error, "the worker running it died", 0, {}, {}};
      // The other workers stopped because of it, not because of a signal from outside.
      if (!dut_died.empty() && r.outcome == Outcome::NotRun && !os::interrupted())
        r.detail = dut_died;
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace vslab::matrix
