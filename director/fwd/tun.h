// TUN (IP-in-IP, ipvsadm -i): the packet, TTL already decremented, is wrapped in a new IPv4
// header towards the real server. Spec section 2 "TUN"; kernel ip_vs_xmit.c
// ip_vs_tunnel_xmit, __ip_vs_get_out_rt, ensure_mtu_is_adequate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fwd/elements.h"
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
};

enum class TunVerdict : uint8_t {
  Ok,                  // out[0, length) is the frame to send
  NeedsFragNeeded,     // DF set and too big: nothing written; answer the client with
                       // build_frag_needed(..., tun_next_hop_mtu(egress_mtu)) (reply.h)
  NeedsFragmentation,  // too big without DF, or an ICMP error (which never gets a frag-needed:
                       // ensure_mtu_is_adequate): out[0, length) holds the whole outer frame;
                       // send what fragment_ipv4 makes of it
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

// One output buffer for a fragment and how much of it fragment_ipv4 used.
struct FragmentBuffer {
  std::span<uint8_t> buffer;
  std::size_t length = 0;
};

// Splits the IPv4 packet of an Ethernet frame (untagged) into fragments of at most
// `fragment_size` bytes of IP, as the kernel's ip_do_fragment: every fragment but the last
// carries (fragment_size - header length) rounded down to a multiple of 8 bytes of payload;
// all keep the ID, TOS and TTL; the flags hold only MF, set on all but the last (which keeps
// the packet's own MF), as ip_frag_next writes them (DF is dropped); options without the copy flag
// become NOPs after the first fragment (RFC 791, ip_options_fragment); each header checksum is
// computed afresh; the Ethernet header is copied. Returns how many of `outs` were filled, or 0 when
// the frame is not a well-formed IPv4 packet, fragment_size leaves no room for 8 bytes of payload,
// or `outs` run out.
//
// For TUN the caller passes fragment_size = min(egress MTU, the largest fragment the inner
// datagram arrived in): ip_do_fragment caps the MTU at IPCB(skb)->frag_max_size, which
// survives encapsulation (ip_vs_tunnel_xmit clears only the options of IPCB). That is how the
// spec's figures arise [unverified, inferred]: "an IPIP packet of 1476 bytes plus a trailing
// fragment (offset 1456)". A client that learnt PMTU 1480 towards the VIP (the frag-needed of
// spec section 2) fragments a large datagram into pieces of at most 20 + (1460 & ~7) = 1476
// bytes; the director reassembles it, wraps it and cuts the outer packet at 1476: 1456 bytes
// of payload, a multiple of 8, so the first fragment is 1476 bytes and the second starts at
// offset 1456. An unfragmented inner packet on a 1500-byte link is cut at 1500 instead: 1480
// bytes of payload, the second fragment at offset 1480.
std::size_t fragment_ipv4(std::span<const uint8_t> frame, uint16_t fragment_size,
                          std::span<FragmentBuffer> outs);

}  // namespace vsd::fwd
