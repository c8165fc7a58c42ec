// nat.cpp: NAT rewrites as chains of elements (elements.h). ICMP errors are rare, so their
// checksums are recomputed from scratch, exactly as ip_vs_nat_icmp does (ip_send_check on
// both IP headers, ip_vs_checksum_complete on the ICMP message).
#include "fwd/nat.h"

#include <optional>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/wire.h"

namespace vsd::fwd {

namespace {

void set_ip_header_checksum(std::span<uint8_t> frame, std::size_t l3, std::size_t header_len) {
  store_be16(frame, l3 + wire::ip::kChecksum, ipv4_header_checksum(frame.subspan(l3, header_len)));
}

void set_icmp_checksum(std::span<uint8_t> frame, const PacketView& packet) {
  store_be16(frame, packet.l4 + wire::icmp::kChecksum,
             icmp_checksum(frame.subspan(packet.l4, packet.l4_len())));
}

// Rewrites one address and, when quoted, one port of the packet an ICMP error quotes.
void set_quoted_endpoint(std::span<uint8_t> frame, const QuotedPacket& quoted,
                         std::size_t address_field, std::size_t port_field, Endpoint endpoint) {
  store_ipv4(frame, quoted.l3 + address_field, endpoint.addr);
  set_ip_header_checksum(frame, quoted.l3, quoted.ip_header_len);
  if (quoted.has_ports) store_be16(frame, quoted.l4 + port_field, endpoint.port);
}

// An ICMP error's own header, as it passes: the next hop, TTL - 1 and the addresses given. Its
// ICMP checksum has no pseudo-header; the caller recomputes it after changing the quote.
void set_outer_header(std::span<uint8_t> frame, const PacketView& packet, const EthAddrs& eth,
                      std::optional<Ipv4> src, std::optional<Ipv4> dst) {
  set_eth(frame, eth);
  ChecksumChanges changes;
  dec_ttl(frame, packet, changes);
  if (src) set_ip_src(frame, packet, *src, changes);
  if (dst) set_ip_dst(frame, packet, *dst, changes);
  write_checksums(frame, packet, changes);
}

}  // namespace

void nat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint real_server,
            const EthAddrs& eth) {
  set_eth(frame, eth);
  ChecksumChanges changes;
  dec_ttl(frame, packet, changes);
  set_ip_dst(frame, packet, real_server.addr, changes);
  if (packet.has_ports()) set_dst_port(frame, packet, real_server.port, changes);
  write_checksums(frame, packet, changes);
}

void nat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
             const EthAddrs& eth) {
  set_eth(frame, eth);
  ChecksumChanges changes;
  dec_ttl(frame, packet, changes);
  // The no-nat-reply-rewrite test fault (test_faults.h) lets RIP leak out, for the suite to see.
  if (!test_faults.keep_nat_reply_source) [[likely]]
    set_ip_src(frame, packet, virtual_service.addr, changes);
  if (packet.has_ports()) set_src_port(frame, packet, virtual_service.port, changes);
  write_checksums(frame, packet, changes);
}

bool nat_icmp_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                  const EthAddrs& eth) {
  if (!packet.has_quote) return false;
  set_outer_header(frame, packet, eth, virtual_service.addr, std::nullopt);
  // The quote is a packet the client sent: CIP:cport -> RIP:rport becomes -> VIP:vport.
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kDst, wire::tcp::kDstPort, virtual_service);
  set_icmp_checksum(frame, packet);
  return true;
}

bool nat_icmp_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint real_server,
                 const EthAddrs& eth) {
  if (!packet.has_quote) return false;
  set_outer_header(frame, packet, eth, std::nullopt, real_server.addr);
  // The quote is a reply the client got: VIP:vport -> CIP:cport becomes RIP:rport -> .
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kSrc, wire::tcp::kSrcPort, real_server);
  set_icmp_checksum(frame, packet);
  return true;
}

bool fullnat_icmp_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                      Endpoint client, const EthAddrs& eth) {
  if (!packet.has_quote) return false;
  set_outer_header(frame, packet, eth, virtual_service.addr, client.addr);
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kDst, wire::tcp::kDstPort, virtual_service);
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kSrc, wire::tcp::kSrcPort, client);
  set_icmp_checksum(frame, packet);
  return true;
}

bool fullnat_icmp_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                     Endpoint real_server, const EthAddrs& eth) {
  if (!packet.has_quote) return false;
  set_outer_header(frame, packet, eth, local.addr, real_server.addr);
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kSrc, wire::tcp::kSrcPort, real_server);
  set_quoted_endpoint(frame, packet.quoted, wire::ip::kDst, wire::tcp::kDstPort, local);
  set_icmp_checksum(frame, packet);
  return true;
}

[[gnu::flatten]] Sent nat_ipv4_in(std::span<uint8_t> frame, const PacketView& packet,
                                  const ConnView& conn, const Link& link, Workspace&) {
  nat_in(frame, packet, conn.real_server, link.eth);
  return {Xmit::Frame};
}

[[gnu::flatten]] Sent nat_ipv4_out(std::span<uint8_t> frame, const PacketView& packet,
                                   const ConnView& conn, const Link& link, Workspace&) {
  nat_out(frame, packet, conn.virtual_service, link.eth);
  return {Xmit::Frame};
}

Sent nat_ipv4_icmp_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                      const Link& link, Workspace&) {
  return {nat_icmp_in(frame, packet, conn.real_server, link.eth) ? Xmit::Frame : Xmit::Nothing};
}

// The error already goes to the client.
Ipv4 nat_ipv4_server_error_to(const PacketView& packet, const ConnView&) {
  return packet.dst;
}

Sent nat_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet, const QuotedPacket&,
                           const ConnView& conn, const Link& link, Workspace&) {
  if (packet.ttl_expires()) return {Xmit::TtlExpired};
  return {nat_icmp_out(frame, packet, conn.virtual_service, link.eth) ? Xmit::Frame
                                                                      : Xmit::Nothing};
}

}  // namespace vsd::fwd
