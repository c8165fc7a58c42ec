// The thresholds kind: a server at its upper threshold (-x) gets no further connection
// (spec 8), except from lblc, which gives the server it recorded for the VIP new connections
// while its active ones do not exceed its weight, flag or not (spec 6, as Linux 6.1 does).
#include <map>
#include <vector>

#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void thresholds(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, {1, 1, 1}, "", "-x 1"));
  // Spec 8: with -x 1 a server holding one connection is overloaded; no scheduler may give it
  // a second while the first lasts (SYN-only connections stay). lblc's recorded server takes
  // one more (active 1 is not above weight 1) before lblc moves on: two each, in pairs.
  const bool recorded_server_takes_two = c.scheduler == "lblc";
  const int most_per_server = recorded_server_takes_two ? 2 : 1;
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 6; ++i) {
    syns.push_back(mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(),
                                      fmt::format("10.10.0.{}", 40 + i)));
    bed.client().port->send(syns.back());
  }
  mb.barrier();
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
