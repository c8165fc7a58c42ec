#include "matrix/runner.h"

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
        r = options.cell_runner ? options.cell_runner(*bed, *cell)
                                : run_cell(*bed, *cell, options.pcap_dir);
      } catch (const dut::DutUnavailable& e) {
        unavailable = r.detail = std::string("DUT unavailable: ") + e.what();
      } catch (const std::exception& e) {
        // The bed itself failed (bring-up, DUT start): this cell fails, the next tries anew.
        r.outcome = Outcome::Fail;
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
            auto mine = run_here(shards[i], options, nullptr);
            std::ofstream(file) << to_json(mine).dump(-1, ' ', false,
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
      workers.emplace_back(std::move(worker), file);
    }
    std::map<std::string, CellResult> by_id;
    for (auto& [worker, file] : workers) {
      worker.wait();
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
    }
    for (const auto& c : cells) {
      auto it = by_id.find(c.id());
      results.push_back(
          it != by_id.end()
              ? it->second
              : CellResult{c, Outcome::Fail, "the worker running it died", 0, {}, {}});
    }
  }
  return results;
}

}  // namespace vslab::matrix
