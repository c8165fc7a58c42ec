// The generator's frames: Ethernet / IPv4 or IPv6 / UDP from flow i's address and port to the
// destination, with real checksums, and the move of a built frame from one flow to another.
#pragma once

#include <cstdint>

#include "bench/generator.h"

namespace vslab::bench {

// Flow i comes from src_ip + i / Generator::kPortsPerAddress, port 1024 + i % that.
uint32_t flow_address(const GeneratorConfig& c, uint32_t flow);
uint16_t flow_port(uint32_t flow);
// In IPv6: the source's last 32 bits plus i / Generator::kPortsPerAddress.
vsd::Ip6 flow_address6(const GeneratorConfig& c, uint32_t flow);
// The frame size (without the FCS) the generator sends when `asked`: an IPv6 frame is at
// least 62 bytes (66 on the wire) with its UDP header, 78 with a Stamp behind it.
uint32_t frame_size_for(int family, uint32_t asked, bool stamp);
// The IPv6 UDP checksum of a built frame, computed afresh (after a Stamp was written).
void refresh_udp_checksum6(const GeneratorConfig& c, uint8_t* f);
// Writes c.frame_size bytes at f (no UDP checksum when c.stamp: the stamp changes the payload).
void build_frame(const GeneratorConfig& c, const vsd::Mac& src_mac, uint32_t flow, uint8_t* f);
// Re-addresses a built frame from one flow to another: source address and port, both
// checksums updated incrementally (RFC 1624).
void readdress(const GeneratorConfig& c, uint8_t* f, uint32_t from, uint32_t to);

}  // namespace vslab::bench
