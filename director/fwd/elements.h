// Click-style elements: each does one job on a classified frame in place and keeps every
// checksum covering the changed bytes right by RFC 1624 incremental update. The rewrites
// (nat, dr, fullnat) are short chains of these. Inline: they run per packet.
//
// Preconditions, all guaranteed by classify() on the same frame: the view's offsets lie inside
// the frame; port setters need packet.has_ports(). Rewrites expect whole datagrams: a
// fragment carries no L4 header to fix, so the caller reassembles first (spec section 3).
#pragma once

#include <cstdint>
#include <span>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/crc32c.h"
#include "fwd/packet.h"
#include "fwd/test_faults.h"
#include "fwd/wire.h"
#include "net/addr.h"

namespace vsd::fwd {

// The Ethernet addresses a frame leaves with: src = the director's egress port, dst = the next
// hop (real server or router).
struct EthAddrs {
  Mac src;
  Mac dst;
};

inline void set_eth(std::span<uint8_t> frame, const EthAddrs& eth) {
  store_mac(frame, wire::eth::kDst, eth.dst);
  store_mac(frame, wire::eth::kSrc, eth.src);
}

// Where the TCP or UDP checksum of the packet sits, or 0 when it has none to update (ICMP has
// no pseudo-header; fragments carry no L4 header).
inline std::size_t l4_checksum_at(const PacketView& packet) {
  if (!packet.has_l4) return 0;
  if (packet.is_tcp()) return packet.l4 + wire::tcp::kChecksum;
  if (packet.is_udp()) return packet.l4 + wire::udp::kChecksum;
  return 0;
}

// What a rewrite's field changes do to the IP header checksum and to the TCP/UDP checksum
// (ports, and addresses through the pseudo-header). The elements that take one add to it;
// write_checksums applies it, so each checksum is read and written once however many fields
// a rewrite changes. The elements without one write their own.
struct ChecksumChanges {
  ChecksumUpdate ip;
  ChecksumUpdate l4;
  bool sctp_port_changed = false;  // SCTP's CRC32c is computed again, from scratch
};

// SCTP's CRC covers neither addresses nor a pseudo-header: only a changed port makes it
// computed again, and then from scratch, a wrong one made right (sctp_snat_handler).
inline void write_sctp_checksum(std::span<uint8_t> frame, const PacketView& packet) {
  if (packet.l3_end() > frame.size() || packet.l4 > packet.l3_end()) return;
  const auto sctp = frame.subspan(packet.l4, packet.l4_len());
  store_sctp_checksum(sctp, sctp_checksum(sctp));
}

// A UDP datagram sent without a checksum (0) leaves with one computed in full over what it now
// carries, as Linux's NAT handlers do: only a checksum that is there is updated (spec 2, NAT).
inline void write_checksums(std::span<uint8_t> frame, const PacketView& packet,
                            const ChecksumChanges& changes) {
  const std::size_t ip_at = packet.l3 + wire::ip::kChecksum;
  store_be16(frame, ip_at, changes.ip.applied_to(load_be16(frame, ip_at)));
  if (changes.sctp_port_changed) return write_sctp_checksum(frame, packet);
  const std::size_t l4_at = l4_checksum_at(packet);
  if (l4_at == 0) return;
  const uint16_t l4 = load_be16(frame, l4_at);
  if (packet.is_udp() && l4 == 0) {
    const auto datagram = std::span<const uint8_t>(frame).subspan(
        packet.l4, packet.l3 + packet.ip_total_len - packet.l4);
    store_be16(frame, l4_at,
               udp_checksum(load_ipv4(frame, packet.l3 + wire::ip::kSrc),
                            load_ipv4(frame, packet.l3 + wire::ip::kDst), datagram));
    return;
  }
  store_be16(frame, l4_at,
             packet.is_udp() ? changes.l4.applied_to_udp(l4) : changes.l4.applied_to(l4));
}

// The TTL a packet leaves with: one less, as a router makes it (the kernel's ip_decrease_ttl),
// unless the no-ttl-decrement test fault is on (test_faults.h).
inline uint8_t ttl_after_hop(uint8_t ttl) {
  return uint8_t(ttl - test_faults.ttl_decrement);
}

// TTL - 1 in place: the TTL/protocol word changes by 0x0100. The caller has checked
// packet.ttl_expires() first. Under the test fault the word does not change, and the update
// leaves a right checksum as it was.
inline void dec_ttl_at(std::span<uint8_t> frame, std::size_t l3, ChecksumUpdate& ip) {
  const std::size_t at = l3 + wire::ip::kTtl;
  const uint16_t old_word = load_be16(frame, at);
  frame[at] = ttl_after_hop(frame[at]);
  ip.replace16(old_word, uint16_t(frame[at] << 8 | (old_word & 0xff)));
}

inline void dec_ttl_at(std::span<uint8_t> frame, std::size_t l3) {
  ChecksumUpdate ip;
  dec_ttl_at(frame, l3, ip);
  const std::size_t at = l3 + wire::ip::kChecksum;
  store_be16(frame, at, ip.applied_to(load_be16(frame, at)));
}

inline void dec_ttl(std::span<uint8_t> frame, const PacketView& packet, ChecksumChanges& changes) {
  dec_ttl_at(frame, packet.l3, changes.ip);
}

inline void dec_ttl(std::span<uint8_t> frame, const PacketView& packet) {
  dec_ttl_at(frame, packet.l3);
}

// Sets an IPv4 address field: IP header checksum and, for TCP/UDP, the pseudo-header sum.
inline void set_ip_address(std::span<uint8_t> frame, const PacketView& packet, std::size_t field,
                           Ipv4 address, ChecksumChanges& changes) {
  const std::size_t at = packet.l3 + field;
  const uint32_t old_value = load_be32(frame, at);
  store_ipv4(frame, at, address);
  changes.ip.replace32(old_value, address.value);
  changes.l4.replace32(old_value, address.value);
}

inline void set_ip_src(std::span<uint8_t> frame, const PacketView& packet, Ipv4 address,
                       ChecksumChanges& changes) {
  set_ip_address(frame, packet, wire::ip::kSrc, address, changes);
}

inline void set_ip_dst(std::span<uint8_t> frame, const PacketView& packet, Ipv4 address,
                       ChecksumChanges& changes) {
  set_ip_address(frame, packet, wire::ip::kDst, address, changes);
}

// Sets a TCP/UDP/SCTP port field (the same offsets in the three headers), for the L4
// checksum.
inline void set_port(std::span<uint8_t> frame, const PacketView& packet, std::size_t field,
                     uint16_t port, ChecksumChanges& changes) {
  const std::size_t at = packet.l4 + field;
  const uint16_t old_port = load_be16(frame, at);
  store_be16(frame, at, port);
  changes.l4.replace16(old_port, port);
  if (packet.is_sctp() && old_port != port) changes.sctp_port_changed = true;
}

inline void set_src_port(std::span<uint8_t> frame, const PacketView& packet, uint16_t port,
                         ChecksumChanges& changes) {
  set_port(frame, packet, wire::tcp::kSrcPort, port, changes);
}

inline void set_dst_port(std::span<uint8_t> frame, const PacketView& packet, uint16_t port,
                         ChecksumChanges& changes) {
  set_port(frame, packet, wire::tcp::kDstPort, port, changes);
}

// Records `address` in the packet's record-route option when it has room, as the kernel does
// on receipt (ip_options_compile; for a packet to a local address such as the VIP the address
// recorded is that destination, fib_compute_spec_dst) [unverified which address real IPVS
// records: spec section 2 says only "a record-route option gets an address filled in"]. The
// slot may sit at any byte offset, so the header checksum is recomputed. False when there is
// no such option or it is full.
inline bool fill_record_route(std::span<uint8_t> frame, const PacketView& packet, Ipv4 address) {
  std::size_t at = record_route_offset(frame, packet);
  if (at == 0) return false;
  std::size_t length = frame[at + 1], pointer = frame[at + 2];
  if (pointer > length) return false;  // full; classify() saw that a slot fits otherwise
  store_ipv4(frame, at + pointer - 1, address);
  frame[at + 2] = uint8_t(pointer + 4);
  std::span<uint8_t> header = frame.subspan(packet.l3, packet.ip_header_len);
  store_be16(header, wire::ip::kChecksum, ipv4_header_checksum(header));
  return true;
}

}  // namespace vsd::fwd
