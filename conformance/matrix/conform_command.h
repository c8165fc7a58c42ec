// `vslab conform`: the conformance matrix against a DUT, with the table on the terminal and
// optional JUnit XML and JSON reports.
#pragma once

#include <ostream>

#include <CLI/CLI.hpp>

#include "report/exit_status.h"
#include "report/report.h"

namespace vslab::matrix {

// Exit status: report/exit_status.h, the same for replay, diff and report merge.
using report::kExitAllSkipped;
using report::kExitNotRoot;
using report::kExitSighup;
using report::kExitSigint;
using report::kExitSigterm;

// The status of a run with these totals (`vslab report merge` gives a sharded run's): 1 for a
// failure, an error or a cell not run, kExitAllSkipped when nothing was tested (unless
// allow_skips), else 0; `why` gets the reason of the last two.
int conform_exit_status(const report::Totals& totals, bool allow_skips, std::ostream& why);

// Adds the subcommand to `app`; when it runs, `status` gets its exit status.
void add_conform_command(CLI::App& app, int& status);

}  // namespace vslab::matrix
