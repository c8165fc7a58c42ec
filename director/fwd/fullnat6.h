// FULLNAT over IPv6 (DPVS's -b; spec 2 FULLNAT): both ends of a TCP or UDP packet rewritten, as
// the IPv4 fullnat_in/fullnat_out do, with the hop limit for the TTL and the L4 checksum over
// the IPv6 pseudo-header updated for the four words that change (RFC 1624). No TOA yet.
#pragma once

#include <cstdint>
#include <span>

#include "fwd/ipv6.h"
#include "net/addr.h"

namespace vsd::fwd {

struct Address6 {
  Ip6 addr{};
  uint16_t port = 0;
};

// Client to real server: CIP:cport -> VIP:vport leaves as LIP:lport -> RIP:rport, hop limit
// less one, from `from` (the next hop's MAC is filled in on output).
void fullnat_in6(std::span<uint8_t> frame, const Packet6& p, const Address6& local,
                 const Address6& real_server, const Mac& from);
// Real server to client: RIP:rport -> LIP:lport leaves as VIP:vport -> CIP:cport.
void fullnat_out6(std::span<uint8_t> frame, const Packet6& p, const Address6& virtual_service,
                  const Address6& client, const Mac& from);

}  // namespace vsd::fwd
