#include "matrix/cell.h"

#include <fnmatch.h>

namespace vslab::matrix {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Pass:
      return "pass";
    case Outcome::Fail:
      return "fail";
    case Outcome::Skip:
      return "skip";
  }
  return "?";
}

const std::vector<std::string>& modes() {
  static const std::vector<std::string> all{"nat", "dr", "tun", "fullnat"};
  return all;
}

const std::vector<std::string>& schedulers() {
  static const std::vector<std::string> all{"rr",    "wrr", "lc", "wlc", "sed", "nq",  "lblc",
                                            "lblcr", "dh",  "sh", "mh",  "fo",  "ovf", "twos"};
  return all;
}

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> all{
      {"rewrite", {"tcp", "udp", "icmp"}},
      {"scheduler", {"tcp"}},
      {"connection", {"tcp"}},
      {"persistence", {"tcp"}},
      {"weight0", {"tcp"}},
      {"thresholds", {"tcp"}},
      {"icmp-error", {"udp"}},
      {"unknown-flow", {"tcp"}},
      {"pmtu", {"tcp"}},
  };
  return all;
}

std::vector<Cell> all_cells() {
  std::vector<Cell> cells;
  for (const auto& mode : modes())
    for (const auto& scheduler : schedulers())
      for (const auto& kind : kinds())
        for (const auto& proto : kind.protos) cells.push_back({mode, scheduler, kind.name, proto});
  return cells;
}

bool matches(const Cell& cell, const std::string& glob) {
  return glob.empty() || fnmatch(glob.c_str(), cell.id().c_str(), 0) == 0;
}

}  // namespace vslab::matrix
