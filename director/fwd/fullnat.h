// FULLNAT (DPVS's -b; not in mainline Linux): both endpoints are rewritten. Spec section 2
// "FULLNAT" [dpvs]. TTL and checksums as NAT. TOA (the client address in a TCP option) is not
// added here: it grows the segment and belongs to a later change.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/elements.h"
#include "fwd/forwarder.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Client to real server: CIP:cport -> VIP:vport leaves as LIP:lport -> RIP:rport; TTL - 1;
// MACs. Ports change only for TCP/UDP.
void fullnat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                Endpoint real_server, const EthAddrs& eth);

// Real server to client: RIP:rport -> LIP:lport leaves as VIP:vport -> CIP:cport; TTL - 1;
// MACs.
void fullnat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                 Endpoint client, const EthAddrs& eth);

// FULLNAT's forwarder (fwd/forwarder.h), IPv4: in is fullnat_in plus TOA on the client's
// handshake ACK, out fullnat_out, errors fullnat_icmp_in / fullnat_icmp_out (nat.h); an error
// from the real server's side goes to the client, TTL checked first.
Sent fullnat_ipv4_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                     const Link& link, Workspace& workspace);
Sent fullnat_ipv4_out(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                      const Link& link, Workspace& workspace);
Sent fullnat_ipv4_icmp_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                          const Link& link, Workspace& workspace);
Ipv4 fullnat_ipv4_server_error_to(const PacketView& packet, const ConnView& conn);
Sent fullnat_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet,
                               const QuotedPacket& about, const ConnView& conn, const Link& link,
                               Workspace& workspace);
inline constexpr Forwarder kFullNatIpv4{.needs_local_end = true,
                                        .in = fullnat_ipv4_in,
                                        .out = fullnat_ipv4_out,
                                        .icmp_in = fullnat_ipv4_icmp_in,
                                        .server_errors = ServerErrors::Quoting,
                                        .server_error_to = fullnat_ipv4_server_error_to,
                                        .server_error = fullnat_ipv4_server_error};

}  // namespace vsd::fwd
