#include "report/exit_status.h"

namespace vslab::report {

int exit_status(const Totals& t, bool allow_skips, std::string_view command, std::string_view noun,
                std::ostream& why) {
  if (t.failed || t.errors) return 1;
  if (t.not_run) {
    why << command << ": " << t.not_run << " " << noun << "(s) were not run\n";
    return 1;
  }
  if (t.skipped == t.cells && !allow_skips) {
    // A CI job whose DUT claims nothing, or that could test nothing, tested nothing: no pass.
    why << command << ": every " << noun << " was skipped, nothing was tested (exit "
        << kExitAllSkipped << "; --allow-skips accepts it)\n";
    return kExitAllSkipped;
  }
  return 0;
}

}  // namespace vslab::report
