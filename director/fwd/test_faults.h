// Forwarding bugs made on purpose, for the conformance suite's self-test: a suite that still
// passes a director with one of these switched on is not checking that field. Only vsd's
// --test-fault option sets them (vsd/fault_switch.h), once, before the first frame; nothing
// on the control socket can. Not part of the product.
#pragma once

#include <cstdint>

namespace vsd::fwd {

struct TestFaults {
  // What a hop takes off the TTL: 1, or 0 for a director that forgets the router's decrement.
  // A number the elements subtract, not a flag they test, so that the per-packet path gains
  // no branch for it.
  uint8_t ttl_decrement = 1;
  // NAT replies keep the real server's address as their source instead of getting the VIP's.
  bool keep_nat_reply_source = false;
};

// Global because the fault is the process's, as its command line is, and a parameter through
// every rewrite would cost the product's signatures for a test's sake.
inline constinit TestFaults test_faults{};

}  // namespace vsd::fwd
