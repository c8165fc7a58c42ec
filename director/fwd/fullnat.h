// FULLNAT (DPVS's -b; not in mainline Linux): both endpoints are rewritten. Spec section 2
// "FULLNAT" [dpvs]. TTL and checksums as NAT. TOA (the client address in a TCP option) is not
// added here: it grows the segment and belongs to a later change.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Client to real server: CIP:cport -> VIP:vport leaves as LIP:lport -> RIP:rport; TTL - 1;
// MACs. Ports change only for TCP/UDP.
void fullnat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                Endpoint real_server, const EthAddrs& eth);

// Real server to client: RIP:rport -> LIP:lport leaves as VIP:vport -> CIP:cport; TTL - 1;
// MACs.
void fullnat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                 Endpoint client, const EthAddrs& eth);

}  // namespace vsd::fwd
