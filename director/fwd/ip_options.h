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

// The same for a packet the director forwards (a NAT real server's reply): on receipt the
// stack stamps as above with `received_on`, the director's address towards the sender; then
// ip_forward_options writes over the record route slot it took the address the packet leaves
// from, `sent_from` (after IPVS put the VIP in as source, the VIP). A timestamp keeps
// `received_on`.
bool stamp_options_forwarded(std::span<uint8_t> frame, const PacketView& packet, Ipv4 received_on,
                             Ipv4 sent_from, uint32_t ms_since_midnight);

}  // namespace vsd::fwd
