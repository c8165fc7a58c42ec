// ICMPv6 on the data plane (vsd/dataplane.h): the errors and resets a kernel director's own
// stack sends from the VIP (hop limit exceeded, no service, no destination), and the errors
// about a connection from either side, passed on as ip_vs_in_icmp_v6 and ip_vs_out_icmp_v6 do
// (NAT and FULLNAT rewrite them, DR forwards the client's to the real server as they came,
// TUN wraps them in ip6ip6).
#include "fwd/icmp6.h"
#include "fwd/wire.h"
#include "vsd/dataplane.h"

namespace vsd {
namespace {

Proto proto_of_quote(const fwd::Quote6& q) {
  return q.next_header == 6 ? Proto::Tcp : Proto::Udp;
}

void count_error(Counters& c, bool in, const fwd::Packet6& p) {
  (in ? c.in_packets : c.out_packets)++;
  (in ? c.in_bytes : c.out_bytes) += fwd::wire6::kHeaderLen + p.payload_len;
}

}  // namespace

template <DataPort Port>
void BasicDataplane<Port>::send_icmp6_error(std::size_t port, std::span<const uint8_t> frame,
                                            const fwd::Packet6& p, uint8_t type, uint8_t code) {
  if (!fwd::may_send_icmp6_error(p)) return;
  if (auto n =
          fwd::build_icmp6_error(scratch_, frame, p, type, code, 0, p.dst, ports_[port]->mac())) {
    ipv6_.errors_sent++;
    answer(port, n);
  }
}

template <DataPort Port>
void BasicDataplane<Port>::refuse6(std::size_t port, std::span<const uint8_t> frame,
                                   const fwd::Packet6& p, bool reset) {
  // The stack checks the segment or datagram before it answers (tcp_v6_rcv, udpv6_rcv).
  if (vips_follow_host_ || !fwd::l4_checksum_ok6(frame, p)) return;
  if (p.is_tcp() && reset) {
    if (auto n = fwd::build_tcp_reset6(scratch_, frame, p, ports_[port]->mac())) {
      ipv6_.resets_sent++;
      answer(port, n);
    }
    return;
  }
  send_icmp6_error(port, frame, p, fwd::icmp6::kDestUnreachable, fwd::icmp6::kCodePortUnreachable);
}

template <DataPort Port>
void BasicDataplane<Port>::handle_icmp6_error_to_vip(std::size_t port, std::span<uint8_t> frame,
                                                     const fwd::Packet6& p) {
  // From the client's side, about a reply from VIP:vport to CIP:cport.
  const auto q = fwd::parse_quote6(frame, p);
  if (!q) return;
  Conn6* conn = conns6_.find_in({proto_of_quote(*q), {q->dst, q->dport}, {q->src, q->sport}});
  if (!conn) return;
  // Only NAT and FULLNAT, which rewrite the error, check its checksum: ip_vs_in_icmp_v6 checks
  // none, and Linux 6.1 sends a DR or TUN client's error with a bad one on as it came.
  const bool rewritten = conn->method == Method::Nat || conn->method == Method::FullNat;
  if (rewritten && !fwd::l4_checksum_ok6(frame, p)) return;
  count_error(services_.dest(conn->dest).totals, true, p);
  if (auto* svc = services_.service_of(conn->dest)) count_error(svc->totals, true, p);
  if (p.hop_limit <= 1) return void(ipv6_.hop_limit++);
  const auto egress = egress6_to(conn->destination.addr);
  if (!egress) return void(ipv6_.no_route++);
  // ip_vs_icmp_xmit_v6 hands an error about a TUN connection to the connection's own
  // transmitter: it leaves in ip6ip6 as the client's packets do.
  if (conn->method == Method::Tun) {
    if (tunnel6(port, frame, p, conn->destination.addr, *egress)) ipv6_.errors_relayed++;
    return;
  }
  const Mac& from = ports_[egress->port]->mac();
  if (conn->method == Method::Nat)
    fwd::nat_icmp6_in(frame, p, conn->destination.addr, conn->destination.port, from);
  else if (conn->method == Method::FullNat)
    fwd::fullnat_icmp6_in(frame, p, {conn->local.addr, conn->local.port},
                          {conn->destination.addr, conn->destination.port}, from);
  else
    fwd::dr_forward6(frame, from);
  ipv6_.errors_relayed++;
  emit6(*egress, frame);
}

template <DataPort Port>
bool BasicDataplane<Port>::handle_icmp6_error_from_server(std::span<uint8_t> frame,
                                                          const fwd::Packet6& p) {
  // From the real servers' side, about what the director forwarded: CIP:cport -> RIP:rport
  // (FULLNAT: LIP:lport -> RIP:rport). DR and TUN see none: the real servers answer the client
  // directly, and an error about the ip6ip6 packet quotes a protocol (41) that no connection
  // has; ip_vs_in_icmp_v6, unlike IPv4's ip_vs_in_icmp, does not look into its own tunnels.
  const auto q = fwd::parse_quote6(frame, p);
  if (!q) return false;
  Conn6* conn = conns6_.find_out({proto_of_quote(*q), {q->dst, q->dport}, {q->src, q->sport}});
  if (!conn || (conn->method != Method::Nat && conn->method != Method::FullNat)) return false;
  if (!fwd::l4_checksum_ok6(frame, p)) return true;
  count_error(services_.dest(conn->dest).totals, false, p);
  if (auto* svc = services_.service_of(conn->dest)) count_error(svc->totals, false, p);
  if (p.hop_limit <= 1) return ipv6_.hop_limit++, true;
  const auto egress = egress6_to(conn->in.from.addr);
  if (!egress) return ipv6_.no_route++, true;
  const Mac& from = ports_[egress->port]->mac();
  if (conn->method == Method::FullNat)
    fwd::fullnat_icmp6_out(frame, p, {conn->in.to.addr, conn->in.to.port},
                           {conn->in.from.addr, conn->in.from.port}, from);
  else
    fwd::nat_icmp6_out(frame, p, conn->in.to.addr, conn->in.to.port, from);
  ipv6_.errors_relayed++;
  emit6(*egress, frame);
  return true;
}

#define VSD_ICMP6_MEMBERS(Port)                                                                  \
  template void BasicDataplane<Port>::send_icmp6_error(std::size_t, std::span<const uint8_t>,    \
                                                       const fwd::Packet6&, uint8_t, uint8_t);   \
  template void BasicDataplane<Port>::refuse6(std::size_t, std::span<const uint8_t>,             \
                                              const fwd::Packet6&, bool);                        \
  template void BasicDataplane<Port>::handle_icmp6_error_to_vip(std::size_t, std::span<uint8_t>, \
                                                                const fwd::Packet6&);            \
  template bool BasicDataplane<Port>::handle_icmp6_error_from_server(std::span<uint8_t>,         \
                                                                     const fwd::Packet6&);
VSD_ICMP6_MEMBERS(PacketSocket)
VSD_ICMP6_MEMBERS(MemoryPort)
#undef VSD_ICMP6_MEMBERS

}  // namespace vsd
