#include "matrix/runner.h"

#include <fcntl.h>
#include <poll.h>
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
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::matrix {
namespace {

// Every cell of one mode on one bed, brought up when the first cell that needs it runs.
void run_mode(Mode mode, const std::vector<const Cell*>& cells, const RunOptions& options,
              std::vector<CellResult>& out,
              const std::function<void(const CellResult&)>& progress) {
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
        if (options.cell_runner) {
          r = options.cell_runner(*bed, *cell);
        } else {
          r = run_cell(*bed, *cell, options.pcap_dir);
          // The same director again: a non-builtin DUT's failure must not replay on vsd.
          if (!r.case_dir.empty())
            r.detail += "\nreplay: vslab replay " + r.case_dir + " " + dut::dut_flags(options.dut);
        }
      } catch (const dut::DutUnavailable& e) {
        unavailable = r.detail = std::string("DUT unavailable: ") + e.what();
      } catch (const std::exception& e) {
        // The bed itself broke (bring-up, DUT start): no verdict on this cell, and the next
        // tries anew.
        r.outcome = Outcome::Error;
        r.detail = "bed for " + std::string(name(mode)) + ": " + e.what();
        bed.reset();
      }
    }
    out.push_back(r);
    if (progress) progress(r);
  }
  bed.reset();
  if (options.mode_done) options.mode_done(mode);
}

std::vector<CellResult> run_here(const std::vector<Cell>& cells, const RunOptions& options,
                                 const std::function<void(const CellResult&)>& progress) {
  std::map<Mode, std::vector<const Cell*>> by_mode;
  for (const auto& c : cells) by_mode[c.mode].push_back(&c);
  std::vector<CellResult> out;
  for (Mode mode : kModes)
    if (auto it = by_mode.find(mode); it != by_mode.end())
      run_mode(mode, it->second, options, out, progress);
  return out;
}

}  // namespace

std::vector<CellResult> run_cells(const std::vector<Cell>& cells, const RunOptions& options,
                                  const std::function<void(const CellResult&)>& progress) {
  std::vector<CellResult> results;
  if (options.jobs <= 1 || cells.size() < 2) {
    results = run_here(cells, options, progress);
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
            run_here(shards[i], options, [out](const CellResult& r) {
              os::write_all(
                  out, to_json({r}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                           "\n");
            });
          } catch (...) {
            status = 1;
          }
          std::fflush(nullptr);
          return status;
        });
        w.lines = std::move(pipe.first);
      } catch (const std::system_error&) {
        throw std::runtime_error("fork failed");
      }
      workers.push_back(std::move(w));
    }
    std::map<std::string, CellResult> by_id;
    auto take_line = [&](const std::string& line) {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (parsed.is_discarded()) return;  // its cell is reported as lost below
      try {
        for (auto& r : results_from_json(parsed)) {
          if (progress) progress(r);
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
    for (auto& w : workers) w.process.wait();
    for (const auto& c : cells) {
      auto it = by_id.find(c.id());
      results.push_back(
          it != by_id.end()
              ? it->second
              : CellResult{c, Outcome::Error, "the worker running it died", 0, {}, {}});
    }
  }
  return results;
}

}  // namespace vslab::matrix
