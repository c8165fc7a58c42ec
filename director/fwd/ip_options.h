// What a Linux host writes into a packet's IPv4 options when it receives one for a local
// address, as ip_options_compile does on the way in (net/ipv4/ip_options.c): IPVS takes the
// packet only afterwards, so a packet to a VIP reaches its real server with these changes made.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Stamps the options of a packet to the local address `local` (the VIP): record route gets
// `local` in its next free slot; a timestamp option gets `ms_since_midnight` (UTC, as
// inet_current_timestamp) in its next slot, with `local` before it for the address-and-time
// flag, or only where the pre-specified address is `local`; a full timestamp option (other than
// pre-specified) has its overflow count raised. The header checksum is recomputed when anything
// changed. The option list was checked by classify(). True when something changed.
bool stamp_options_on_receipt(std::span<uint8_t> frame, const PacketView& packet, Ipv4 local,
                              uint32_t ms_since_midnight);

}  // namespace vsd::fwd
