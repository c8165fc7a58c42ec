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
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "net/addr.h"

namespace vsd {

// The data plane's look-ahead over a batch of received frames (Dataplane::prefetch): each
// frame is looked at three times before it is handled, and each step starts loading what the
// next one reads, so that a lookup in a table far larger than the cache finds its lines there.
enum class LookAhead : uint8_t {
  Bucket,  // hash the key, load its bucket
  Entry,   // load the entry the bucket points to
  Chain,   // load the next entry of the chain when the first is another connection's
};
inline constexpr std::size_t kLookAheadStages = 3;
// How many frames before its handle() a frame gets each step, by LookAhead.
inline constexpr std::size_t kLookAheadDistance[kLookAheadStages] = {6, 4, 2};
// Each step reads what the one before started loading, so each comes nearer the frame.
static_assert(kLookAheadDistance[0] > kLookAheadDistance[1] &&
              kLookAheadDistance[1] > kLookAheadDistance[2]);

struct PortCounters {
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_ring_full = 0;   // frames dropped because the TX ring had no free slot
  uint64_t tx_too_big = 0;     // frames larger than a TX slot
  uint64_t rx_ring_drops = 0;  // frames the kernel dropped for want of room in the RX ring
  // Frames for another host's MAC (a switch flooding a unicast frame it has not learnt):
  // never the director's to forward, as ip_rcv drops PACKET_OTHERHOST.
  uint64_t rx_other_host = 0;
  uint64_t rx_too_big = 0;  // frames cut by the kernel to fit an RX slot: dropped
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
