// The per-frame part of PacketSocket, inline: it runs for every frame.
#pragma once

#include <linux/if_packet.h>

namespace vsd {

template <class OnFrame, class OnLookAhead>
std::size_t PacketSocket::drain(OnFrame&& on_frame, OnLookAhead&& look_ahead) {
  std::size_t frames = 0;
  while (uint8_t* block = ready_block()) {
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    uint32_t count = desc->hdr.bh1.num_pkts;
    uint8_t* at = block + desc->hdr.bh1.offset_to_first_pkt;
    // Two more cursors, kFar and kNear frames ahead of the one being handled.
    struct Cursor {
      uint8_t* at;
      uint32_t index = 0;
    } far{at}, near{at};
    auto step = [&](Cursor& c, LookAhead which) {
      auto* h = reinterpret_cast<tpacket3_hdr*>(c.at);
      look_ahead(std::span<const uint8_t>(c.at + h->tp_mac, h->tp_snaplen), which);
      c.at += h->tp_next_offset;
      ++c.index;
    };
    while (far.index < count && far.index < kFar) step(far, LookAhead::Far);
    while (near.index < count && near.index < kNear) step(near, LookAhead::Near);
    for (uint32_t i = 0; i < count; ++i) {
      if (far.index < count) step(far, LookAhead::Far);
      if (near.index < count) step(near, LookAhead::Near);
      auto* hdr = reinterpret_cast<tpacket3_hdr*>(at);
      std::span<uint8_t> frame(at + hdr->tp_mac, hdr->tp_snaplen);
      counters_.rx_frames++;
      counters_.rx_bytes += frame.size();
      // The kernel takes an 802.1Q tag off the frame before the tap and reports it here.
      bool vlan_tagged = (hdr->tp_status & TP_STATUS_VLAN_VALID) != 0;
      on_frame(frame, vlan_tagged);
      ++frames;
      at += hdr->tp_next_offset;
    }
    release_block();
  }
  return frames;
}

}  // namespace vsd
