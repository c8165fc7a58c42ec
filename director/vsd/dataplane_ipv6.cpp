// The IPv6 stages of the data plane (vsd/dataplane.h): neighbour discovery and echo for the
// IPv6 VIPs, then NAT, DR, TUN (dataplane_tun6.cpp) and FULLNAT (its local end in
// dataplane_fullnat6.cpp; no TOA over IPv6 yet) for IPv6 services, as the IPv4 stages do them
// (spec 2), with the hop limit for the TTL, and persistence (-p, -M as a prefix length) by
// templates in the IPv6 table, port-0 services included. Reached only for frames classify()
// left as not IPv4, so the IPv4 path is the same instructions it was. ICMPv6 errors, sent and
// relayed: dataplane_icmp6.cpp. Fragments are gathered first (dataplane_frag6.cpp) and the
// whole datagram comes through here, to leave cut again (emit6); hop-by-hop, destination
// options and routing headers are stepped over to the TCP or UDP header (fwd::parse_ipv6) and
// travel as they came. -6 fwmark services take what the IPv6 mark rules mark (handle_ipv6).
// Not here yet: the SIP persistence engine, and ICMPv6
// behind extension headers or a chain parse_ipv6 will not walk; such a packet to a VIP is counted
// (discard_ipv6_unsupported, ipv6_*) and dropped.
#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/fragment.h"
#include "fwd/fullnat6.h"
#include "fwd/icmp6.h"
#include "fwd/wire.h"
#include "vsd/dataplane.h"

namespace vsd {
namespace {

Proto proto_of6(const fwd::Packet6& p) {
  return p.is_tcp() ? Proto::Tcp : Proto::Udp;
}

void add6(Counters& c, bool in, std::size_t bytes) {
  (in ? c.in_packets : c.out_packets)++;
  (in ? c.in_bytes : c.out_bytes) += bytes;
}

// What the counters count of a packet, as for IPv4: the IP datagram, header included.
std::size_t ip_bytes(const fwd::Packet6& p) {
  return fwd::wire6::kHeaderLen + p.payload_len;
}

}  // namespace

template <DataPort Port>
void BasicDataplane<Port>::prefetch_ipv6(std::span<const uint8_t> frame) {
  const auto p = fwd::peek_ipv6(frame);
  if (!p) return;
  const std::size_t slot = look_ahead_next_++ % kLookAheadSlots;
  look_ahead_frames_[slot] = frame.data();
  look_ahead_hints_[slot] = Hints{};
  Hints6& hints = look_ahead_hints6_[slot];
  const Proto proto = p->next_header == 6 ? Proto::Tcp : Proto::Udp;
  const FlowKey6 key{proto, {p->src, p->sport}, {p->dst, p->dport}};
  const bool to_vip = services_.has_ipv6_services() && services_.is_ipv6_vip(p->dst);
  if (to_vip) {
    conns6_.prefetch_in(key, hints.in);
    hints.out = Conn6Table::Hint{};
  } else {
    conns6_.prefetch_out(key, hints.out);
    hints.in = Conn6Table::Hint{};
  }
}

template <DataPort Port>
void BasicDataplane<Port>::handle_ipv6(std::size_t port, std::span<uint8_t> frame,
                                       const Hints6* ahead) {
  const auto p = fwd::parse_ipv6(frame);
  if (!p) return count(Discard::NotIpv4);
  if (p->fragment) return handle_fragment6(port, frame, *p);
  if (p->is_icmp() &&
      (p->icmp_type == fwd::wire6::kNeighborSolicit || p->icmp_type == fwd::wire6::kNeighborAdvert))
    return handle_neighbour_discovery(port, frame, *p);
  // As handle_marked for IPv4: a packet the classifier marks for a -6 fwmark service is the
  // director's to schedule, whatever its destination (a prefix, not only a VIP).
  if (services_.has_ipv6_services() &&
      (services_.is_ipv6_vip(p->dst) || (p->has_ports() && !backup_only_now() &&
                                         services_.is_marked6(proto_of6(*p), p->dst, p->dport))))
    return handle_to_vip6(port, frame, *p, ahead ? &ahead->in : nullptr);
  if (p->has_ports())
    if (Conn6* conn = conns6_.find_out({proto_of6(*p), {p->src, p->sport}, {p->dst, p->dport}},
                                       ahead ? &ahead->out : nullptr))
      return handle_reply6(frame, *p, *conn);
  if (p->is_icmp() && fwd::is_icmp6_error(p->icmp_type) &&
      handle_icmp6_error_from_server(frame, *p))
    return;
  route6(port, frame, *p);
}

template <DataPort Port>
void BasicDataplane<Port>::handle_neighbour_discovery(std::size_t port, std::span<uint8_t> frame,
                                                      const fwd::Packet6& p) {
  if (p.icmp_type == fwd::wire6::kNeighborAdvert) {
    const auto advert = fwd::parse_advert(frame, p);
    if (!advert) return;
    neighbours6_.learn(int(port), advert->target, advert->mac, now_ms_, released6_);
    for (auto& parked : released6_)
      if (const Mac* mac = neighbours6_.lookup(parked.port, parked.next_hop)) {
        fwd::store_mac(parked.frame, fwd::wire::eth::kDst, *mac);
        if (!ports_[std::size_t(parked.port)]->queue(parked.frame)) count(Discard::TxFailed);
      }
    released6_.clear();
    return;
  }
  // A solicitation for a VIP on the port it lives behind is answered, as ARP for an IPv4 VIP
  // is; the host's own addresses are its kernel's (the ingress chain passes it every
  // solicitation), and with --vips-follow-host the kernel answers for the VIPs it holds.
  const auto target = fwd::solicited_target(frame, p);
  if (!target || vips_follow_host_) return;
  auto it = owned6_.find(*target);
  if (it == owned6_.end() || it->second != port) return;
  if (auto n = fwd::build_advert(scratch_, frame, p, *target, ports_[port]->mac())) {
    ipv6_.nd_answered++;
    answer(port, n);
  }
}

template <DataPort Port>
void BasicDataplane<Port>::handle_to_vip6(std::size_t port, std::span<uint8_t> frame,
                                          const fwd::Packet6& p, const Conn6Table::Hint* hint) {
  if (p.is_icmp()) {
    // Echo to a VIP is the director's to answer, as for IPv4 (spec 3); an error is about a
    // connection's reply, from the client's side.
    if (fwd::is_icmp6_error(p.icmp_type)) return handle_icmp6_error_to_vip(port, frame, p);
    if (p.icmp_type != fwd::wire6::kEchoRequest || vips_follow_host_) return;
    if (!fwd::l4_checksum_ok6(frame, p)) return;
    if (auto n = fwd::build_echo_reply6(scratch_, frame, p, ports_[port]->mac())) {
      ipv6_.echo_answered++;
      answer(port, n);
    }
    return;
  }
  if (!p.has_ports()) return count(Discard::Ipv6Unsupported);
  // backup_only with a backup daemon running: IPVS passes the packet to the stack, which
  // answers as for a port with no service.
  if (backup_only_now()) {
    ipv6_.no_service++;
    return refuse6(port, frame, p, /*reset=*/true);
  }
  const Proto proto = proto_of6(p);
  const FlowKey6 key{proto, {p.src, p.sport}, {p.dst, p.dport}};
  Conn6* conn = conns6_.find_in(key, hint);
  // One-packet scheduling (-o): each datagram is scheduled and no entry outlives it.
  Conn6 one_packet;
  // A connection to a deleted server drops its packets, as ip_vs_in does with
  // expire_nodest_conn=0; with it on, the packet is scheduled anew.
  if (conn && services_.dest(conn->dest).deleted && sysctls_.expire_nodest_conn) conn = nullptr;
  if (conn && services_.dest(conn->dest).deleted) return;
  // conn_reuse_mode, as existing_fate for IPv4: a SYN that meets a closed connection starts a
  // new one, scheduled afresh; insert() below replaces the old entry. (Bit 2's FIN_WAIT rule
  // needs an entry that knows it saw no reply, which Conn6 does not record.)
  if (conn && p.is_tcp() && (p.tcp_flags & fwd::wire::tcp::kSyn) && sysctls_.conn_reuse_mode &&
      (conn->state == TcpState::TimeWait || conn->state == TcpState::Close))
    conn = nullptr;
  if (!conn) {
    ServiceRuntime* svc = services_.lookup6(proto, p.dst, p.dport);
    if (!svc) {
      ipv6_.no_service++;
      return refuse6(port, frame, p, /*reset=*/true);
    }
    // The SIP engine reads IPv4 datagrams only so far: scheduling each call on its own would
    // break the affinity the rules ask for.
    if (!svc->config.persistence_engine.empty()) return count(Discard::Ipv6Unsupported);
    const bool rst = p.tcp_flags & fwd::wire::tcp::kRst;
    const bool syn = p.tcp_flags & fwd::wire::tcp::kSyn;
    if (p.is_tcp() && (rst || (!syn && !sysctls_.sloppy_tcp))) {
      ipv6_.not_first++;
      return refuse6(port, frame, p, /*reset=*/true);
    }
    if (defence_.drop_new_connection()) return count(Discard::DropPacket);  // ip_vs_todrop
    const FlowKey flow{proto, {fold_ipv6(p.src), p.sport}, {fold_ipv6(p.dst), p.dport}};
    Conn6* tmpl = nullptr;
    bool no_room = false;
    const auto chosen = svc->config.persistent ? choose_persistent6(*svc, p, flow, tmpl, no_room)
                                               : services_.schedule(*svc, flow, now_ms_);
    if (no_room) return void(ipv6_.table_full++);
    if (!chosen) {
      // ip_vs_leave: no socket to reset from, port unreachable for TCP too.
      ipv6_.no_destination++;
      return refuse6(port, frame, p, /*reset=*/false);
    }
    auto& dest = services_.dest(*chosen);
    Endpoint6 server{dest.config.addr.addr.bytes,
                     svc->real_server_port(dest.config.addr.port, p.dport)};
    Endpoint6 local{};
    if (dest.config.method == Method::FullNat) {
      const auto allocated = allocate_local6(*svc, *chosen, proto, server);
      if (!allocated) return void(ipv6_.no_local_port++);
      local = *allocated;
    }
    if (svc->config.one_packet && p.is_udp()) {
      one_packet.in = key;
      one_packet.destination = server;
      one_packet.method = dest.config.method;
      one_packet.dest = *chosen;
      one_packet.local = local;
      conn = &one_packet;
    } else {
      conn = conns6_.insert(key, server, dest.config.method, *chosen, now_ms_, local, tmpl);
      if (!conn) return void(ipv6_.table_full++);
      sync_new_entry6(*conn);
    }
    dest.totals.conns++;
    svc->totals.conns++;
  }
  if (conn != &one_packet) conns6_.on_packet(*conn, true, p.tcp_flags, now_ms_);
  add6(services_.dest(conn->dest).totals, true, ip_bytes(p));
  if (auto* svc = services_.service_of(conn->dest)) {
    add6(svc->totals, true, ip_bytes(p));
    // ip_vs_in's sync step; a one-packet connection is never sent (and has no template).
    if (conn != &one_packet) note_for_sync6(*svc, *conn);
  }
  if (p.hop_limit <= 1) {
    ipv6_.hop_limit++;
    return send_icmp6_error(port, frame, p, fwd::icmp6::kTimeExceeded, fwd::icmp6::kCodeHopLimit);
  }
  const auto egress = egress6_to(conn->destination.addr);
  if (!egress) return void(ipv6_.no_route++);
  if (conn->method == Method::Tun) {
    if (tunnel6(port, frame, p, conn->destination.addr, *egress)) ipv6_.to_real_server++;
    return;
  }
  const Mac& from = ports_[egress->port]->mac();
  if (conn->method == Method::Nat)
    fwd::nat_in6(frame, p, conn->destination.addr, conn->destination.port, from);
  else if (conn->method == Method::FullNat)
    fwd::fullnat_in6(frame, p, {conn->local.addr, conn->local.port},
                     {conn->destination.addr, conn->destination.port}, from);
  else
    fwd::dr_forward6(frame, from);
  ipv6_.to_real_server++;
  emit6(*egress, frame);
}

// As choose_persistent for IPv4: a live template for the client's prefix (-M, a prefix length
// for IPv6) sends it where it went before; one whose server was deleted, or is quiescent with
// expire_quiescent_template, is set aside as the kernel's ip_vs_check_template does, and the
// scheduler's choice gets a new template. Port-0 and fwmark services' templates name RIP:0.
template <DataPort Port>
std::optional<DestHandle> BasicDataplane<Port>::choose_persistent6(ServiceRuntime& svc,
                                                                   const fwd::Packet6& p,
                                                                   const FlowKey& flow,
                                                                   Conn6*& tmpl, bool& no_room) {
  const auto& key = svc.config.key;
  const int prefix = svc.config.persistence_prefix6;
  const bool services_port = p.dport == key.vip.port;
  const FlowKey6 tkey = key.fwmark != 0
                            ? Conn6Table::fwmark_template_key(p.src, prefix, key.fwmark)
                            : Conn6Table::service_template_key(proto_of6(p), p.src, prefix,
                                                               {key.vip.addr.bytes, key.vip.port});
  tmpl = conns6_.find_template(tkey);
  if (tmpl && !template_serves(tmpl->dest)) {
    conns6_.invalidate_template(*tmpl);
    tmpl = nullptr;
  }
  if (!tmpl) {
    const auto chosen = services_.schedule(svc, flow, now_ms_);
    if (!chosen) return std::nullopt;
    const auto& dest = services_.dest(*chosen);
    const Endpoint6 target{dest.config.addr.addr.bytes,
                           services_port ? dest.config.addr.port : uint16_t(0)};
    tmpl = conns6_.insert_template(tkey, target, dest.config.method, *chosen,
                                   svc.config.persistence_timeout, now_ms_);
    if (!tmpl) return no_room = true, std::nullopt;
  }
  conns6_.refresh(*tmpl, now_ms_);
  return tmpl->dest;
}

template <DataPort Port>
void BasicDataplane<Port>::handle_reply6(std::span<uint8_t> frame, const fwd::Packet6& p,
                                         Conn6& conn) {
  conns6_.on_packet(conn, false, p.tcp_flags, now_ms_);
  add6(services_.dest(conn.dest).totals, false, ip_bytes(p));
  if (auto* svc = services_.service_of(conn.dest)) add6(svc->totals, false, ip_bytes(p));
  if (p.hop_limit <= 1) return void(ipv6_.hop_limit++);
  const auto egress = egress6_to(conn.in.from.addr);
  if (!egress) return void(ipv6_.no_route++);
  const Mac& from = ports_[egress->port]->mac();
  if (conn.method == Method::FullNat)
    fwd::fullnat_out6(frame, p, {conn.in.to.addr, conn.in.to.port},
                      {conn.in.from.addr, conn.in.from.port}, from);
  else
    fwd::nat_out6(frame, p, conn.in.to.addr, conn.in.to.port, from);
  ipv6_.to_client++;
  emit6(*egress, frame);
}

template <DataPort Port>
auto BasicDataplane<Port>::egress6_to(const Ip6& destination) const -> std::optional<Egress6> {
  for (const auto& r : port_routes6_)
    if (r.match.contains(destination)) return Egress6{r.port, r.on_link ? destination : r.gateway};
  return std::nullopt;
}

template <DataPort Port>
void BasicDataplane<Port>::emit6(const Egress6& egress, std::span<uint8_t> frame) {
  // A reassembled datagram longer than its largest fragment leaves cut again, as
  // __ip6_finish_output sends it through ip6_fragment.
  if (refragment6_ != 0 && frame.size() > std::size_t(refragment6_) + fwd::wire::eth::kHeaderLen)
    return emit6_fragmented(egress, frame);
  // IPv6 routers do not fragment (RFC 8200 5): what does not fit the port is dropped, where a
  // kernel would answer Packet Too Big (not sent yet).
  if (frame.size() > std::size_t(ports_[egress.port]->mtu()) + fwd::wire::eth::kHeaderLen)
    return count(Discard::TxFailed);
  if (const Mac* mac = neighbours6_.lookup(int(egress.port), egress.next_hop)) {
    fwd::store_mac(frame, fwd::wire::eth::kDst, *mac);
    if (!ports_[egress.port]->queue(frame)) count(Discard::TxFailed);
    return;
  }
  neighbours6_.park(int(egress.port), egress.next_hop, frame, now_ms_, solicits_);
  send_solicits();
}

template <DataPort Port>
void BasicDataplane<Port>::emit6_fragmented(const Egress6& egress, std::span<uint8_t> frame) {
  const uint16_t size = fwd::ipv6_refragment_size(refragment6_);
  constexpr std::size_t kMaxPieces = 64;
  std::array<fwd::FragmentBuffer, kMaxPieces> pieces;
  const std::size_t piece_size = std::size_t(size) + fwd::wire::eth::kHeaderLen;
  const std::size_t available = std::min(kMaxPieces, fragment_.size() / piece_size);
  for (std::size_t i = 0; i < available; ++i)
    pieces[i] = {std::span<uint8_t>(fragment_.data() + i * piece_size, piece_size), 0};
  const std::size_t n =
      fwd::fragment_ipv6(frame, size, fragment_id6_++, std::span(pieces.data(), available));
  if (n == 0) return count(Discard::TxFailed);
  const uint16_t saved = std::exchange(refragment6_, 0);
  for (std::size_t i = 0; i < n; ++i) {
    ipv6_.fragments_sent++;
    emit6(egress, pieces[i].buffer.first(pieces[i].length));
  }
  refragment6_ = saved;
}

template <DataPort Port>
void BasicDataplane<Port>::send_solicits() {
  for (const auto& s : solicits_) {
    const auto port = std::size_t(s.port);
    // A solicitation needs a source the answer can come back to: the port's own address.
    if (!port_address6_[port]) continue;
    if (auto n = fwd::build_solicit(scratch_, *port_address6_[port], ports_[port]->mac(), s.target))
      answer(port, n);
  }
  solicits_.clear();
}

template <DataPort Port>
std::vector<std::pair<std::string, uint64_t>> BasicDataplane<Port>::ipv6_counters() const {
  const auto& n = neighbours6_.counters();
  const auto& t = conns6_.stats();
  return {
      {"ipv6_to_real_server", ipv6_.to_real_server},
      {"ipv6_to_client", ipv6_.to_client},
      {"ipv6_nd_answered", ipv6_.nd_answered},
      {"ipv6_echo_answered", ipv6_.echo_answered},
      {"ipv6_no_service", ipv6_.no_service},
      {"ipv6_no_destination", ipv6_.no_destination},
      {"ipv6_hop_limit", ipv6_.hop_limit},
      {"ipv6_no_route", ipv6_.no_route},
      {"ipv6_table_full", ipv6_.table_full},
      {"ipv6_not_first", ipv6_.not_first},
      {"ipv6_host", ipv6_.host},
      {"ipv6_tunnelled", ipv6_.tunnelled},
      {"ipv6_too_big", ipv6_.too_big},
      {"ipv6_narrow_tunnel", ipv6_.narrow_tunnel},
      {"ipv6_no_local_port", ipv6_.no_local_port},
      {"ipv6_errors_sent", ipv6_.errors_sent},
      {"ipv6_resets_sent", ipv6_.resets_sent},
      {"ipv6_errors_relayed", ipv6_.errors_relayed},
      {"ipv6_fragments_sent", ipv6_.fragments_sent},
      {"ipv6_routed", ipv6_.routed},
      {"nd_solicits_sent", n.solicits_sent},
      {"nd_resolved", n.resolved},
      {"nd_dropped_unresolved", n.dropped_unresolved},
      {"nd_unsolicited", n.unsolicited},
      {"nd_table_full", n.table_full},
      {"nd_entries", neighbours6_.size()},
      {"conn6_entries", conns6_.size()},
      {"conn6_inserted", t.inserted},
      {"conn6_expired", t.expired},
      {"conn6_refused_full", t.refused_full},
      {"conn6_local_ports_exhausted", t.local_ports_exhausted},
  };
}

#define VSD_IPV6_MEMBERS(Port)                                                                     \
  template void BasicDataplane<Port>::prefetch_ipv6(std::span<const uint8_t>);                     \
  template void BasicDataplane<Port>::handle_ipv6(std::size_t, std::span<uint8_t>, const Hints6*); \
  template void BasicDataplane<Port>::handle_neighbour_discovery(std::size_t, std::span<uint8_t>,  \
                                                                 const fwd::Packet6&);             \
  template void BasicDataplane<Port>::handle_to_vip6(                                              \
      std::size_t, std::span<uint8_t>, const fwd::Packet6&, const Conn6Table::Hint*);              \
  template void BasicDataplane<Port>::handle_reply6(std::span<uint8_t>, const fwd::Packet6&,       \
                                                    Conn6&);                                       \
  template std::optional<DestHandle> BasicDataplane<Port>::choose_persistent6(                     \
      ServiceRuntime&, const fwd::Packet6&, const FlowKey&, Conn6*&, bool&);                       \
  template auto BasicDataplane<Port>::egress6_to(const Ip6&) const->std::optional<Egress6>;        \
  template void BasicDataplane<Port>::emit6(const Egress6&, std::span<uint8_t>);                   \
  template void BasicDataplane<Port>::emit6_fragmented(const Egress6&, std::span<uint8_t>);        \
  template void BasicDataplane<Port>::send_solicits();                                             \
  template std::vector<std::pair<std::string, uint64_t>> BasicDataplane<Port>::ipv6_counters()     \
      const;
VSD_IPV6_MEMBERS(PacketSocket)
VSD_IPV6_MEMBERS(MemoryPort)
#undef VSD_IPV6_MEMBERS

}  // namespace vsd
