// TUN over IPv6 (ipvsadm -i to an IPv6 real server): ip6ip6 as Linux IPVS builds it
// (ip_vs_xmit.c ip_vs_tunnel_xmit_v6, ip_vs_prepare_tunneled_skb, __ip_vs_get_out_rt_v6), and
// the Packet Too Big the director answers for a packet the tunnel cannot carry (RFC 4443 3.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fwd/ipv6.h"
#include "net/addr.h"

namespace vsd::fwd {

inline constexpr std::size_t kIp6ip6Overhead = wire6::kHeaderLen;
inline constexpr uint8_t kProtoIpv6InIpv6 = 41;

struct Tunnel6 {
  Ip6 local{};          // outer source: the egress port's IPv6 address
  Ip6 real_server{};    // outer destination (RIP)
  uint32_t egress_mtu;  // MTU of the port towards the real server
  Mac from;             // the egress port's MAC; the next hop's is filled in on output
  // A reassembled datagram's largest fragment (IP6CB's frag_max_size), 0 for a packet that came
  // whole: __mtu_check_toobig_v6 then holds that against the MTU instead of the length.
  uint32_t largest_fragment = 0;
};

enum class Tun6Verdict : uint8_t {
  Ok,               // out[0, length) is the frame to send
  PacketTooBig,     // nothing written; answer the client with build_packet_too_big6(mtu)
  TunnelTooNarrow,  // the tunnel's MTU is below 1280: every packet is dropped, unanswered
  BufferTooSmall,   // out cannot hold the outer frame, or its payload would pass 65535 bytes
};

struct Tun6Result {
  Tun6Verdict verdict = Tun6Verdict::BufferTooSmall;
  std::size_t length = 0;
  uint32_t mtu = 0;  // for PacketTooBig: the tunnel's MTU (egress MTU less 40)
};

// The tunnel's MTU: the egress MTU less the outer header.
constexpr uint32_t tun6_mtu(uint32_t egress_mtu) {
  return egress_mtu > kIp6ip6Overhead ? egress_mtu - uint32_t(kIp6ip6Overhead) : 0;
}

// Wraps the frame's IPv6 packet into `out` (not overlapping the frame). The inner hop limit goes
// down by one first (IPVS's decrement_ttl); the outer header then takes it as its own hop
// limit, the inner traffic class with ECN encapsulated (RFC 3168 9.1.1: CE becomes ECT(0)), flow
// label 0, next header 41, from tunnel.local to tunnel.real_server. The MTU check runs on the
// packet as it arrived (its largest fragment, when it came in fragments), as
// __mtu_check_toobig_v6 does. The input frame is not changed.
Tun6Result tun_encapsulate6(std::span<const uint8_t> frame, const Packet6& p, const Tunnel6& tunnel,
                            std::span<uint8_t> out);

// The outer traffic class of a tunnel whose inner packet has `inner` (INET_ECN_encapsulate).
constexpr uint8_t encapsulated_traffic_class(uint8_t inner) {
  constexpr uint8_t kEcnMask = 3, kCe = 3, kEct0 = 2;
  const uint8_t ecn = (inner & kEcnMask) == kCe ? kEct0 : uint8_t(inner & kEcnMask);
  return uint8_t((inner & ~kEcnMask) | ecn);
}

// The Packet Too Big answering `frame` (its packet to the VIP, hop limit already one less on
// the way into the tunnel): from the packet's destination (the VIP, as icmp6_send picks a
// local destination) to its source, hop limit 64, the MTU, and as much of the packet (with its
// hop limit less one) as keeps the message within 1280 bytes. Ethernet back to the frame's
// source from `mac`. Returns the frame's length, 0 when `out` is too small.
std::size_t build_packet_too_big6(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                  const Packet6& p, uint32_t mtu, const Mac& mac);

}  // namespace vsd::fwd
