// The thresholds kind: a server at its upper threshold (-x) gets no further connection
// (spec 8), except from lblc, which gives the server it recorded for the VIP new connections
// while its active ones do not exceed its weight, flag or not (spec 6, as Linux 6.1 does).
// rr's cells also watch the flag clear as connections expire: below -y, or without -y below
// three quarters of -x, and not at those counts. The IPv6 cells (tcp6) do all of it to an IPv6
// service, its servers listed [RIP6]:rport.
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "matrix/kinds/steps.h"
#include "matrix/kinds/timeouts_kept.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// rs`rs` as -a and -L name it: RIP:rport, [RIP6]:rport.
std::string server_endpoint(MatrixBed& mb, int rs, Family family) {
  return mb.server_args(rs, family)[1];
}

// Active + inactive connections of rs`rs` as `-L -n` lists them (-1: not listed).
int listed_count(MatrixBed& mb, int rs, Family family) {
  std::istringstream lines(mb.bed().admin({"-L", "-n"}).output);
  const std::string addr = server_endpoint(mb, rs, family);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string arrow, listed, method;
    int weight = 0, active = 0, inactive = 0;
    if (in >> arrow >> listed >> method >> weight >> active >> inactive && arrow == "->" &&
        listed == addr)
      return active + inactive;
  }
  return -1;
}

// Spec 8 on the way down. rs1 (-x 4 -y 2) and rs2 (-x 4) take four SYN-only connections each
// and are both OVERLOADED; two of each are ACKed into ESTABLISHED, whose timeout is 1 s for
// the cell (spec 5, --set), and expire. At count 2, rs1 is at its lower threshold, not below
// it, and stays off; rs2 is below three quarters of its upper (2 * 4 < 4 * 3) and is back:
// both new connections go to rs2.
void flag_clears(MatrixBed& mb, Family family, Findings& f) {
  auto& bed = mb.bed();
  mb.fresh_service();
  std::string rules = mb.rules(Proto::Tcp, "rr", {1, 1}, "", "-x 4", family);
  const auto rs1_line = rules.find(server_endpoint(mb, 1, family));
  rules.insert(rules.find('\n', rs1_line), " -y 2");
  bed.restore(rules);
  // The timeouts are the DUT's, not the service's: back to what they were whatever happens.
  TimeoutsKept kept(mb);
  bed.admin({"--set", "1", "0", "0"});
  std::map<int, std::vector<uint16_t>> ports_of;
  for (int i = 0; i < 8; ++i) {
    const uint16_t cport = mb.next_client_port();
    auto syn = mb.tcp_in(family, Tins::TCP::SYN, cport);
    bed.client().port->send(syn);
    int got = mb.server_reached(syn, 2s);
    if (!f.require(got == 1 || got == 2,
                   fmt::format("connection {} of 8 reached rs{}, not rs1 or rs2 (both below "
                               "their upper threshold 4)",
                               i + 1, got)))
      return;
    ports_of[got].push_back(cport);
  }
  if (!f.require(ports_of[1].size() == 4 && ports_of[2].size() == 4,
                 fmt::format("rs1 got {} and rs2 {} of 8 connections; with -x 4 each takes 4",
                             ports_of[1].size(), ports_of[2].size())))
    return;
  auto over = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port());
  bed.client().port->send(over);
  mb.barrier(family);
  if (!f.require(mb.server_reached(over, 0ms) == 0,
                 "a ninth connection reached a server although both hold their upper threshold "
                 "4 and are OVERLOADED"))
    return;
  for (int rs = 1; rs <= 2; ++rs)
    for (int k = 0; k < 2; ++k) {
      auto ack = mb.tcp_in(family, Tins::TCP::ACK, ports_of[rs][k], "", 1001, 1);
      bed.client().port->send(ack);
      if (!f.require(mb.server_reached(ack, 2s) == rs,
                     fmt::format("the ACK of rs{}'s connection did not reach it", rs)))
        return;
    }
  auto down_to_two = [&] {
    return listed_count(mb, 1, family) == 2 && listed_count(mb, 2, family) == 2;
  };
  if (!f.require(read_until<bool>(down_to_two, true, 10s),
                 fmt::format("-L -n: rs1 and rs2 still count {} and {} connections 10 s after two "
                             "of each went ESTABLISHED with a 1 s timeout; the spec says 2 each",
                             listed_count(mb, 1, family), listed_count(mb, 2, family))))
    return;
  for (int i = 0; i < 2; ++i) {
    auto syn = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port());
    bed.client().port->send(syn);
    int got = mb.server_reached(syn, 2s);
    if (!f.require(got == 2, fmt::format("with rs1 at count 2 = its lower threshold (still "
                                         "OVERLOADED) and rs2 at count {} < 3/4 of its upper "
                                         "threshold 4 (back on), new connection {} reached rs{} "
                                         "where the spec says rs2",
                                         2 + i, i + 1, got)))
      return;
  }
}

}  // namespace

void thresholds(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const Family family = c.family;
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, {1, 1, 1}, "", "-x 1", family));
  // Spec 8: with -x 1 a server holding one connection is overloaded; no scheduler may give it
  // a second while the first lasts (SYN-only connections stay). lblc's recorded server takes
  // one more (active 1 is not above weight 1) before lblc moves on: two each, in pairs.
  const bool recorded_server_takes_two = c.scheduler == "lblc";
  const int most_per_server = recorded_server_takes_two ? 2 : 1;
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 6; ++i) {
    const std::string client = family == Family::Ipv6 ? fmt::format("fd00:10::{}", 40 + i)
                                                      : fmt::format("10.10.0.{}", 40 + i);
    syns.push_back(mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port(), client));
    bed.client().port->send(syns.back());
    // lblc's pairs follow the order the SYNs are scheduled in, and six clients may be
    // scheduled on several cores at once: each is handled before the next is sent.
    if (recorded_server_takes_two) mb.barrier(family);
  }
  mb.barrier(family);
  std::map<int, int> per_server;
  std::vector<int> reached;
  for (const auto& s : syns) {
    int got = mb.server_reached(s, 0ms);
    reached.push_back(got);
    if (got == 0) continue;
    if (!f.require(++per_server[got] <= most_per_server,
                   fmt::format("rs{} got connection {} above its upper threshold 1", got,
                               per_server[got])))
      return;
  }
  if (!f.require(!per_server.empty(), "no connection was scheduled at all")) return;
  if (c.scheduler == "rr") return flag_clears(mb, family, f);
  if (!recorded_server_takes_two) return;
  // lblc: SYNs 1-2 on the first wlc choice, 3-4 on the next, 5-6 on the last.
  for (std::size_t i = 0; i < reached.size(); i += 2)
    if (!f.require(reached[i] != 0 && reached[i] == reached[i + 1] && per_server[reached[i]] == 2,
                   fmt::format("lblc gave SYNs {} and {} to rs{} and rs{}, not both to the "
                               "server it recorded",
                               i + 1, i + 2, reached[i], reached[i + 1])))
      return;
}

}  // namespace vslab::matrix::kinds
