// The RX rings of AF_PACKET sockets, set up one way for vsd's ports (io/packet_socket.h) and
// for vslab bench's bounce forwarder and sink (perf/bench/rings.h), so that they measure and
// forward through the same rings.
//
// Two kinds. A TPACKET_V2 ring (RxFrameRing) hands each frame over as soon as the kernel has
// written it: its status word is per frame, and poll() wakes on it. vsd and the bounce
// forwarder receive on it, so a frame at light load waits for nobody. A TPACKET_V3 ring
// (open_block_ring) hands frames over a block at a time, when the block is full or its timer
// (at least 1 ms) retires it: fewer wake-ups, but at light load every frame waits for the
// timer (perf/README.md, "Latency"). Only the bench's sink, which reads the kernel's receive
// time stamps and counts, still uses it.
#pragma once

#include <linux/if_packet.h>

#include <cstdint>
#include <string>

#include "os/memory_map.h"
#include "os/unique_fd.h"

namespace vsd {

// The socket and its mapped ring; the ring is unmapped before the socket closes.
struct RxRingSocket {
  vslab::os::UniqueFd fd;
  vslab::os::MemoryMap ring;
};

struct RxBlockRingShape {
  uint32_t block_bytes = 1u << 18;
  uint32_t block_count = 32;
  uint32_t retire_ms = 1;  // a block is handed over when full or after this long
};

// Opens a TPACKET_V3 ring on one interface of the calling thread's namespace, with
// PACKET_IGNORE_OUTGOING (frames this host sends, its own TX rings' included, are not
// received), the ring mapped, then bound to the interface for every protocol. Throws
// std::runtime_error "CONTEXT: STEP: reason".
RxRingSocket open_block_ring(int ifindex, const RxBlockRingShape& shape,
                             const std::string& context);

// A TPACKET_V2 RX ring: a slot per frame, each with its own status, walked in order. Slots are
// handed back one by one, as soon as their frame is handled.
class RxFrameRing {
 public:
  // The slot size that holds a whole frame of an interface with this MTU (802.1Q tag
  // included, which the kernel takes off into the header anyway), after the kernel's header.
  static constexpr uint32_t slot_bytes_for(uint32_t mtu) {
    // The kernel puts the frame at TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14 (the network
    // header aligned), and cuts one that would run past its slot.
    const uint32_t need = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + mtu + 4;
    uint32_t bytes = 2048;
    while (bytes < need) bytes <<= 1;
    return bytes;
  }

  // Opens the ring as open_block_ring does, with `slots` slots of slot_bytes_for(mtu).
  // Throws std::runtime_error "CONTEXT: STEP: reason".
  RxFrameRing(int ifindex, uint32_t mtu, uint32_t slots, const std::string& context);
  RxFrameRing(const RxFrameRing&) = delete;
  RxFrameRing& operator=(const RxFrameRing&) = delete;
  ~RxFrameRing();

  int fd() const { return socket_.fd.get(); }
  uint32_t slots() const { return slots_; }

  // The header of the slot `ahead` places after the next one to handle.
  tpacket2_hdr* header(uint32_t ahead) const {
    uint32_t i = next_ + ahead;
    if (i >= slots_) i -= slots_;
    return reinterpret_cast<tpacket2_hdr*>(map_ + std::size_t(i) * slot_bytes_);
  }
  static bool is_ready(const tpacket2_hdr* h) {
    return (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
  }
  // Whether the kernel has handed over the next frame: one load, no system call (the idle
  // spin of vsd's loop and the bounce's).
  bool ready() const { return is_ready(header(0)); }
  static uint8_t* frame_of(tpacket2_hdr* h) { return reinterpret_cast<uint8_t*>(h) + h->tp_mac; }
  // Hands the next slot back to the kernel and moves on to the one after it.
  void release() {
    __atomic_store_n(&header(0)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    next_ = next_ + 1 == slots_ ? 0 : next_ + 1;
  }
  // Frames the kernel dropped because no slot was free, since the last call (a system call).
  uint64_t take_drops();

 private:
  RxRingSocket socket_;
  uint8_t* map_ = nullptr;  // socket_.ring's memory, as the per-frame code reads it
  uint32_t slot_bytes_ = 0, slots_ = 0, next_ = 0;
};

}  // namespace vsd
