// `vslab conform`: the conformance matrix against a DUT, with the table on the terminal and
// optional JUnit XML and JSON reports.
#pragma once

#include <ostream>

#include <CLI/CLI.hpp>

#include "report/report.h"

namespace vslab::matrix {

// Exit status: 0 when something ran and no cell failed; 1 when a cell failed (or the DUT died,
// which stops the run); 2 for a usage error or a report that could not be written; then these.
inline constexpr int kExitAllSkipped = 3;  // every cell skipped: nothing was tested
inline constexpr int kExitNotRoot = 4;     // the topologies need CAP_NET_ADMIN
// Interrupted: 128 + the signal, as a shell reports a death by it, after the run has torn down
// what it made and written its reports with the cells it did not run marked "not run". The
// same for replay, diff and record.
inline constexpr int kExitSighup = 129;
inline constexpr int kExitSigint = 130;
inline constexpr int kExitSigterm = 143;

// The status of a run with these totals (`vslab report merge` gives a sharded run's): 1 for a
// failure, an error or a cell not run, kExitAllSkipped when nothing was tested (unless
// allow_skips), else 0; `why` gets the reason of the last two.
int conform_exit_status(const report::Totals& totals, bool allow_skips, std::ostream& why);

// Adds the subcommand to `app`; when it runs, `status` gets its exit status.
void add_conform_command(CLI::App& app, int& status);

}  // namespace vslab::matrix
