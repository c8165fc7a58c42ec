// A failed cell written down as a pcap bug report (fixtures/pcap layout, harness/replay): the
// rules the cell set, and the frames it injected, the rule edits it made and the checks it
// made, in order, up to the check that failed, so that `vslab replay DIR` runs the same
// exchange on any DUT.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "matrix/bed.h"
#include "matrix/cell.h"

namespace vslab::matrix {

// Writes the case into bed's failure folder for the cell (where its checks' pcaps went) and
// returns that folder; nothing when no frame check failed (a listing or a count did: a case
// holds frames only, and one that passes would mislead). `failure` is the cell's failure
// text, for the case's description.
std::optional<std::filesystem::path> write_failure_case(MatrixBed& bed, const Cell& cell,
                                                        const std::string& failure);

}  // namespace vslab::matrix
