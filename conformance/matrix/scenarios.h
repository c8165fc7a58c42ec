// The scenario kinds: what each cell does on the wire and what the spec says must come back.
#pragma once

#include <filesystem>

#include "matrix/bed.h"
#include "matrix/cell.h"

namespace vslab::matrix {

// Runs one cell on a bed of its mode. Never throws: a check that fails is Fail (with case_dir
// set when the failure was written as a case), a scenario that cannot go on is Error.
CellResult run_cell(MatrixBed& bed, const Cell& cell, const std::filesystem::path& pcap_dir);

// Why a cell does not apply to its mode ("" when it does).
std::string not_applicable(const Cell& cell);

}  // namespace vslab::matrix
