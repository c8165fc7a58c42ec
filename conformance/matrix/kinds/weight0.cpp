// The weight0 kind: a server edited to weight 0 keeps its connections and gets no new one;
// a removed server gets no new one either, and a later packet of its connection is dropped
// (expire_nodest_conn=0, the default), not sent elsewhere (spec 2, 4, 8). Its IPv6 cell (tcp6)
// does the same to an IPv6 service, its servers named [RIP6]:rport.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void weight0(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const Family family = c.family;
  const bool v6 = family == Family::Ipv6;
  // Other clients than the client's own address, on its segment.
  auto other_client = [v6](int n) {
    return v6 ? fmt::format("fd00:10::{}", n) : fmt::format("10.10.0.{}", n);
  };
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", family));
  uint16_t cport = mb.next_client_port();
  auto syn = mb.tcp_in(family, Tins::TCP::SYN, cport);
  int rs = forwarded(mb, syn, f, "first connection");
  if (rs == 0) return;
  const std::string service = "-t", vip = mb.service_address(family);
  std::vector<std::string> edit_args{"-e", service, vip};
  for (auto& a : mb.server_args(rs, family)) edit_args.push_back(a);
  edit_args.insert(edit_args.end(), {"-w", "0"});
  auto edit = bed.admin(edit_args);
  if (!f.require(edit.ok(),
                 fmt::format("vsadm {} refused: {}", fmt::join(edit_args, " "), edit.output)))
    return;
  // Spec 8: a weight-0 server keeps its connections and gets no new one.
  auto ack = mb.tcp_in(family, Tins::TCP::ACK, cport, "", 1001, 1);
  bed.client().port->send(ack);
  f.check(bed.checker().expect_frame(*bed.rs(rs).port, mb.at_real_server(ack, rs), 2s),
          "the quiesced server's own connection");
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 4; ++i) {
    syns.push_back(mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port(), other_client(20 + i)));
    bed.client().port->send(syns.back());
  }
  mb.barrier(family);
  for (const auto& s : syns)
    if (!f.require(mb.server_reached(s, 0ms) != rs,
                   fmt::format("a new connection reached rs{} at weight 0", rs)))
      return;
  // Removed: nothing new reaches it either (spec 4).
  // -d names the server by address alone (ipvsadm refuses a method there).
  auto del = bed.admin({"-d", service, vip, "-r", mb.server_args(rs, family)[1]});
  if (!f.require(del.ok(), "-d refused: " + del.output)) return;
  auto s = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port(), other_client(30));
  bed.client().port->send(s);
  mb.barrier(family);
  if (!f.require(mb.server_reached(s, 0ms) != rs,
                 fmt::format("a new connection reached removed rs{}", rs)))
    return;
  // Spec 2: the removed server's connection is still there, its packets dropped.
  auto again = mb.tcp_in(family, Tins::TCP::ACK, cport, "", 1001, 1);
  bed.client().port->send(again);
  mb.barrier(family);
  const int reached = mb.server_reached(again, 0ms, false);
  if (!f.require(reached == 0, fmt::format("a packet of removed rs{}'s connection reached rs{} "
                                           "where the spec drops it",
                                           rs, reached)))
    return;
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms),
          fmt::format("after a packet of removed rs{}'s connection", rs));
}

}  // namespace vslab::matrix::kinds
