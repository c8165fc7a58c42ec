// Runs cells: in this process one mode at a time on a reused bed, or spread over -j worker
// processes, each with its own topologies (their own prefixes), results gathered as JSON.
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

#include "dut/dut.h"
#include "matrix/cell.h"

namespace vslab::matrix {

class MatrixBed;

struct RunOptions {
  dut::DutSpec dut;
  std::filesystem::path pcap_dir;
  int jobs = 1;
  // What runs a cell on its bed; empty: run_cell (the conformance checks). `vslab diff` runs
  // the cell and compares what the DUT delivered with another DUT.
  std::function<CellResult(MatrixBed&, const Cell&)> cell_runner;
  // Called when a mode's cells are done and its bed is down (in the process that ran them: a
  // -j worker leaves with _exit, so what a cell_runner keeps per mode must go here).
  std::function<void(Mode mode)> mode_done;
};

// Results in the order of `cells`. progress() is called as each result is known (in this
// process: after each cell; with workers: as each cell finishes in its worker).
std::vector<CellResult> run_cells(const std::vector<Cell>& cells, const RunOptions& options,
                                  const std::function<void(const CellResult&)>& progress);

}  // namespace vslab::matrix
