#include "matrix/shard.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <string_view>

#include "matrix/kinds/kind.h"
#include "matrix/scenarios.h"

namespace vslab::matrix {
namespace {

// Mean seconds per cell of each kind, measured with the builtin DUT at -j1 (the */wrr/* rows:
// `vslab conform --filter '*/wrr/*' --json`, field "seconds"; the last five from a full run at
// -j2, scaled by the 1.4 the older kinds show between the two); a kind not listed costs kOther.
struct KindCost {
  std::string_view kind;
  double seconds;
};
constexpr KindCost kKindCosts[] = {
    {"rewrite", 0.06},    {"scheduler", 0.05},    {"connection", 0.12},  {"persistence", 0.04},
    {"weight0", 0.16},    {"thresholds", 0.06},   {"icmp-error", 0.04},  {"unknown-flow", 0.08},
    {"pmtu", 0.04},       {"no-service", 0.08},   {"client-icmp", 0.03}, {"ttl-one", 0.1},
    {"unavailable", 0.1}, {"routed", 0.02},       {"port-zero", 0.04},   {"fragments", 0.05},
    {"ip-options", 0.05}, {"bad-checksum", 0.05}, {"tcp-flags", 0.05},
};
constexpr double kOther = 0.1;
constexpr double kNotApplicable = 0.001;
// The same runs: 9.8 s of wall for 3.3 s of cells over four modes.
constexpr double kBringUp = 1.6;

}  // namespace

std::string Shard::text() const {
  return std::to_string(index) + "/" + std::to_string(count);
}

std::optional<Shard> parse_shard(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto number = [](std::string_view digits) -> std::optional<int> {
    if (digits.empty() || digits.size() > 4 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoi(std::string(digits));
  };
  auto i = number(std::string_view(text).substr(0, slash));
  auto n = number(std::string_view(text).substr(slash + 1));
  if (!i || !n || *n < 1 || *n > 1024 || *i < 1 || *i > *n) return std::nullopt;
  return Shard{*i, *n};
}

double expected_seconds(const Cell& cell) {
  if (!not_applicable(cell).empty()) return kNotApplicable;
  for (const auto& k : kKindCosts)
    if (k.kind == cell.kind_name()) return k.seconds;
  return kOther;
}

double expected_bring_up_seconds() {
  return kBringUp;
}

std::vector<Cell> shard_cells(const std::vector<Cell>& cells, const Shard& shard,
                              const RecordedSeconds& recorded) {
  std::vector<double> cost;
  for (const auto& c : cells) {
    auto it = recorded.find(c.id());
    cost.push_back(it != recorded.end() && it->second >= 0 ? it->second : expected_seconds(c));
  }
  // Longest first onto the slice that would end soonest, counting the bring-up a slice pays
  // for its first cell of a mode; ties go to the lower slice, and equal cells keep their
  // order, so the split is a function of the cells (and the record) alone.
  std::vector<std::size_t> order(cells.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  const auto n = std::size_t(shard.count);
  std::vector<double> load(n, 0);
  std::vector<std::set<Mode>> modes(n);
  std::vector<int> slice_of(cells.size(), 0);
  for (std::size_t i : order) {
    const Cell& c = cells[i];
    const bool needs_bed = not_applicable(c).empty();
    std::size_t best = 0;
    double best_end = 0;
    for (std::size_t s = 0; s < n; ++s) {
      double end = load[s] + cost[i] + (needs_bed && !modes[s].count(c.mode) ? kBringUp : 0.0);
      if (s == 0 || end < best_end) {
        best = s;
        best_end = end;
      }
    }
    load[best] = best_end;
    if (needs_bed) modes[best].insert(c.mode);
    slice_of[i] = int(best) + 1;
  }
  std::vector<Cell> out;
  for (std::size_t i = 0; i < cells.size(); ++i)
    if (slice_of[i] == shard.index) out.push_back(cells[i]);
  return out;
}

}  // namespace vslab::matrix
