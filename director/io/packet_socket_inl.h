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
  // The frames ready now. Each status is its slot's first line, written by the kernel on the
  // other core; the loads are independent, so they overlap.
  uint32_t count = 0;
  while (count < kDrainBatch && RxFrameRing::is_ready(rx_.header(count))) ++count;
  if (count == 0) return 0;
  // Frame i is rx_.header(i - handled) once `handled` slots are handed back.
  uint32_t handled = 0;
  auto frame_at = [&](uint32_t i) {
    tpacket2_hdr* h = rx_.header(i - handled);
    return std::span<const uint8_t>(RxFrameRing::frame_of(h), h->tp_snaplen);
  };
  // One more cursor per look-ahead stage, its distance ahead of the frame being handled.
  std::array<uint32_t, kLookAheadStages> ahead{};
  auto step = [&](std::size_t stage) {
    look_ahead(frame_at(ahead[stage]), LookAhead(stage));
    ++ahead[stage];
  };
  for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
    while (ahead[stage] < count && ahead[stage] < kLookAheadDistance[stage]) step(stage);
  // A slot's first lines (its status, then the frame's headers) are loaded kStreamAhead frames
  // before it is handled, owned for writing: the kernel wrote them from the other core, and
  // the slot is written twice here (a rewrite in place, then its status).
  uint32_t streamed = 0;
  auto stream_to = [&](uint32_t until) {
    for (until = std::min(until, count); streamed < until; ++streamed) {
      const auto* slot = reinterpret_cast<const uint8_t*>(rx_.header(streamed - handled));
      prefetch_to_write(slot);
      prefetch_to_write(slot + 64);
      prefetch_to_write(slot + 128);
    }
  };
  for (; handled < count;) {
    stream_to(handled + kStreamAhead);
    for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
      if (ahead[stage] < count) step(stage);
    tpacket2_hdr* hdr = rx_.header(0);
    const auto* link = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const uint8_t*>(hdr) +
                                                            TPACKET_ALIGN(sizeof(tpacket2_hdr)));
    if (link->sll_pkttype == PACKET_OTHERHOST) {
      // Another host's MAC (a switch flooding a unicast frame it has not learnt): never the
      // director's to forward, as ip_rcv drops PACKET_OTHERHOST.
      counters_.rx_other_host++;
    } else if (hdr->tp_snaplen < hdr->tp_len) {
      counters_.rx_too_big++;
    } else {
      std::span<uint8_t> frame(RxFrameRing::frame_of(hdr), hdr->tp_snaplen);
      counters_.rx_frames++;
      counters_.rx_bytes += frame.size();
      // The kernel takes an 802.1Q tag off the frame before the tap and reports it here.
      bool vlan_tagged = (hdr->tp_status & TP_STATUS_VLAN_VALID) != 0;
      on_frame(frame, vlan_tagged);
    }
    rx_.release();
    ++handled;
  }
  return count;
}

}  // namespace vsd
