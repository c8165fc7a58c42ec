// The per-frame part of PacketSocket, inline: it runs for every frame.
#pragma once

#include <linux/if_packet.h>

namespace vsd {

template <class OnFrame, class LookAhead>
std::size_t PacketSocket::drain(OnFrame&& on_frame, LookAhead&& look_ahead) {
  std::size_t frames = 0;
  while (uint8_t* block = ready_block()) {
    auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
    uint32_t count = desc->hdr.bh1.num_pkts;
    uint8_t* at = block + desc->hdr.bh1.offset_to_first_pkt;
    // A second cursor kLookAhead frames ahead of the one being handled.
    uint8_t* ahead = at;
    uint32_t ahead_index = 0;
    auto step_ahead = [&] {
      auto* h = reinterpret_cast<tpacket3_hdr*>(ahead);
      look_ahead(std::span<const uint8_t>(ahead + h->tp_mac, h->tp_snaplen));
      ahead += h->tp_next_offset;
      ++ahead_index;
    };
    while (ahead_index < count && ahead_index < kLookAhead) step_ahead();
    for (uint32_t i = 0; i < count; ++i) {
      if (ahead_index < count) step_ahead();
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
