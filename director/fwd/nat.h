// NAT (masquerading, ipvsadm -m): the director rewrites the destination of requests and the
// source of replies, and the addresses inside ICMP errors about NAT connections. Spec section 2
// "NAT / masquerading" and section 3 (ICMP); kernel ip_vs_xmit.c ip_vs_nat_xmit,
// ip_vs_core.c handle_response, ip_vs_nat_icmp.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/forwarder.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Client to real server: dst VIP:vport -> RIP:rport, TTL - 1, MACs; L4 checksum updated
// incrementally (a zero UDP checksum stays zero, a wrong one stays as wrong). Ports change
// only for TCP/UDP.
void nat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint real_server,
            const EthAddrs& eth);

// Real server to client: src RIP:rport -> VIP:vport, TTL - 1, MACs. Under the
// no-nat-reply-rewrite test fault the source address stays RIP.
void nat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
             const EthAddrs& eth);

// An ICMP error from the real servers' side about a NAT connection, on its way to the client
// (spec section 3's example): outer src -> VIP, TTL - 1; in the quoted packet dst RIP -> VIP
// and dst port rport -> vport, quoted IP checksum recomputed; ICMP checksum recomputed over the
// whole message. As the kernel (ip_vs_nat_icmp), the quoted TCP/UDP checksum field and the
// quoted TTL are left as they were. False, frame untouched, when packet.has_quote is false.
bool nat_icmp_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                  const EthAddrs& eth);

// An ICMP error from the client's side about a NAT connection (it quotes VIP:vport -> CIP),
// on its way to the real server: outer dst -> RIP, TTL - 1; quoted src VIP -> RIP and src
// port vport -> rport; checksums as nat_icmp_out.
bool nat_icmp_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint real_server,
                 const EthAddrs& eth);

// FULLNAT's ICMP errors travel like NAT's with both ends rewritten (spec 2 FULLNAT [dpvs]):
// from the real server (quoting LIP:lport -> RIP:rport) the client gets VIP -> CIP quoting
// CIP:cport -> VIP:vport; from the client (quoting VIP:vport -> CIP:cport) the real server
// gets LIP -> RIP quoting RIP:rport -> LIP:lport. TTL, quoted checksums as nat_icmp_out.
bool fullnat_icmp_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                      Endpoint client, const EthAddrs& eth);
bool fullnat_icmp_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                     Endpoint real_server, const EthAddrs& eth);

// NAT's forwarder (fwd/forwarder.h), IPv4: in is nat_in, out nat_out, an error from the
// client's side nat_icmp_in; an error from the real server's side goes on to the address it
// was sent to (the client's) through nat_icmp_out, TTL checked first.
Sent nat_ipv4_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                 const Link& link, Workspace& workspace);
Sent nat_ipv4_out(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                  const Link& link, Workspace& workspace);
Sent nat_ipv4_icmp_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                      const Link& link, Workspace& workspace);
Ipv4 nat_ipv4_server_error_to(const PacketView& packet, const ConnView& conn);
Sent nat_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet,
                           const QuotedPacket& about, const ConnView& conn, const Link& link,
                           Workspace& workspace);
inline constexpr Forwarder kNatIpv4{.in = nat_ipv4_in,
                                    .out = nat_ipv4_out,
                                    .icmp_in = nat_ipv4_icmp_in,
                                    .server_errors = ServerErrors::Quoting,
                                    .server_error_to = nat_ipv4_server_error_to,
                                    .server_error = nat_ipv4_server_error};

}  // namespace vsd::fwd
