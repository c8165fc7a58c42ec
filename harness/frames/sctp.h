// SCTP packets built by hand (RFC 9260): libtins 4.4 (Debian 12) has no SCTP PDU, so tests
// send the common header and chunks as the payload of an IPv4 packet of protocol 132, with
// the CRC32c computed here. Written for the harness on its own: the conformance suite never
// borrows the director's code.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tins/tins.h>

namespace vslab::frames {

inline constexpr uint8_t kProtoSctp = 132;

// Chunk types (RFC 9260 3.2).
namespace sctp {
inline constexpr uint8_t kData = 0;
inline constexpr uint8_t kInit = 1;
inline constexpr uint8_t kInitAck = 2;
inline constexpr uint8_t kSack = 3;
inline constexpr uint8_t kAbort = 6;
inline constexpr uint8_t kShutdown = 7;
inline constexpr uint8_t kShutdownAck = 8;
inline constexpr uint8_t kCookieEcho = 10;
inline constexpr uint8_t kCookieAck = 11;
inline constexpr uint8_t kShutdownComplete = 14;
}  // namespace sctp

// CRC32c (Castagnoli): initial value and final xor all ones, bits reflected.
uint32_t crc32c(std::span<const uint8_t> bytes);

struct SctpChunk {
  uint8_t type = 0;
  uint8_t flags = 0;
  std::vector<uint8_t> value;  // after the 4-byte chunk header; padded to 4 when built
};

// A chunk of `type` with a plausible body: INIT/INIT ACK carry an initiate tag and the
// mandatory fields (INIT ACK a state cookie), COOKIE ECHO a cookie, DATA a TSN, stream and
// `text`, SACK a cumulative TSN, SHUTDOWN a cumulative TSN; the others none.
SctpChunk sctp_chunk(uint8_t type, uint32_t tag = 0x1000, const std::string& text = "");

// The SCTP packet: common header, chunks, CRC32c stored least significant byte first.
std::vector<uint8_t> sctp_packet(uint16_t sport, uint16_t dport, uint32_t verification_tag,
                                 const std::vector<SctpChunk>& chunks);

// What a captured SCTP packet's checksum field holds, and what it should hold.
uint32_t sctp_checksum_on_wire(std::span<const uint8_t> sctp);
uint32_t sctp_checksum_of(std::span<const uint8_t> sctp);

// Ethernet / IPv4 (protocol 132) / the packet, for a bed's frame builders: `ip` is the IPv4
// header to use (addresses, TTL), its protocol set here.
Tins::EthernetII sctp_frame(Tins::EthernetII eth, Tins::IP ip, std::vector<uint8_t> packet);

}  // namespace vslab::frames
