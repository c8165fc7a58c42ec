// `vslab conform --shard I/N`: the selected cells split among N CI jobs, every cell in exactly
// one slice, the same split on every machine, the slices about equal in expected time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "matrix/cell.h"

namespace vslab::matrix {

struct Shard {
  int index = 1;  // 1-based
  int count = 1;
  std::string text() const;  // "2/3"
};

// "I/N" with 1 <= I <= N <= 1024; nothing for anything else.
std::optional<Shard> parse_shard(const std::string& text);

// What a cell is expected to cost, in seconds: a per-kind estimate, from runs of the builtin
// DUT; a cell that does not apply to its mode costs next to nothing.
double expected_seconds(const Cell& cell);
// What bringing up a mode's topology with its DUT costs a slice that has no cell of that mode.
double expected_bring_up_seconds();

// Seconds per cell id, as an earlier run recorded them (its JSON report's "seconds").
using RecordedSeconds = std::map<std::string, double>;

// The cells of slice `shard`, in the order of `cells`, each costing its recorded seconds where
// `recorded` has them and expected_seconds() elsewhere. Depends only on `cells`, the shard count
// and `recorded`, so N jobs that select the same cells (with the same record) split them the
// same way.
std::vector<Cell> shard_cells(const std::vector<Cell>& cells, const Shard& shard,
                              const RecordedSeconds& recorded = {});

}  // namespace vslab::matrix
