// The virtio_net_hdr in front of each frame of a TX ring with PACKET_VNET_HDR: no offload asked
// for (flags 0, GSO none) and hdr_len covering the whole frame, so that the kernel copies the
// frame into the skb's linear part instead of leaving it a zero-copy page fragment, which veth
// then copies into a new page per frame. vsd's PacketSocket and vslab bench's TxRing write it.
#pragma once

#include <cstdint>
#include <cstring>

namespace vsd {

inline constexpr uint32_t kVnetHeaderBytes = 10;  // struct virtio_net_hdr

inline void write_vnet_header(uint8_t* at, uint32_t frame_bytes) {
  std::memset(at, 0, kVnetHeaderBytes);
  // hdr_len, little-endian as virtio 1.0 has it.
  at[2] = static_cast<uint8_t>(frame_bytes & 0xff);
  at[3] = static_cast<uint8_t>(frame_bytes >> 8);
}

}  // namespace vsd
