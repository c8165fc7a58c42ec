// Fragmentation of a datagram at a size, as the kernel's ip_do_fragment (IPv4) and
// ip6_fragment (IPv6): what the data plane does to a packet bigger than its egress MTU without
// DF (TUN's outer packet), or to a reassembled datagram going on at the size it arrived in
// (spec section 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "fwd/ipv6.h"

namespace vsd::fwd {

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

// IPv6 routers never fragment, but a datagram nf_defrag_ipv6 reassembled leaves IPVS cut again
// (ip6_fragment, reached because the datagram is longer than IP6CB's frag_max_size): into
// fragments of at most `fragment_size` bytes of IP, which ip6_fragment raises to IPV6_MIN_MTU
// (1280) when smaller. The unfragmentable part (ip6_find_1stfragopt: hop-by-hop, routing, and
// destination options up to a routing header, or any destination options when no routing
// header follows) is repeated in every fragment, then a fragment header with `id`; every
// fragment but the last carries a multiple of 8 bytes. Returns how many of `outs` were filled,
// or 0 when the frame is not a well-formed IPv6 packet without a fragment header, the size leaves
// no room for 8 bytes of payload, or `outs` run out.
std::size_t fragment_ipv6(std::span<const uint8_t> frame, uint16_t fragment_size, uint32_t id,
                          std::span<FragmentBuffer> outs);

// The size ip6_fragment cuts a reassembled datagram at: its largest fragment, at least 1280.
inline uint16_t ipv6_refragment_size(uint16_t largest_fragment) {
  return largest_fragment < kIpv6MinMtu ? uint16_t(kIpv6MinMtu) : largest_fragment;
}

}  // namespace vsd::fwd
