// Frames the director originates: what the kernel director's own stack would answer when a
// packet creates no connection (spec section 3), the ICMP errors of forwarding (section 2),
// and ARP. Each builder writes one complete Ethernet frame into a caller-provided buffer and
// returns its length, or 0 when it writes nothing (the buffer is too small, or the kernel
// would not answer this packet). Replies carry no IP options and are not padded to 60 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Who answers: the director's MAC on the port the packet came in on (the reply goes back to
// the frame's source MAC, the sender's next hop), and the IP ID for replies sent without DF,
// which the kernel draws fresh per packet (ip_select_ident): the caller keeps the counter.
struct Responder {
  Mac mac;
  uint16_t ip_id = 0;
};

// The RST the kernel's tcp_v4_send_reset sends for a segment no socket takes: a non-SYN of an
// unknown flow, or a SYN to a VIP port with no service (spec section 3). From dst:dport to
// src:sport, TTL 64, DF, ID 0, TOS of the segment without its ECN bits (ip_send_unicast_reply).
// A segment with ACK gets RST with seq = its ack; one without gets RST+ACK with seq 0 and
// ack = its seq + SYN + FIN + payload length (a SYN: seq + 1). Window 0, no options. Nothing
// for a segment that is itself a RST.
std::size_t build_tcp_reset(std::span<uint8_t> out, std::span<const uint8_t> frame,
                            const PacketView& packet, const Responder& responder);

// The echo reply of icmp_reply: from the request's destination (the VIP), TTL 64, no DF,
// TOS of the request, same identifier, sequence and data. Nothing unless the packet is an
// echo request (check icmp_checksum_ok first: icmp_rcv drops bad ones).
std::size_t build_echo_reply(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const PacketView& packet, const Responder& responder);

struct IcmpError {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t rest_of_header = 0;  // the 4 bytes after the checksum (next-hop MTU for frag-needed)
  bool quote_after_ttl_decrement = false;
};

// icmp_send's rules that depend on the packet alone: no error about a later fragment, about an
// ICMP error (or an unknown ICMP type), or about a packet sent to a multicast or broadcast
// address (frame or IP). Rate limits and the subnet broadcast need state: the caller's.
bool may_send_icmp_error(std::span<const uint8_t> frame, const PacketView& packet);

// An ICMP error as __icmp_send builds it: from `source` to the packet's source, TTL 64, no DF,
// TOS = (the packet's TOS & 0x1e) | 0xc0 (IPTOS_PREC_INTERNETCONTROL), quoting the packet from
// its IP header on, as much as fits in 576 bytes (548 bytes of quote).
std::size_t build_icmp_error(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const PacketView& packet, const IcmpError& error, Ipv4 source,
                             const Responder& responder);

// Time exceeded in transit (type 11 code 0) for a packet arriving with TTL 1, quoted as it
// arrived. Spec section 2: from the VIP when the packet was for a service.
std::size_t build_time_exceeded(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                const PacketView& packet, Ipv4 source, const Responder& responder);

// Port unreachable (type 3 code 3) for a UDP datagram to a VIP port with no service (spec
// section 3).
std::size_t build_port_unreachable(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                   const PacketView& packet, Ipv4 source,
                                   const Responder& responder);

// Protocol unreachable (type 3 code 2): what ip_local_deliver answers for a protocol the stack
// has no handler of, as SCTP on a director without the sctp module (spec section 3).
std::size_t build_protocol_unreachable(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                       const PacketView& packet, Ipv4 source,
                                       const Responder& responder);

// Fragmentation needed (type 3 code 4) with the next-hop MTU, for a DF packet too big to
// forward (spec section 2 "PMTU": TUN reports egress MTU - 20). The quote shows the packet with
// its TTL already decremented: IPVS decrements before it checks the MTU (ip_vs_xmit.c
// __ip_vs_get_out_rt). Pass the frame as received.
std::size_t build_frag_needed(std::span<uint8_t> out, std::span<const uint8_t> frame,
                              const PacketView& packet, Ipv4 source, uint16_t next_hop_mtu,
                              const Responder& responder);

// An Ethernet/IPv4 ARP message (RFC 826).
struct ArpMessage {
  uint16_t operation = 0;  // wire::arp::kOpRequest or kOpReply
  Mac sender_mac;
  Ipv4 sender_ip;
  Mac target_mac;
  Ipv4 target_ip;
};

// Nothing unless the frame is ARP for Ethernet and IPv4 (hardware 1, protocol 0x0800, lengths
// 6 and 4) and holds the 28 bytes of it.
std::optional<ArpMessage> parse_arp(std::span<const uint8_t> frame);

// The reply to a request for an address the director owns (the caller checks it does):
// "request.target_ip is at own_mac", sent to the requester's MAC, as arp_send(ARPOP_REPLY).
std::size_t build_arp_reply(std::span<uint8_t> out, const ArpMessage& request, Mac own_mac);

// A broadcast request "who has `wanted`? tell own_ip", target MAC zero, as arp_solicit sends.
std::size_t build_arp_request(std::span<uint8_t> out, Mac own_mac, Ipv4 own_ip, Ipv4 wanted);

}  // namespace vsd::fwd
