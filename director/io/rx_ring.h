// The TPACKET_V3 RX ring of an AF_PACKET socket, set up one way for vsd's ports (io/
// packet_socket.h) and for vslab bench's sink and bounce forwarder (perf/bench/rings.h), so
// that the two measure and forward through the same ring.
#pragma once

#include <cstdint>
#include <string>

#include "os/memory_map.h"
#include "os/unique_fd.h"

namespace vsd {

struct RxRingShape {
  uint32_t block_bytes = 1u << 18;  // a block is what one drain takes
  uint32_t block_count = 32;
  uint32_t retire_ms = 1;  // a block is handed over when full or after this long
};

// The socket and its mapped ring; the ring is unmapped before the socket closes.
struct RxRingSocket {
  vslab::os::UniqueFd fd;
  vslab::os::MemoryMap ring;
};

// Opens the ring on one interface of the calling thread's namespace: a TPACKET_V3 socket with
// PACKET_IGNORE_OUTGOING (frames this host sends, its own TX rings' included, are not
// received), the ring mapped, then bound to the interface for every protocol. Throws
// std::runtime_error "CONTEXT: STEP: reason".
RxRingSocket open_rx_ring(int ifindex, const RxRingShape& shape, const std::string& context);

}  // namespace vsd
