// Reading and writing classic pcap files of Ethernet frames (what tcpdump -r reads).
#pragma once

#include <sys/time.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vslab::port {

struct Frame {
  std::vector<uint8_t> bytes;
  timeval timestamp{};
};

// Whether `a` is no later than `b`: captures merged or matched in time order.
inline bool before_or_same(const timeval& a, const timeval& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec < b.tv_sec : a.tv_usec <= b.tv_usec;
}

// Throws std::runtime_error "PATH: why" when the file cannot be written.
void write_pcap(const std::string& path, const std::vector<Frame>& frames);

struct PcapReadResult {
  std::vector<Frame> frames;
  std::string error;  // empty on success: "PATH: why", one line
  bool ok() const { return error.empty(); }
};
// Reads a classic pcap of Ethernet frames. A missing or empty file, pcapng, another link type,
// a truncated or corrupt file and a frame cut by the snaplen are each one line of error (and
// no frames: a capture is replayed whole or not at all).
PcapReadResult read_pcap(const std::string& path);

}  // namespace vslab::port
