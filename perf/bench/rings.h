// AF_PACKET rings for the load generator, the sink and the bounce forwarder of `vslab bench`:
// a TPACKET_V2 TX ring with PACKET_QDISC_BYPASS (docs/benchmarking.md) and the sink's
// TPACKET_V3 RX ring, which counts by blocks (the bounce receives on vsd's own TPACKET_V2
// ring, io/rx_ring.h). Opened in the calling thread's network namespace; RAII.
#pragma once
#include <cstring>

#include <linux/if_packet.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "io/rx_ring.h"
#include "io/vnet_header.h"
#include "net/addr.h"
#include "os/memory_map.h"
#include "os/unique_fd.h"

namespace vslab::bench {

// The MAC of an interface of the calling thread's namespace; throws naming it.
vsd::Mac interface_mac(const std::string& ifname);

class TxRing {
 public:
  // `slots` frames of at most `max_frame` bytes each. SO_SNDBUFFORCE keeps skbs in flight on
  // another core from stalling the ring (a lesson of the generator in docs/benchmarking.md).
  // Each slot starts with a virtio_net_hdr covering the whole frame (io/vnet_header.h), as
  // vsd's PacketSocket's do.
  TxRing(const std::string& ifname, uint32_t max_frame, uint32_t slots);
  ~TxRing();
  TxRing(const TxRing&) = delete;
  TxRing& operator=(const TxRing&) = delete;

  uint32_t slots() const { return slots_; }
  // The bytes one slot takes for frames of at most `max_frame` bytes.
  static uint32_t slot_bytes(uint32_t max_frame) {
    uint32_t bytes = 128;
    while (bytes < kDataOffset + kVnetBytes + max_frame) bytes <<= 1;
    return bytes;
  }
  uint8_t* data(uint32_t slot) { return header(slot) + kDataOffset + kVnetBytes; }
  bool is_free(uint32_t slot) {
    return __atomic_load_n(&hdr(slot)->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_AVAILABLE;
  }
  void submit(uint32_t slot, uint32_t length) {
    vsd::write_vnet_header(header(slot) + kDataOffset, length);
    hdr(slot)->tp_len = length + kVnetBytes;
    __atomic_store_n(&hdr(slot)->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
  }
  // Hands what is submitted to the kernel without blocking; false when it refused (EAGAIN).
  bool kick();
  int fd() const { return fd_.get(); }

  static constexpr uint32_t kDataOffset = TPACKET_ALIGN(sizeof(tpacket2_hdr));
  static constexpr uint32_t kVnetBytes = vsd::kVnetHeaderBytes;

 private:
  uint8_t* header(uint32_t slot) { return map_ + std::size_t(slot) * slot_size_; }
  tpacket2_hdr* hdr(uint32_t slot) { return reinterpret_cast<tpacket2_hdr*>(header(slot)); }

  os::UniqueFd fd_;
  os::MemoryMap ring_;
  uint8_t* map_ = nullptr;  // ring_'s memory, as the per-frame code reads it
  uint32_t slot_size_ = 0, slots_ = 0;
};

class RxRing {
 public:
  // Blocks of 256 KiB, handed over when full or after `retire_ms`.
  RxRing(const std::string& ifname, uint32_t blocks, uint32_t retire_ms);
  ~RxRing();
  RxRing(const RxRing&) = delete;
  RxRing& operator=(const RxRing&) = delete;

  // The next block the kernel has filled, or nullptr.
  tpacket_block_desc* ready_block() {
    auto* b = block(next_);
    return (__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? b
                                                                                          : nullptr;
  }
  void release_block() {
    __atomic_store_n(&block(next_)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    next_ = next_ + 1 == blocks_ ? 0 : next_ + 1;
  }
  // Calls on_frame(const tpacket3_hdr&, uint8_t* frame) for every frame of a block.
  template <class OnFrame>
  static void for_each_frame(tpacket_block_desc* b, OnFrame&& on_frame) {
    auto* at = reinterpret_cast<uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt;
    for (uint32_t i = 0; i < b->hdr.bh1.num_pkts; ++i) {
      auto* h = reinterpret_cast<tpacket3_hdr*>(at);
      on_frame(*h, at + h->tp_mac);
      at += h->tp_next_offset;
    }
  }
  // Waits up to timeout_ms for a block; false when none came.
  bool wait(int timeout_ms);
  // Frames the kernel dropped because the ring was full, since the last call.
  uint64_t take_drops();
  int fd() const { return rx_.fd.get(); }

 private:
  tpacket_block_desc* block(uint32_t i) {
    return reinterpret_cast<tpacket_block_desc*>(map_ + std::size_t(i) * kBlockSize);
  }
  static constexpr uint32_t kBlockSize = 1u << 18;

  vsd::RxRingSocket rx_;
  uint8_t* map_ = nullptr;  // rx_.ring's memory, as the per-frame code reads it
  uint32_t blocks_ = 0, next_ = 0;
};

// Pins the calling thread to one core.
void pin_to_core(int core);

}  // namespace vslab::bench
