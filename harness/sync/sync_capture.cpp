#include "sync/sync_capture.h"

#include <fmt/core.h>

namespace vslab::sync {
namespace {

uint16_t be16(std::span<const uint8_t> b, std::size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

std::string dotted(std::span<const uint8_t> b, std::size_t at) {
  return fmt::format("{}.{}.{}.{}", b[at], b[at + 1], b[at + 2], b[at + 3]);
}

}  // namespace

std::vector<SyncDatagram> sync_datagrams(std::span<const port::Frame> frames, uint16_t port) {
  constexpr std::size_t kEthernet = 14, kUdp = 8;
  std::vector<SyncDatagram> out;
  for (const auto& frame : frames) {
    std::span<const uint8_t> b = frame.bytes;
    if (b.size() < kEthernet + 20 || be16(b, 12) != 0x0800) continue;
    const std::size_t ip = kEthernet;
    const std::size_t ihl = static_cast<std::size_t>(b[ip] & 0x0f) * 4;
    if (b[ip + 9] != 17 || ihl < 20 || b.size() < ip + ihl + kUdp) continue;
    const std::size_t udp = ip + ihl;
    if (be16(b, udp + 2) != port) continue;
    const std::size_t udp_length = be16(b, udp + 4);
    if (udp_length < kUdp || b.size() < udp + udp_length) continue;
    SyncDatagram d;
    d.source = dotted(b, ip + 12);
    d.destination = dotted(b, ip + 16);
    d.ttl = b[ip + 8];
    d.source_port = be16(b, udp);
    d.destination_port = be16(b, udp + 2);
    d.payload.assign(b.begin() + static_cast<std::ptrdiff_t>(udp + kUdp),
                     b.begin() + static_cast<std::ptrdiff_t>(udp + udp_length));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace vslab::sync
