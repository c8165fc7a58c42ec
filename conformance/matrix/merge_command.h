// `vslab report merge OUT.json IN.json...`: the JSON reports of `vslab conform --shard I/N`
// slices joined into the report (JSON, and JUnit with --junit) and the exit status of the
// unsharded run.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "report/report.h"

namespace vslab::matrix {

// The slices as one run: cells in matrix order, the earliest start, the longest slice's
// duration (they ran side by side), properties that differ joined with ", ". Throws
// std::runtime_error when they do not make one run: a cell in two slices, a slice missing or
// twice, different filters or DUTs.
report::Report merge_slices(const std::vector<report::Report>& slices,
                            const std::vector<std::string>& names);

// Adds `vslab report` with its subcommand `merge`; when it runs, `status` gets its exit status.
void add_report_command(CLI::App& app, int& status);

}  // namespace vslab::matrix
