// One data port of the director: a TPACKET_V2 RX ring and a TPACKET_V2 TX ring on an
// AF_PACKET socket each, with PACKET_QDISC_BYPASS. Each received frame is handed over by the
// kernel as soon as it is written (io/rx_ring.h: no block timer to wait for), and frames are
// read in batches of what is ready and written in batches: one send() per batch, not per
// frame. A model of DataPort (io/port.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/flow_steering.h"
#include "io/port.h"
#include "io/rx_ring.h"
#include "net/addr.h"

namespace vsd {

class PacketSocket {
 public:
  // The most frames one drain() takes: what was ready when it looked, up to this.
  static constexpr uint32_t kDrainBatch = 256;
  // The RX ring's size: a slot per frame, whatever its size (2 KiB at a 1500-byte MTU), so
  // 16384 slots there, about 25 ms of a 64-byte flood at full speed here, or 130 ms of the
  // ARP flood of vsd_arp_flood_test while the thread waits for its core.
  static constexpr uint32_t kRxRingBytes = 32u << 20;
  static constexpr uint32_t kStreamAhead = 8;  // see drain()

  // Opens both rings on the interface (in the calling thread's namespace). Throws
  // std::runtime_error naming the interface and the failing call.
  PacketSocket(const std::string& ifname, uint32_t mtu);
  ~PacketSocket();
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  const std::string& name() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  Mac mac() const { return mac_; }
  uint32_t mtu() const { return mtu_; }
  int rx_fd() const { return rx_.fd(); }
  // Whether a received frame is waiting: one load from the ring, no system call.
  bool rx_ready() const { return rx_.ready(); }

  // Calls on_frame(std::span<uint8_t>, bool vlan_tagged) for every frame that was ready when
  // it looked, kDrainBatch at most (a tag arrives as metadata, not in the bytes), handing each
  // slot back to the kernel once its frame is handled. The span points into the ring: it may
  // be rewritten in place and is valid only during the call. A frame the kernel had to cut to
  // fit its slot is counted (rx_too_big) and not handed on. Returns the number of frames: 0
  // when none was ready.
  //
  // One batch per call, however many are ready: under a flood the ring never runs dry, and
  // the caller's other ports, timers, control requests and TX flushes get their turn between
  // two batches instead of waiting for the flood to end.
  template <class OnFrame>
  std::size_t drain(OnFrame&& on_frame) {
    return drain(on_frame, [](std::span<const uint8_t>, LookAhead) {});
  }
  // The same, and calls look_ahead(frame, stage) kLookAheadDistance[stage] frames before
  // on_frame reaches that frame, for each LookAhead stage (io/port.h), so that what handling
  // it will read can be loaded step by step while the frames before it are handled.
  template <class OnFrame, class OnLookAhead>
  std::size_t drain(OnFrame&& on_frame, OnLookAhead&& look_ahead);

  // Copies a frame into the next free TX slot; false (and counted) when none is free.
  bool queue(std::span<const uint8_t> frame);
  // Asks the kernel to send what is queued.
  void flush();

  // vsd --workers: makes the port's fanout group of this RX ring, steered by the program
  // (io/flow_steering.h), and returns its id; joins another worker's ring to it; replaces the
  // group's program. Throw std::runtime_error.
  uint16_t make_fanout(std::span<const sock_filter> program);
  void join_fanout(uint16_t group);
  void set_fanout_program(std::span<const sock_filter> program);

  PortCounters& counters() { return counters_; }
  // Adds what the kernel dropped at the RX ring since the last call to
  // counters().rx_ring_drops (PACKET_STATISTICS, which resets as it is read). A system call:
  // for the counters op, not per frame.
  void collect_rx_ring_drops();

 private:
  uint8_t* free_tx_slot();

  std::string ifname_;
  int ifindex_ = 0;
  Mac mac_;
  uint32_t mtu_ = 1500;
  RxFrameRing rx_;
  vslab::os::UniqueFd tx_fd_;
  vslab::os::MemoryMap tx_ring_;
  // tx_ring_'s memory, as the per-packet code reads it.
  uint8_t* tx_map_ = nullptr;
  uint32_t tx_frame_size_ = 0, tx_frame_count_ = 0, tx_slot_ = 0;
  uint32_t tx_pending_ = 0;
  // Each TX slot starts with a virtio_net_hdr whose hdr_len covers the frame, so the kernel
  // copies the whole frame into the skb's linear part. Without it the payload rides as a
  // zero-copy fragment of the ring's page, which veth copies into a freshly allocated page
  // per frame (skb_copy_ubufs: 8-9 % of vsd's CPU at 64 bytes, perf/README.md). 0 where the
  // kernel refuses PACKET_VNET_HDR.
  uint32_t tx_vnet_bytes_ = 0;
  PortCounters counters_;
};

static_assert(DataPort<PacketSocket>);

}  // namespace vsd

#include "io/packet_socket_inl.h"
