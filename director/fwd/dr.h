// DR (direct routing, ipvsadm -g, the default): only the Ethernet header changes, plus the
// router's TTL decrement. Spec section 2 "DR"; kernel ip_vs_xmit.c ip_vs_dr_xmit.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/forwarder.h"
#include "fwd/nat.h"
#include "fwd/packet.h"

namespace vsd::fwd {

// dst MAC = the real server's, src MAC = the director's; TTL - 1 and the IP checksum. The IP
// destination stays the VIP and ports are untouched, so the L4 checksum needs nothing.
void dr_forward(std::span<uint8_t> frame, const PacketView& packet, const EthAddrs& eth);

// DR's forwarder (fwd/forwarder.h), IPv4: in and an error from the client's side go on by
// dr_forward; a reply that comes through the director is rewritten as NAT's (nat_out); errors
// from the real server's side are not the director's.
Sent dr_ipv4_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                const Link& link, Workspace& workspace);
inline constexpr Forwarder kDrIpv4{.in = dr_ipv4_in, .out = nat_ipv4_out, .icmp_in = dr_ipv4_in};

}  // namespace vsd::fwd
