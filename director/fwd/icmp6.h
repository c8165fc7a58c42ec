// ICMPv6 on the director's path (RFC 4443): the errors the director's own stack sends (hop
// limit exceeded, port unreachable) and the RST of tcp_v6_send_reset, as a kernel director
// holding the VIP answers, and the errors about a connection that IPVS passes on
// (ip_vs_in_icmp_v6, ip_vs_out_icmp_v6), rewritten under NAT as ip_vs_nat_icmp_v6 does.
// Beside fwd/ipv6.h, never on the IPv4 path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "fwd/fullnat6.h"
#include "fwd/ipv6.h"

namespace vsd::fwd {

namespace icmp6 {
inline constexpr uint8_t kDestUnreachable = 1;
inline constexpr uint8_t kPacketTooBig = 2;
inline constexpr uint8_t kTimeExceeded = 3;
inline constexpr uint8_t kParameterProblem = 4;
inline constexpr uint8_t kCodePortUnreachable = 4;
inline constexpr uint8_t kCodeHopLimit = 0;
inline constexpr uint8_t kCodeFragmentReassemblyTime = 1;
// RFC 4443 2.4(c): an error message fits in the minimum IPv6 MTU.
inline constexpr std::size_t kMaxError = 1280;
}  // namespace icmp6

// Types below 128 are errors (RFC 4443 2.1).
constexpr bool is_icmp6_error(uint8_t type) {
  return type < 128;
}

// icmp6_send's rules that depend on the packet alone (RFC 4443 2.4(e)): no error about an
// ICMPv6 error, about a packet to a multicast address, or from an unspecified or multicast
// source.
bool may_send_icmp6_error(const Packet6& p);

// An error as icmp6_send builds it: from `source` (the address the packet was sent to, where
// it is the director's) to the packet's source, hop limit 64, traffic class 0, quoting the
// packet from its IPv6 header on as far as fits in 1280 bytes; Ethernet back to the frame's
// source MAC from `mac`. 0 when `out` is too small.
std::size_t build_icmp6_error(std::span<uint8_t> out, std::span<const uint8_t> frame,
                              const Packet6& p, uint8_t type, uint8_t code, uint32_t rest,
                              const Ip6& source, const Mac& mac);

// The RST tcp_v6_send_reset sends for a segment no socket takes, from dst:dport to src:sport,
// hop limit 64, the segment's traffic class without its ECN bits: a segment with ACK gets RST
// with seq = its ack; one without RST+ACK with seq 0 and ack = its seq + SYN + FIN + payload.
// Window 0, no options. Nothing (0) for a RST.
std::size_t build_tcp_reset6(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const Packet6& p, const Mac& mac);

// The packet an ICMPv6 error quotes, when it is TCP or UDP with its ports in the quote.
struct Quote6 {
  Ip6 src{}, dst{};
  uint8_t next_header = 0;
  uint16_t sport = 0, dport = 0;
};
std::optional<Quote6> parse_quote6(std::span<const uint8_t> frame, const Packet6& p);

// NAT, an error from the client's side about a reply (quoting VIP:vport -> CIP:cport): the
// outer destination and the quoted source become RIP and rport. From the real servers' side
// about a forwarded packet (quoting CIP:cport -> RIP:rport): the outer source and the quoted
// destination become VIP and vport. Both: hop limit less one, the ICMPv6 checksum computed
// anew, the quoted TCP/UDP checksum left as it was; Ethernet from `from`.
void nat_icmp6_in(std::span<uint8_t> frame, const Packet6& p, const Ip6& rip, uint16_t rport,
                  const Mac& from);
void nat_icmp6_out(std::span<uint8_t> frame, const Packet6& p, const Ip6& vip, uint16_t vport,
                   const Mac& from);

// FULLNAT (not in mainline; the IPv4 fullnat_icmp_in/out of fwd/nat.h in IPv6): both ends of
// the outer header and of the quote are the connection's on the side the error goes to. From
// the client's side about a reply (quoting VIP:vport -> CIP:cport): from LIP to RIP, quoting
// RIP:rport -> LIP:lport as the real server sent it. From the real servers' side about a
// forwarded packet (quoting LIP:lport -> RIP:rport): from VIP to CIP, quoting CIP:cport ->
// VIP:vport as the client sent it. Hop limit, checksums and Ethernet as NAT's.
void fullnat_icmp6_in(std::span<uint8_t> frame, const Packet6& p, const Address6& local,
                      const Address6& real_server, const Mac& from);
void fullnat_icmp6_out(std::span<uint8_t> frame, const Packet6& p, const Address6& virtual_service,
                       const Address6& client, const Mac& from);

}  // namespace vsd::fwd
