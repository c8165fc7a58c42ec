// What the tests and benchmarks of the data plane over memory ports share
// (vsd/dataplane_test.cpp, perf/micro/path_bench.cpp): the director between clients behind a
// router and the real servers, and frames handed to the data plane as vsd's loop hands them.
#pragma once

#include <algorithm>
#include <cstddef>

#include "io/packet_socket.h"
#include "io/routes.h"
#include "net/addr.h"

namespace vsd {

// ext 10.0.0.1/24, the clients behind the router 10.0.0.254 (the default route);
// int 192.168.1.1/24, the real servers.
inline RoutingTable two_port_routes() {
  auto ip = [](const char* text) { return *Ipv4::parse(text); };
  RoutingTable r;
  r.add_address({"ext", ip("10.0.0.1"), 24});
  r.add_address({"int", ip("192.168.1.1"), 24});
  r.add_route({"ext", ip("10.0.0.0"), ip("255.255.255.0"), Ipv4{}, 0});
  r.add_route({"int", ip("192.168.1.0"), ip("255.255.255.0"), Ipv4{}, 0});
  r.add_route({"ext", Ipv4{}, Ipv4{}, ip("10.0.0.254"), 0});
  return r;
}

// `count` frames handed to the data plane as PacketSocket::drain hands a block's frames to
// vsd's loop (vsd/main.cpp), with the same cursors ahead: prefetch(frame, stage)
// kLookAheadDistance[stage] frames before handle(frame), for each LookAhead stage. Never
// inlined, so that callgrind can count it by name (perf/README.md).
template <class Dataplane, class FrameAt>
[[gnu::noinline]] void handle_with_look_ahead(Dataplane& dp, std::size_t port, std::size_t count,
                                              FrameAt&& frame_at) {
  for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
    for (std::size_t i = 0; i < std::min(kLookAheadDistance[stage], count); ++i)
      dp.prefetch(frame_at(i), LookAhead(stage));
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
      if (i + kLookAheadDistance[stage] < count)
        dp.prefetch(frame_at(i + kLookAheadDistance[stage]), LookAhead(stage));
    dp.handle(port, frame_at(i));
  }
}

}  // namespace vsd
