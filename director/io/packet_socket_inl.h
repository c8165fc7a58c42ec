// The per-frame part of PacketSocket, inline: it runs for every frame.
#pragma once

#include <linux/if_packet.h>

#include <algorithm>
#include <array>

namespace vsd {

// GCC's __builtin_prefetch(p, 1) is a plain read prefetch unless the whole build targets a
// CPU with PREFETCHW, so the instruction is issued directly (older x86 CPUs without it run it
// as a NOP).
inline void prefetch_to_write(const uint8_t* line) {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*line));
#else
  __builtin_prefetch(line, 1);
#endif
}

template <class OnFrame, class OnLookAhead>
std::size_t PacketSocket::drain(OnFrame&& on_frame, OnLookAhead&& look_ahead) {
  uint8_t* block = ready_block();
  if (block == nullptr) return 0;
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  const uint32_t count = desc->hdr.bh1.num_pkts;
  uint8_t* at = block + desc->hdr.bh1.offset_to_first_pkt;
  // One more cursor per look-ahead stage, its distance ahead of the frame being handled.
  struct Cursor {
    uint8_t* at;
    uint32_t index = 0;
  };
  std::array<Cursor, kLookAheadStages> ahead;
  ahead.fill(Cursor{at});
  auto step = [&](std::size_t stage) {
    Cursor& c = ahead[stage];
    auto* h = reinterpret_cast<tpacket3_hdr*>(c.at);
    look_ahead(std::span<const uint8_t>(c.at + h->tp_mac, h->tp_snaplen), LookAhead(stage));
    c.at += h->tp_next_offset;
    ++c.index;
  };
  for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
    while (ahead[stage].index < count && ahead[stage].index < kLookAheadDistance[stage])
      step(stage);
  // The block's lines are loaded kStreamAhead bytes before the first stage reads them, owned
  // for writing. The kernel wrote them from the other core, and the hardware's stream prefetch
  // stops at every 4 KiB page of the mapping, so each page's first frames would wait for
  // memory; a line read first and written later (the rewrite in place) would cross between
  // the cores twice.
  const uint8_t* block_end = block + rx_block_size_;
  const uint8_t* streamed = at;
  auto stream_to = [&](const uint8_t* until) {
    for (until = std::min(until, block_end); streamed < until; streamed += 64)
      prefetch_to_write(streamed);
  };
  for (uint32_t i = 0; i < count; ++i) {
    stream_to(ahead[0].at + kStreamAhead);
    for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
      if (ahead[stage].index < count) step(stage);
    auto* hdr = reinterpret_cast<tpacket3_hdr*>(at);
    const auto* link = reinterpret_cast<const sockaddr_ll*>(at + TPACKET_ALIGN(sizeof *hdr));
    if (link->sll_pkttype == PACKET_OTHERHOST) {
      counters_.rx_other_host++;
      at += hdr->tp_next_offset;
      continue;
    }
    std::span<uint8_t> frame(at + hdr->tp_mac, hdr->tp_snaplen);
    counters_.rx_frames++;
    counters_.rx_bytes += frame.size();
    // The kernel takes an 802.1Q tag off the frame before the tap and reports it here.
    bool vlan_tagged = (hdr->tp_status & TP_STATUS_VLAN_VALID) != 0;
    on_frame(frame, vlan_tagged);
    at += hdr->tp_next_offset;
  }
  release_block();
  return count;
}

}  // namespace vsd
