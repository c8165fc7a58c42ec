// The conformance matrix: one cell per (mode, scheduler, scenario kind, protocol), each run on
// the mode's topology against whatever director the DUT adapter stands for. Expectations come
// from docs/ipvs.md and the topology files, never from director code.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/verdict.h"

namespace vslab::matrix {

// A cell's verdict (report/verdict.h): Fail for a check the DUT failed, Error when the bed,
// the DUT or a worker broke before a verdict, Skip with its reason, NotRun.
using Outcome = report::Verdict;
inline std::string_view outcome_name(Outcome o) {
  return report::verdict_name(o);
}

// The forwarding method a row's real servers are added with; its name is also the topology's
// (topologies/<name>.toml) and what a DUT claims.
enum class Mode { Nat, Dr, Tun, FullNat };
std::string_view name(Mode mode);  // nat, dr, tun, fullnat
std::optional<Mode> parse_mode(std::string_view text);
// The rows' modes, in row order.
inline constexpr std::array<Mode, 4> kModes{Mode::Nat, Mode::Dr, Mode::Tun, Mode::FullNat};
// NAT and FULLNAT: the real servers answer through the director (spec 2), which so sees both
// directions of a connection and may translate the port.
bool replies_pass_director(Mode mode);

enum class Proto { Tcp, Udp, Icmp, Sctp };
std::string_view name(Proto proto);  // tcp, udp, icmp, sctp
std::optional<Proto> parse_proto(std::string_view text);

// The address family of a cell's traffic. An IPv6 cell's protocol is named with a 6 (tcp6, udp6,
// icmp6: ICMPv6 echo), so IPv4 ids stay as they were and a glob selects a family:
// --filter '*6' the IPv6 cells, --filter '*[!6]' the IPv4 ones.
enum class Family { Ipv4, Ipv6 };
inline int number(Family family) {
  return family == Family::Ipv6 ? 6 : 4;
}

struct ScenarioKind;  // a column: matrix/kinds/kind.h

struct Cell {
  Mode mode = Mode::Nat;
  std::string_view scheduler;          // a name of dut::kIpvsSchedulers (harness/dut/schedulers.h)
  const ScenarioKind* kind = nullptr;  // an entry of scenario_kinds()
  Proto proto = Proto::Tcp;
  Family family = Family::Ipv4;

  std::string_view kind_name() const;
  std::string proto_name() const;  // tcp, or tcp6 for an IPv6 cell
  std::string id() const;          // mode/scheduler/kind/proto, e.g. nat/rr/rewrite/tcp6
};

// The cell these names make, as id() and the JSON report spell them (proto "tcp6": IPv6); throws
// std::invalid_argument for a name the matrix does not know.
Cell cell_named(std::string_view mode, std::string_view scheduler, std::string_view kind,
                std::string_view proto);

struct CellResult {
  Cell cell;
  Outcome outcome = Outcome::Skip;
  std::string detail;  // why it failed (the field diff), erred or was skipped
  double seconds = 0;
  std::vector<std::string> pcaps;  // failure captures, in the fixture layout
  std::string case_dir;            // the failure as a case `vslab replay` runs ("": none)
};

// A cell the run did not get to; `why` says why ("interrupted by SIGINT"): reports put "not
// run: " before it.
CellResult not_run(const Cell& cell, std::string why);

// Every cell, in row order (mode, scheduler), then column order.
std::vector<Cell> all_cells();
// fnmatch-style glob over Cell::id(), e.g. "nat/*/rewrite/*" or "*/wrr/*".
bool matches(const Cell& cell, const std::string& glob);

}  // namespace vslab::matrix
