// Sync datagrams out of captured Ethernet frames: the IPv4/UDP frames to a sync group and port,
// with the addresses they travelled between. Shared by the tests that capture a kernel master
// and by the one that decodes the fixtures saved from such a capture.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "port/pcap_file.h"

namespace vslab::sync {

struct SyncDatagram {
  std::string source, destination;  // dotted IPv4
  uint16_t source_port = 0, destination_port = 0;
  uint8_t ttl = 0;
  std::vector<uint8_t> payload;
};

// The frames that carry UDP to `port` (the sync port), in order; the others are passed over.
std::vector<SyncDatagram> sync_datagrams(std::span<const port::Frame> frames, uint16_t port = 8848);

}  // namespace vslab::sync
