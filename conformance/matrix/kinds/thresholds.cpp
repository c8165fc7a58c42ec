// The thresholds kind: a server at its upper threshold (-x) gets no further connection
// (spec 8).
#include <map>

#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void thresholds(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, {1, 1, 1}, "", "-x 1"));
  // Spec 8: with -x 1 a server holding one connection is overloaded; no scheduler may give it
  // a second while the first lasts (SYN-only connections stay).
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 6; ++i) {
    syns.push_back(mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(),
                                      fmt::format("10.10.0.{}", 40 + i)));
    bed.client().port->send(syns.back());
  }
  mb.barrier();
  std::map<int, int> per_server;
  for (const auto& s : syns) {
    int got = mb.server_reached(s, 0ms);
    if (got == 0) continue;
    if (!f.require(++per_server[got] <= 1,
                   fmt::format("rs{} got a second connection above its upper threshold 1", got)))
      return;
  }
  f.require(!per_server.empty(), "no connection was scheduled at all");
}

}  // namespace vslab::matrix::kinds
