// TOA ("TCP option address", DPVS and Alibaba's FULLNAT): under FULLNAT the real server sees
// LIP:lport, so the client's CIP:cport travels in a TCP option the server's toa module reads
// when it accepts the connection, i.e. from the client's segment that completes the
// handshake. Spec section 2 FULLNAT [dpvs, unverified]: kind 254, length 8, port then IPv4
// address, both in network order. The option goes first among the segment's options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

inline constexpr uint8_t kToaKind = 254;
inline constexpr std::size_t kToaLen = 8;

// Writes `frame` (a TCP segment, already rewritten for the real server) into `out` with the
// option carrying `client` inserted after the fixed TCP header: IP total length + 8, IP and
// TCP checksums recomputed, data offset + 2. Returns the new frame's length, or 0 when it
// does not fit: a TCP header would pass 60 bytes, the IP packet `ip_mtu` bytes, or `out`.
std::size_t add_toa(std::span<const uint8_t> frame, const PacketView& packet, Endpoint client,
                    std::size_t ip_mtu, std::span<uint8_t> out);

}  // namespace vsd::fwd
