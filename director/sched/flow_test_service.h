// For the tests of schedulers that key on the connection (dh, sh, mh, lblc, lblcr): flows
// from a client, port and VIP to hand to TestService::pick. Real servers are named by number
// as in test_service.h: rs n is 10.0.0.n:80.
#pragma once

#include <cstdint>

#include "sched/scheduler.h"
#include "sched/test_service.h"

namespace vsd::sched_test {

inline FlowKey tcp_from(Ipv4 client, uint16_t port = 40000,
                        Ipv4 vip = Ipv4::from_octets(10, 9, 9, 7)) {
  return FlowKey{Proto::Tcp, Endpoint{client, port}, Endpoint{vip, 80}};
}

inline FlowKey tcp_to(Ipv4 vip) {
  return tcp_from(Ipv4::from_octets(10, 1, 1, 1), 40000, vip);
}

// TestService takes the flow and the -b flags these schedulers need.
using FlowService = TestService;

}  // namespace vsd::sched_test
