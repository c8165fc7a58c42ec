// DR (direct routing, ipvsadm -g, the default): only the Ethernet header changes, plus the
// router's TTL decrement. Spec section 2 "DR"; kernel ip_vs_xmit.c ip_vs_dr_xmit.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/packet.h"

namespace vsd::fwd {

// dst MAC = the real server's, src MAC = the director's; TTL - 1 and the IP checksum. The IP
// destination stays the VIP and ports are untouched, so the L4 checksum needs nothing.
void dr_forward(std::span<uint8_t> frame, const PacketView& packet, const EthAddrs& eth);

}  // namespace vsd::fwd
