// What `vslab conform` prints and writes: the terminal table and summary, and its results as a
// report::Report (report/report.h) for the JUnit XML and JSON forms.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrix/cell.h"
#include "report/report.h"

namespace vslab::matrix {

// One row per mode/scheduler, one column per scenario kind ("ok", "FAIL", "ERROR", "skip",
// "not-run", or "-" when the filter left nothing there); then each failure with its diff, each
// error with its message, and each skip reason once.
std::string format_table(const std::vector<CellResult>& results);
// The failures with their diffs and the errors with their messages (what -q prints).
std::string format_problems(const std::vector<CellResult>& results);
std::string format_summary(const std::vector<CellResult>& results, double wall_seconds, int jobs);

// A cell as a report entry (classname mode.scheduler, name kind/proto; mode, scheduler, kind,
// proto, pcaps and case among its fields) and back; from_entry throws std::invalid_argument for
// an entry that names no cell of the matrix.
report::Entry to_entry(const CellResult& r);
CellResult from_entry(const report::Entry& e);
report::Report to_report(const std::vector<CellResult>& results);

// The cells alone, as -j workers hand them to their parent: {"cells": [...]}.
nlohmann::json to_json(const std::vector<CellResult>& results);
std::vector<CellResult> results_from_json(const nlohmann::json& j);

}  // namespace vslab::matrix
