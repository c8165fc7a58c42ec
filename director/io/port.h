// What the data plane needs of a data port, as a concept rather than a base class: the
// pipeline (vsd/dataplane.h) is a template over it, so a frame queued for transmit costs a
// direct call into the port, never a virtual one. PacketSocket (AF_PACKET rings) is the port
// vsd runs on; MemoryPort (io/memory_port.h) keeps what is sent in memory for benchmarks and
// tests. An AF_XDP port for real NICs would be a third model of the same concept.
//
// Receiving is the caller's loop, not the data plane's: each port hands its frames to
// Dataplane::handle however it gets them (PacketSocket::drain walks its RX ring).
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>

#include "net/addr.h"

namespace vsd {

struct PortCounters {
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_ring_full = 0;  // frames dropped because the TX ring had no free slot
  uint64_t tx_too_big = 0;    // frames larger than a TX slot
};

template <class P>
concept DataPort = requires(P& port, const P& const_port, std::span<const uint8_t> frame) {
  { const_port.name() } -> std::convertible_to<const std::string&>;
  { const_port.mac() } -> std::same_as<Mac>;
  { const_port.mtu() } -> std::same_as<uint32_t>;
  // Copies the frame into the next free transmit slot; false (and counted) when none is free.
  { port.queue(frame) } -> std::same_as<bool>;
  // Hands what is queued to the wire; once per batch.
  port.flush();
  { port.counters() } -> std::same_as<PortCounters&>;
};

}  // namespace vsd
