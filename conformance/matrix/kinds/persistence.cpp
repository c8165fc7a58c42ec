// The persistence kind: with -p, a client's later connections follow its first (spec 7).
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

void persistence(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "-p 60"));
  // Spec 7: a template (proto, CIP, VIP:vport) sends every new connection of the client to the
  // server of its first, whatever the scheduler would pick.
  int first = 0;
  for (int i = 0; i < 4; ++i) {
    auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
    int got = forwarded(mb, syn, f, fmt::format("connection {}", i + 1));
    if (got == 0) return;
    if (i == 0) first = got;
    if (!f.require(got == first, fmt::format("connection {} reached rs{}, the template says rs{}",
                                             i + 1, got, first)))
      return;
  }
}

}  // namespace vslab::matrix::kinds
