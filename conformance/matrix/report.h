// What `vslab conform` prints and writes: the terminal table, JUnit XML and JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matrix/cell.h"

namespace vslab::matrix {

// One row per mode/scheduler, one column per scenario kind ("ok", "FAIL", "skip", or "-" when
// the filter left nothing there); then each failure with its diff and each skip reason once.
std::string format_table(const std::vector<CellResult>& results);
std::string format_summary(const std::vector<CellResult>& results, double wall_seconds, int jobs);
// JUnit XML as Jenkins/GitLab read it: one testsuite, one testcase per cell.
std::string format_junit(const std::vector<CellResult>& results, double wall_seconds);
nlohmann::json to_json(const std::vector<CellResult>& results);
std::vector<CellResult> results_from_json(const nlohmann::json& j);

}  // namespace vslab::matrix
