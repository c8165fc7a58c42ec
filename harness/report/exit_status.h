// The exit status of every vslab command that runs cases or cells (conform, replay, diff,
// report merge): one table, so that a CI job reads every command's status the same way.
#pragma once

#include <ostream>
#include <string_view>

#include "report/report.h"

namespace vslab::report {

// 0 when something ran and nothing failed; 1 when something failed, broke (an error) or was not
// run; 2 for a usage error or a report that could not be written; then these.
inline constexpr int kExitAllSkipped = 3;  // every cell or case skipped: nothing was tested
inline constexpr int kExitNotRoot = 4;     // the topologies need CAP_NET_ADMIN
// Interrupted: 128 + the signal, as a shell reports a death by it, after the run has torn down
// what it made and written its reports with what it did not run marked "not run".
inline constexpr int kExitSighup = 129;
inline constexpr int kExitSigint = 130;
inline constexpr int kExitSigterm = 143;

// The status of a finished (not interrupted) run with these totals; `why` gets the reason of
// a status other than 0 or 1-for-a-failure, in words such as "vslab conform: every cell was
// skipped" (command "vslab conform", noun "cell").
int exit_status(const Totals& totals, bool allow_skips, std::string_view command,
                std::string_view noun, std::ostream& why);

}  // namespace vslab::report
