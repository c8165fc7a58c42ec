// A scenario kind: one column of the matrix, what its cells do on the wire and where they
// apply. Every kind is one entry of scenario_kinds() (kinds/table.cpp) and its run function in
// a file of its own (kinds/<name>.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "check/check.h"
#include "matrix/cell.h"

namespace vslab::matrix {

class MatrixBed;

// What a cell found: the first failed step with its report, and the pcaps of every failure.
struct Findings {
  std::string failure;
  std::vector<std::string> pcaps;

  bool check(const check::CheckResult& r, const std::string& step) {
    if (r.ok) return true;
    if (failure.empty()) failure = step + ": " + r.report;
    pcaps.insert(pcaps.end(), r.pcaps.begin(), r.pcaps.end());
    return false;
  }
  bool require(bool ok, const std::string& what) {
    if (!ok && failure.empty()) failure = what;
    return ok;
  }
};

// Where a kind's cells run; elsewhere they are skipped with the reason.
struct Applicability {
  std::vector<Mode> modes;                   // empty: every mode
  std::vector<std::string_view> schedulers;  // empty: every scheduler
  std::string_view reason;                   // "{}" in it stands for the mode's name

  std::string skip_reason(Mode mode, std::string_view scheduler) const;  // "" where it runs
};

struct ScenarioKind {
  std::string_view name;      // the column, and the third part of a cell's id
  std::vector<Proto> protos;  // one IPv4 cell each, in this order
  // One IPv6 cell each (tcp6...), after the IPv4 ones; empty where the kind's IPv6 run is not
  // written yet.
  std::vector<Proto> ipv6_protos;
  Applicability applies;
  // Sets the cell's rules on a bed of its mode (restored afresh, on a virtual port no earlier
  // cell used), sends and checks, noting in Findings what went wrong; a DUT or harness error
  // may throw, which fails the cell with its message.
  void (*run)(MatrixBed& bed, const Cell& cell, Findings& findings);
};

// Every kind, in column order.
const std::vector<ScenarioKind>& scenario_kinds();
// nullptr when no kind has that name.
const ScenarioKind* find_kind(std::string_view name);

}  // namespace vslab::matrix
