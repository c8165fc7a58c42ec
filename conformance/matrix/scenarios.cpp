#include "matrix/scenarios.h"

#include <chrono>
#include <stdexcept>

#include "matrix/failure_case.h"
#include "matrix/kinds/kind.h"

namespace vslab::matrix {

std::string not_applicable(const Cell& cell) {
  return cell.kind->applies.skip_reason(cell.mode, cell.scheduler);
}

CellResult run_cell(MatrixBed& bed, const Cell& cell, const std::filesystem::path& pcap_dir) {
  CellResult result{cell, Outcome::Skip, not_applicable(cell), 0, {}, {}};
  if (!result.detail.empty()) return result;
  auto& dut = bed.bed().dut();
  if (!dut.claims_mode(std::string(name(cell.mode))) ||
      !dut.claims_scheduler(std::string(cell.scheduler))) {
    result.detail = "not claimed by the DUT (" + dut.name() + ")";
    return result;
  }
  if (!dut.claims_family_in(number(cell.family), std::string(name(cell.mode)))) {
    result.detail = dut.unclaimed_family_in(number(cell.family), std::string(name(cell.mode)));
    return result;
  }
  result.detail =
      dut.missing_feature(cell.kind->name, number(cell.family), std::string(name(cell.mode)));
  if (!result.detail.empty()) return result;
  auto start = std::chrono::steady_clock::now();
  Findings findings;
  std::string error;
  try {
    bed.bed().begin_case(cell.id(), pcap_dir);
    bed.fresh_service();
    cell.kind->run(bed, cell, findings);
  } catch (const std::exception& e) {
    // The scenario could not go on (rules refused, the DUT unreachable, a harness fault): no
    // verdict, unless a check had already failed.
    error = std::string("error: ") + e.what();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.pcaps = findings.pcaps;
  if (findings.failure.empty() && !error.empty()) {
    result.outcome = Outcome::Error;
    result.detail = error;
    return result;
  }
  result.outcome = findings.failure.empty() ? Outcome::Pass : Outcome::Fail;
  result.detail = findings.failure;
  if (result.outcome == Outcome::Fail) {
    try {
      if (auto dir = write_failure_case(bed, cell, findings.failure)) {
        // The runner adds the replay hint, which needs the DUT's flags.
        result.case_dir = dir->string();
      } else {
        result.detail +=
            "\n(no case written: no frame check failed; a listing, a count or the choice of "
            "server did, which a case of frames cannot show)";
      }
    } catch (const std::exception& e) {
      result.detail += std::string("\n(no case written: ") + e.what() + ")";
    }
  }
  return result;
}

}  // namespace vslab::matrix
