// The conformance matrix: one cell per (mode, scheduler, scenario kind, protocol), each run on
// the mode's topology against whatever director the DUT adapter stands for. Expectations come
// from ../shared/spec and the topology files, never from director code.
#pragma once

#include <string>
#include <vector>

namespace vslab::matrix {

enum class Outcome { Pass, Fail, Skip };
std::string_view outcome_name(Outcome o);  // "pass", "fail", "skip"

struct Cell {
  std::string mode;       // nat, dr, tun, fullnat
  std::string scheduler;  // rr, wrr, ...
  std::string kind;       // rewrite, scheduler, ...
  std::string proto;      // tcp, udp, icmp
  std::string id() const { return mode + "/" + scheduler + "/" + kind + "/" + proto; }
};

struct CellResult {
  Cell cell;
  Outcome outcome = Outcome::Skip;
  std::string detail;  // why it failed (the field diff) or was skipped
  double seconds = 0;
  std::vector<std::string> pcaps;  // failure captures, in the fixture layout
  std::string case_dir;            // the failure as a case `vslab replay` runs ("": none)
};

const std::vector<std::string>& modes();
const std::vector<std::string>& schedulers();
// Scenario kinds in column order, and the protocols each runs with.
struct KindInfo {
  std::string name;
  std::vector<std::string> protos;
};
const std::vector<KindInfo>& kinds();

// Every cell, in row order (mode, scheduler), then column order.
std::vector<Cell> all_cells();
// fnmatch-style glob over Cell::id(), e.g. "nat/*/rewrite/*" or "*/wrr/*".
bool matches(const Cell& cell, const std::string& glob);

}  // namespace vslab::matrix
