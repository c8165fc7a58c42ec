// The scheduler kind: successive new connections reach the servers the row's scheduler picks
// (spec 6), checked exactly where the spec fixes the sequence and by key elsewhere.
#include <map>
#include <string>

#include <fmt/format.h>

#include "dut/schedulers.h"
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// Deterministic schedulers: weights of rs1..rs3 and the servers successive new connections
// (SYN-only, so they stay active: spec 5) reach, derived from spec 6 (scan order rs3, rs2,
// rs1; the same derivations as conformance/scheduler_test.cpp, which shows the working).
struct Sequence {
  std::vector<int> weights;
  std::vector<int> servers;
};
const std::map<std::string_view, Sequence>& sequences() {
  static const std::map<std::string_view, Sequence> all{
      {"rr", {{1, 1, 1}, {3, 2, 1, 3, 2, 1}}},
      {"wrr", {{4, 3, 2}, {3, 2, 1, 1, 2, 1, 3, 2, 1}}},
      {"lc", {{1, 1, 1}, {3, 2, 1, 3, 2, 1}}},
      {"wlc", {{1, 2, 0}, {2, 1, 2, 2, 1, 2, 2, 1, 2}}},
      {"sed", {{3, 1, 0}, {1, 1, 2, 1, 1, 1, 2}}},
      {"nq", {{3, 1, 0}, {2, 1, 1, 1, 1, 1, 2}}},
      {"fo", {{3, 3, 1}, {2, 2, 2, 2}}},
      {"ovf", {{2, 2, 1}, {2, 2, 2, 1, 1, 1, 3, 3}}},
  };
  return all;
}

}  // namespace

void scheduler(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  if (auto it = sequences().find(c.scheduler); it != sequences().end()) {
    // A weight of 0 here means "not added": wlc, sed and nq use two servers.
    std::vector<int> weights;
    for (int w : it->second.weights)
      if (w > 0) weights.push_back(w);
    bed.restore(mb.rules(Proto::Tcp, c.scheduler, weights));
    const auto& want = it->second.servers;
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s, false);
      // The journal (a failure's case file) holds what the spec wants, met or not.
      bed.checker().record(*bed.rs(want[i]).port, mb.at_real_server(syn, want[i]), got == want[i]);
      if (!f.require(got == want[i],
                     fmt::format("connection {} reached rs{} where the spec says rs{}", i + 1, got,
                                 want[i])))
        return;
    }
    return;
  }
  // Hashing and locality schedulers: each key keeps its server (sh, mh: the client address;
  // dh, lblc, lblcr: the VIP), and every connection is scheduled somewhere (all weights 1).
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  for (int client = 10; client < 16; ++client) {
    const std::string addr = fmt::format("10.10.0.{}", client);
    int first = 0;
    for (int k = 0; k < 2; ++k) {
      auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(), addr);
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s);
      if (!f.require(got != 0, addr + ": connection reached no real server")) return;
      if (k == 0) first = got;
      if (c.scheduler != dut::kTwosScheduler &&
          !f.require(got == first, fmt::format("{}: rs{} then rs{}", addr, first, got)))
        return;
    }
  }
}

}  // namespace vslab::matrix::kinds
