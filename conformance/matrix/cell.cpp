#include "matrix/cell.h"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

#include "dut/schedulers.h"
#include "matrix/kinds/kind.h"

namespace vslab::matrix {

CellResult not_run(const Cell& cell, std::string why) {
  CellResult r{cell, Outcome::NotRun, std::move(why), 0, {}, {}};
  return r;
}

std::string_view name(Mode mode) {
  switch (mode) {
    case Mode::Nat:
      return "nat";
    case Mode::Dr:
      return "dr";
    case Mode::Tun:
      return "tun";
    case Mode::FullNat:
      return "fullnat";
  }
  return "?";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (Mode m : kModes)
    if (name(m) == text) return m;
  return std::nullopt;
}

bool replies_pass_director(Mode mode) {
  return mode == Mode::Nat || mode == Mode::FullNat;
}

std::string_view name(Proto proto) {
  switch (proto) {
    case Proto::Tcp:
      return "tcp";
    case Proto::Udp:
      return "udp";
    case Proto::Sctp:
      return "sctp";
    case Proto::Icmp:
      return "icmp";
  }
  return "?";
}

std::optional<Proto> parse_proto(std::string_view text) {
  for (Proto p : {Proto::Tcp, Proto::Udp, Proto::Sctp, Proto::Icmp})
    if (name(p) == text) return p;
  return std::nullopt;
}

std::string_view Cell::kind_name() const {
  return kind ? kind->name : "?";
}

std::string Cell::proto_name() const {
  return std::string(name(proto)) + (family == Family::Ipv6 ? "6" : "");
}

std::string Cell::id() const {
  std::string out(name(mode));
  const std::string proto_part = proto_name();
  for (std::string_view part : {scheduler, kind_name(), std::string_view(proto_part)}) {
    out += '/';
    out += part;
  }
  return out;
}

Cell cell_named(std::string_view mode, std::string_view scheduler, std::string_view kind,
                std::string_view proto) {
  Cell cell;
  auto unknown = [](std::string_view what, std::string_view text) {
    return std::invalid_argument("the matrix has no " + std::string(what) + " '" +
                                 std::string(text) + "'");
  };
  auto m = parse_mode(mode);
  if (!m) throw unknown("mode", mode);
  cell.mode = *m;
  auto s = std::find_if(dut::kIpvsSchedulers.begin(), dut::kIpvsSchedulers.end(),
                        [&](const dut::IpvsScheduler& entry) { return entry.name == scheduler; });
  if (s == dut::kIpvsSchedulers.end()) throw unknown("scheduler", scheduler);
  cell.scheduler = s->name;
  cell.kind = find_kind(kind);
  if (!cell.kind) throw unknown("scenario kind", kind);
  std::string_view proto_only = proto;
  if (proto.size() > 1 && proto.back() == '6') {
    cell.family = Family::Ipv6;
    proto_only.remove_suffix(1);
  }
  auto p = parse_proto(proto_only);
  if (!p) throw unknown("protocol", proto);
  cell.proto = *p;
  const auto& protos = cell.family == Family::Ipv6 ? cell.kind->ipv6_protos : cell.kind->protos;
  if (std::find(protos.begin(), protos.end(), cell.proto) == protos.end())
    throw unknown("cell", std::string(kind) + "/" + std::string(proto));
  return cell;
}

std::vector<Cell> all_cells() {
  std::vector<Cell> cells;
  for (Mode mode : kModes)
    for (const auto& scheduler : dut::kIpvsSchedulers)
      for (const auto& kind : scenario_kinds())
        for (Family family : {Family::Ipv4, Family::Ipv6})
          for (Proto proto : family == Family::Ipv6 ? kind.ipv6_protos : kind.protos)
            cells.push_back({mode, scheduler.name, &kind, proto, family});
  return cells;
}

bool matches(const Cell& cell, const std::string& glob) {
  return glob.empty() || fnmatch(glob.c_str(), cell.id().c_str(), 0) == 0;
}

}  // namespace vslab::matrix
