// TUN (IP-in-IP, ipvsadm -i): the packet, TTL already decremented, is wrapped in a new IPv4
// header towards the real server. Spec section 2 "TUN"; kernel ip_vs_xmit.c
// ip_vs_tunnel_xmit, __ip_vs_get_out_rt, ensure_mtu_is_adequate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/forwarder.h"
#include "fwd/nat.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

inline constexpr std::size_t kIpipOverhead = wire::ip::kMinHeaderLen;

struct TunnelParams {
  Ipv4 local;           // outer source: the director's address on the route to the RS (DIP)
  Ipv4 real_server;     // outer destination (RIP)
  uint16_t egress_mtu;  // MTU of the port towards the real server
  uint16_t ip_id;       // outer ID when the inner packet has no DF: fresh and non-zero
  EthAddrs eth;         // src = the director's port, dst = next hop towards the RS
  // net.ipv4.vs.pmtu_disc: off, a too-big DF packet is wrapped all the same (the outer packet
  // is then fragmented on output) instead of answered with frag-needed.
  bool pmtu_disc = true;
};

enum class TunVerdict : uint8_t {
  Ok,                  // out[0, length) is the frame to send
  NeedsFragNeeded,     // DF set and too big: nothing written; answer the client with
                       // build_frag_needed(..., tun_next_hop_mtu(egress_mtu)) (reply.h)
  NeedsFragmentation,  // too big without DF, or an ICMP error (which never gets a frag-needed:
                       // ensure_mtu_is_adequate): out[0, length) holds the whole outer frame;
                       // send what fragment_ipv4 (fwd/fragment.h) makes of it
  BufferTooSmall,      // out cannot hold the outer frame, or the outer packet would pass
                       // 65535 bytes: nothing usable written
};

struct TunResult {
  TunVerdict verdict = TunVerdict::BufferTooSmall;
  std::size_t length = 0;
};

// The MTU a frag-needed reports for a tunnelled packet: the egress MTU less the IPIP header
// (1480 on a 1500 link, spec section 2 "PMTU").
constexpr uint16_t tun_next_hop_mtu(uint16_t egress_mtu) {
  return uint16_t(egress_mtu - kIpipOverhead);
}

// Encapsulates the frame's IPv4 packet into `out` (which must not overlap the frame): Ethernet
// per tunnel.eth; outer IPv4 DIP -> RIP, protocol 4, TTL = inner TTL after its decrement, TOS
// copied, DF copied, ID 0 with DF else tunnel.ip_id; the inner packet follows with TTL - 1
// and its checksum updated. The input frame is not changed. Link padding is not carried over.
TunResult tun_encapsulate(std::span<const uint8_t> frame, const PacketView& packet,
                          const TunnelParams& tunnel, std::span<uint8_t> out);

// TUN's forwarder (fwd/forwarder.h), IPv4: in and an error from the client's side are wrapped
// by tun_encapsulate from the egress port's address, with a fresh non-zero outer ID; a reply
// that comes through the director is rewritten as NAT's (nat_out). An error from the real
// server's side quotes the IPIP packet: the client gets the same type and code from the VIP,
// quoting the inner packet, a frag-needed MTU less the 20 bytes of the tunnel (spec section 2,
// TUN).
Sent tun_ipv4_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                 const Link& link, Workspace& workspace);
Ipv4 tun_ipv4_server_error_to(const PacketView& packet, const ConnView& conn);
Sent tun_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet,
                           const QuotedPacket& about, const ConnView& conn, const Link& link,
                           Workspace& workspace);
inline constexpr Forwarder kTunIpv4{.in = tun_ipv4_in,
                                    .out = nat_ipv4_out,
                                    .icmp_in = tun_ipv4_in,
                                    .server_errors = ServerErrors::Tunnelling,
                                    .server_error_to = tun_ipv4_server_error_to,
                                    .server_error = tun_ipv4_server_error};

}  // namespace vsd::fwd
