// A data port without a socket: what the data plane queues for transmit is copied into slots
// in memory, as PacketSocket copies it into its TX ring, and stays there until clear(). For
// the per-packet benchmarks (perf/micro) and tests that drive Dataplane::handle directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "io/port.h"
#include "net/addr.h"

namespace vsd {

class MemoryPort {
 public:
  // `slots` frames of up to `slot_size` bytes each can be queued before clear().
  MemoryPort(std::string name, Mac mac, uint32_t mtu = 1500, std::size_t slots = 256,
             std::size_t slot_size = 2048)
      : name_(std::move(name)),
        mac_(mac),
        mtu_(mtu),
        slot_size_(slot_size),
        memory_(slots * slot_size),
        lengths_(slots) {}

  const std::string& name() const { return name_; }
  Mac mac() const { return mac_; }
  uint32_t mtu() const { return mtu_; }

  bool queue(std::span<const uint8_t> frame) {
    if (frame.size() > slot_size_) {
      counters_.tx_too_big++;
      return false;
    }
    if (queued_ == lengths_.size()) {
      counters_.tx_ring_full++;
      return false;
    }
    std::memcpy(memory_.data() + queued_ * slot_size_, frame.data(), frame.size());
    lengths_[queued_++] = frame.size();
    counters_.tx_frames++;
    counters_.tx_bytes += frame.size();
    return true;
  }
  void flush() { ++flushes_; }

  // The frames queued since the last clear(), in order.
  std::size_t sent_count() const { return queued_; }
  std::span<const uint8_t> sent(std::size_t i) const {
    return {memory_.data() + i * slot_size_, lengths_[i]};
  }
  void clear() { queued_ = 0; }
  uint64_t flushes() const { return flushes_; }

  PortCounters& counters() { return counters_; }

 private:
  std::string name_;
  Mac mac_;
  uint32_t mtu_;
  std::size_t slot_size_;
  std::vector<uint8_t> memory_;
  std::vector<std::size_t> lengths_;
  std::size_t queued_ = 0;
  uint64_t flushes_ = 0;
  PortCounters counters_;
};

static_assert(DataPort<MemoryPort>);

}  // namespace vsd
