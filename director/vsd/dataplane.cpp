#include "vsd/dataplane.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <random>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "fwd/dr.h"
#include "fwd/fragment.h"
#include "fwd/fullnat.h"
#include "fwd/ip_options.h"
#include "fwd/nat.h"
#include "fwd/reply.h"
#include "fwd/sip_call_id.h"
#include "fwd/tun.h"
#include "fwd/wire.h"
#include "vsd/log.h"

namespace vsd {
namespace {

Proto proto_of(const fwd::PacketView& p) {
  return p.is_tcp()    ? Proto::Tcp
         : p.is_udp()  ? Proto::Udp
         : p.is_sctp() ? Proto::Sctp
                       : Proto::Icmp;
}

// Of a packet with ports: TCP, UDP or SCTP.
Proto proto_of(const fwd::QuotedPacket& q) {
  switch (q.protocol) {
    case fwd::wire::ip::kProtoTcp:
      return Proto::Tcp;
    case fwd::wire::ip::kProtoSctp:
      return Proto::Sctp;
    default:
      return Proto::Udp;
  }
}

// An SCTP packet's first chunk type; nothing when it holds no whole chunk header.
std::optional<uint8_t> first_sctp_chunk(std::span<const uint8_t> frame, const fwd::PacketView& p) {
  const std::size_t at = std::size_t(p.l4) + fwd::wire::sctp::kHeaderLen;
  if (at + fwd::wire::sctp::kChunkHeaderLen > p.l3_end() || p.l3_end() > frame.size())
    return std::nullopt;
  return frame[at];
}

std::span<const uint8_t> sctp_packet_of(std::span<const uint8_t> frame, const fwd::PacketView& p) {
  if (p.l3_end() > frame.size() || p.l4 > p.l3_end()) return {};
  return frame.subspan(p.l4, p.l4_len());
}

// The one place a forwarding method names its forwarder, as ip_vs_bind_xmit binds
// cp->packet_xmit: a connection keeps its method from the moment it is made, and every
// packet of it goes through the entry points this table gives for it. IPv4 only.
constexpr std::array<fwd::Forwarder, 4> kForwarders = {fwd::kNatIpv4, fwd::kDrIpv4, fwd::kTunIpv4,
                                                       fwd::kFullNatIpv4};
static_assert(std::size_t(Method::Nat) == 0 && std::size_t(Method::Dr) == 1 &&
              std::size_t(Method::Tun) == 2 && std::size_t(Method::FullNat) == 3);
// That every table fills each entry point a packet may reach is checked by fwd/forwarder_test
// (Forwarders.EveryEntryPointAPacketMayReachIsThere): under -fsanitize=undefined a function's
// address is no constant expression, so a static_assert cannot look at it.

const fwd::Forwarder& forwarder_for(Method method) {
  return kForwarders[std::size_t(method)];
}

const fwd::Forwarder& forwarder_of(const Conn& conn) {
  return forwarder_for(conn.method());
}

fwd::ConnView view_of(const Conn& conn) {
  return {conn.client(), conn.virtual_addr(), conn.local(), conn.destination(), conn.toa_pending()};
}

bool is_services_port(const ServiceRuntime& svc, const FlowKey& flow) {
  return flow.virtual_addr.port == svc.config.key.vip.port;
}

Endpoint real_server_of(const ServiceRuntime& svc, Endpoint dest, const FlowKey& flow) {
  return {dest.addr, svc.real_server_port(dest.port, flow.virtual_addr.port)};
}

void add(Counters& c, bool in, std::size_t bytes) {
  (in ? c.in_packets : c.out_packets)++;
  (in ? c.in_bytes : c.out_bytes) += bytes;
}

}  // namespace

template <DataPort Port>
const Clock& BasicDataplane<Port>::default_clock() {
  static SteadyClock clock;
  return clock;
}

template <DataPort Port>
BasicDataplane<Port>::BasicDataplane(std::vector<std::unique_ptr<Port>>& ports, RoutingTable routes,
                                     const Clock& clock, const fwd::ReassemblyLimits& reassembly,
                                     const ConnTableConfig& table)
    : ports_(ports),
      routes_(std::move(routes)),
      clock_(clock),
      conns_(table),
      services_(conns_, clock_),
      reassembler_(reassembly) {
  now_ms_ = last_estimate_ms_ = clock_.now_ms();
  conns6_.count_loads_on(&conns_);
  reassembler_.on_expired([this](std::span<const uint8_t> first) { reassembly_timed_out(first); });
  reassembler6_.on_expired(
      [this](std::span<const uint8_t> first) { reassembly6_timed_out(first); });
  fragment_id6_ = uint32_t(std::random_device{}());
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    port_by_name_[ports_[i]->name()] = i;
    port_address_.push_back(routes_.address_of(ports_[i]->name()));
    port_links_.push_back({{ports_[i]->mac(), Mac{}}, ports_[i]->mtu(), port_address_.back()});
  }
  for (const auto& r : routes_.routes())
    if (auto it = port_by_name_.find(r.ifname); it != port_by_name_.end())
      port_routes_.push_back({r.destination, r.mask, r.gateway, r.metric, it->second});
  std::stable_sort(port_routes_.begin(), port_routes_.end(), [](const auto& a, const auto& b) {
    return a.mask.value != b.mask.value ? a.mask.value > b.mask.value : a.metric < b.metric;
  });
  port_address6_.resize(ports_.size());
  for (const auto& a : routes_.addresses6())
    if (auto it = port_by_name_.find(a.ifname); it != port_by_name_.end())
      if (!port_address6_[it->second]) port_address6_[it->second] = a.addr;
  for (const auto& r : routes_.routes6())
    if (auto it = port_by_name_.find(r.ifname); it != port_by_name_.end())
      port_routes6_.push_back({r.destination, r.prefix, r.gateway, r.metric, it->second,
                               Prefix6(r.destination, r.prefix), r.gateway == Ip6{}});
  std::stable_sort(port_routes6_.begin(), port_routes6_.end(), [](const auto& a, const auto& b) {
    return a.prefix != b.prefix ? a.prefix > b.prefix : a.metric < b.metric;
  });
  install(RuleSet{});
}

// --- control ---------------------------------------------------------------------------

template <DataPort Port>
std::string BasicDataplane<Port>::install(const RuleSet& next) {
  PreparedInstall plan = prepare(next);
  return commit(plan);
}

// Reads only what is fixed once the data plane is made (ports, routes) and the installed
// service table, which only commit() replaces.
template <DataPort Port>
PreparedInstall BasicDataplane<Port>::prepare(const RuleSet& next) const {
  PreparedInstall plan;
  plan.services = services_.prepare(next);
  if (!plan.services.error.empty()) return plan;
  plan.timeouts = next.timeouts;
  for (const auto& a : routes_.addresses())
    if (auto it = port_by_name_.find(a.ifname); it != port_by_name_.end())
      plan.owned[a.addr.value] = it->second;
  // A VIP or local address is answered for on the port its subnet is reached through.
  for (auto a : plan.services.table->owned)
    if (auto e = egress_to(a)) plan.owned.emplace(a.value, e->port);
  for (const auto& vip : plan.services.table->vips6)
    if (auto e = egress6_to(vip)) plan.owned6.emplace(vip, e->port);
  // FULLNAT's IPv6 local addresses are answered for where the real servers reach them.
  for (const auto& svc : next.services)
    for (const auto& lip : svc.local_addresses6)
      if (auto e = egress6_to(lip.bytes)) plan.owned6.emplace(lip.bytes, e->port);
  // The real servers of what changed are resolved now, so the first packet of a connection
  // need not wait.
  std::unordered_set<uint64_t> seen;
  for (const auto& change : plan.services.changes) {
    const Service& svc = change.created ? change.runtime->config : change.config;
    if (svc.family() != Family::V4) {
      for (const auto& d : svc.destinations)
        if (auto e = egress6_to(d.addr.addr.bytes))
          plan.resolve6.emplace_back(e->port, e->next_hop);
      continue;
    }
    for (const auto& d : svc.destinations)
      if (auto e = egress_to(d.addr.addr.v4()))
        if (seen.insert(uint64_t(e->port) << 32 | e->next_hop.value).second)
          plan.resolve.emplace_back(e->port, e->next_hop);
  }
  return plan;
}

template <DataPort Port>
std::string BasicDataplane<Port>::commit(PreparedInstall& plan) {
  const uint64_t deletions = services_.deletions();
  if (auto error = services_.commit(plan.services); !error.empty()) return error;
  conns_.set_timeouts(plan.timeouts);
  conns6_.set_timeouts(plan.timeouts);
  // A walk of the whole table, only when this install deleted a server.
  if (sysctls_.expire_nodest_conn && services_.deletions() != deletions) [[unlikely]]
    expire_deleted_destinations();
  std::swap(owned_, plan.owned);
  std::swap(owned6_, plan.owned6);
  source_candidates6_.assign(ports_.size(), {});
  for (const auto& [vip, port] : owned6_)
    source_candidates6_[port].emplace_back(Ip6Prefix{vip, 128});
  for (const auto& a : routes_.addresses6())
    if (auto it = port_by_name_.find(a.ifname); it != port_by_name_.end())
      source_candidates6_[it->second].emplace_back(Ip6Prefix{a.addr, a.prefix});
  for (const auto& [port, next_hop] : plan.resolve)
    neighbours_.want(int(port), next_hop, now_ms_, arp_requests_);
  send_arp_requests();
  for (const auto& [port, next_hop] : plan.resolve6)
    neighbours6_.want(int(port), next_hop, now_ms_, solicits_);
  send_solicits();
  flush();
  return {};
}

template <DataPort Port>
std::vector<std::pair<std::string, uint64_t>> BasicDataplane<Port>::counters() const {
  static constexpr const char* kDiscardNames[] = {
      "not_ipv4",      "fragment",        "no_service",       "no_destination", "table_full",
      "no_local_port", "dest_gone",       "no_route",         "ttl_expired",    "not_for_us",
      "tx_failed",     "arp_not_on_link", "ipv6_unsupported", "icmp_checksum",  "no_call_id",
      "not_scheduled", "drop_packet"};
  static_assert(std::size(kDiscardNames) == std::size_t(Discard::Count));
  std::vector<std::pair<std::string, uint64_t>> out;
  for (std::size_t i = 1; i < fwd::kDropReasonCount; ++i)
    out.emplace_back("drop_" + std::string(fwd::kDropReasonNames[i]), drops_[i]);
  for (std::size_t i = 0; i < discards_.size(); ++i)
    out.emplace_back(std::string("discard_") + kDiscardNames[i], discards_[i]);
  for (const auto& p : ports_) {
    if constexpr (requires { p->collect_rx_ring_drops(); }) p->collect_rx_ring_drops();
    const auto& c = p->counters();
    out.emplace_back(p->name() + "_rx_frames", c.rx_frames);
    out.emplace_back(p->name() + "_tx_frames", c.tx_frames);
    out.emplace_back(p->name() + "_tx_ring_full", c.tx_ring_full);
    out.emplace_back(p->name() + "_rx_ring_drops", c.rx_ring_drops);
    out.emplace_back(p->name() + "_rx_other_host", c.rx_other_host);
    out.emplace_back(p->name() + "_rx_too_big", c.rx_too_big);
  }
  const auto& frag = reassembler_.counters();
  out.emplace_back("frag_completed", frag.completed);
  out.emplace_back("frag_expired", frag.expired);
  for (std::size_t i = 1; i < fwd::kReassemblyDropCount; ++i)
    out.emplace_back("frag_drop_" + std::string(fwd::kReassemblyDropNames[i]), frag.drops[i]);
  const auto& frag6 = reassembler6_.counters();
  out.emplace_back("frag6_completed", frag6.completed);
  out.emplace_back("frag6_expired", frag6.expired);
  for (std::size_t i = 1; i < fwd::kReassemblyDropCount; ++i)
    out.emplace_back("frag6_drop_" + std::string(fwd::kReassemblyDropNames[i]), frag6.drops[i]);
  const auto& n = neighbours_.counters();
  out.emplace_back("sync_queued", sync_counters_.queued);
  out.emplace_back("sync_queue_full", sync_counters_.queue_full);
  out.emplace_back("sync_received", sync_counters_.received);
  out.emplace_back("sync_created", sync_counters_.created);
  out.emplace_back("sync_updated", sync_counters_.updated);
  out.emplace_back("sync_ignored", sync_counters_.ignored);
  out.emplace_back("sync_skipped", sync_counters_.skipped);
  out.emplace_back("sync_table_full", sync_counters_.table_full);
  out.emplace_back("arp_requests_sent", n.requests_sent);
  out.emplace_back("arp_dropped_unresolved", n.dropped_unresolved);
  out.emplace_back("arp_unsolicited", n.unsolicited);
  out.emplace_back("arp_table_full", n.table_full);
  out.emplace_back("arp_forgotten", n.forgotten);
  out.emplace_back("arp_evicted", n.evicted);
  out.emplace_back("arp_timer_passes", n.timer_passes);
  out.emplace_back("arp_entries", neighbours_.size());
  const auto& t = conns_.stats();
  out.emplace_back("conn_entries", conns_.size());
  out.emplace_back("conn_inserted", t.inserted);
  out.emplace_back("conn_expired", t.expired);
  out.emplace_back("conn_refused_full", t.refused_full);
  out.emplace_back("conn_capacity", conns_.capacity());
  out.emplace_back("conn_pressure_at", conns_.pressure_at());
  out.emplace_back("conn_under_pressure", conns_.under_pressure() ? 1 : 0);
  out.emplace_back("conn_pressure_episodes", t.pressure_episodes);
  out.emplace_back("conn_early_dropped", t.early_dropped);
  out.emplace_back("conn_early_drop_misses", t.early_drop_misses);
  out.emplace_back("conn_short_syn_recv", t.short_syn_recv);
  for (auto& c : ipv6_counters()) out.push_back(std::move(c));
  return out;
}

template <DataPort Port>
DirectorState BasicDataplane<Port>::summary() const {
  auto s = services_.state();
  // ipvsadm's header names the connection hash table's size; vsd's has a bucket per entry.
  s.connection_table_size = static_cast<uint32_t>(conns_.capacity());
  return s;
}

template <DataPort Port>
DirectorState BasicDataplane<Port>::state() const {
  auto s = summary();
  uint64_t now = clock_.now_ms();
  conns_.for_each([&](const Conn& c) { s.connections.push_back(conns_.describe(c, now)); });
  for (std::size_t at = 0; at != Conn6Table::kListed;)
    at = conns6_.describe_from(at, kListingChunk, kListingSlots, now, s.connections);
  return s;
}

template <DataPort Port>
std::size_t BasicDataplane<Port>::connections(std::size_t from,
                                              std::vector<ConnectionEntry>& out) const {
  // The IPv4 table's slots first, then the IPv6 table's entries, numbered on from its capacity.
  const std::size_t ipv4_end = conns_.capacity();
  if (from < ipv4_end)
    return std::min(conns_.describe_from(from, kListingChunk, kListingSlots, clock_.now_ms(), out),
                    ipv4_end);
  const std::size_t next =
      conns6_.describe_from(from - ipv4_end, kListingChunk, kListingSlots, clock_.now_ms(), out);
  return next == Conn6Table::kListed ? ctl::kNoMoreConnections : ipv4_end + next;
}

// --- the per-packet path ---------------------------------------------------------------

template <DataPort Port>
void BasicDataplane<Port>::handle(std::size_t port, std::span<uint8_t> frame, bool vlan_tagged) {
  Hints* ahead = take_look_ahead(frame.data());
  if (vlan_tagged) {
    drops_[std::size_t(fwd::DropReason::VlanTagged)]++;
    return;
  }
  const auto c = fwd::classify(frame);
  switch (c.verdict) {
    case fwd::Verdict::Ipv4: {
      InFlight f{port, frame, c.packet, ahead ? *ahead : Hints{}};
      handle_ipv4(f);
      return;
    }
    case fwd::Verdict::Arp:
      handle_arp(port, frame);
      return;
    case fwd::Verdict::NotIpv4:
      if (frame.size() > fwd::wire::eth::kHeaderLen &&
          fwd::load_be16(frame, fwd::wire::eth::kType) == fwd::wire::eth::kTypeIpv6)
        return handle_ipv6(port, frame, hints6_of(ahead));
      count(Discard::NotIpv4);
      return;
    case fwd::Verdict::Drop:
      drops_[std::size_t(c.drop)]++;
      return;
  }
}

template <DataPort Port>
void BasicDataplane<Port>::prefetch(std::span<const uint8_t> frame, LookAhead stage) {
  if (stage != LookAhead::Bucket) {
    if (const Hints* ahead = look_ahead_for(frame.data())) {
      // A frame's slot holds hints for its own family; the other family's are made for no
      // key and cost a compare.
      const Hints6& ahead6 = *hints6_of(ahead);
      if (stage == LookAhead::Entry) {
        conns_.prefetch_entry(ahead->in);
        conns_.prefetch_entry(ahead->out);
        conns6_.prefetch_entry(ahead6.in);
        conns6_.prefetch_entry(ahead6.out);
      } else {
        conns_.prefetch_chain(ahead->in);
        conns_.prefetch_chain(ahead->out);
        conns6_.prefetch_chain(ahead6.in);
        conns6_.prefetch_chain(ahead6.out);
      }
    }
    return;
  }
  // Fragments and other protocols are not looked up by their ports, so they are not worth a
  // guess.
  const auto ip = fwd::peek_ipv4(frame);
  if (!ip) return prefetch_ipv6(frame);
  if (!ip->has_ports) return;
  const Proto proto = proto_of(*ip);
  const Endpoint src{ip->src, ip->sport};
  const Endpoint dst{ip->dst, ip->dport};
  // As handle_ipv4 looks up: a VIP's packet from the client only; any other a reply first,
  // then, when fwmark services may serve it (handle_marked), from the client too.
  const std::size_t slot = look_ahead_next_++ % kLookAheadSlots;
  look_ahead_frames_[slot] = frame.data();
  Hints& hints = look_ahead_hints_[slot];
  const bool to_vip = services_.is_vip(dst.addr);
  hints.out = to_vip ? ConnTable::Hint{} : conns_.prefetch_out(proto, src, dst);
  hints.in = to_vip || services_.has_fwmark_services() ? conns_.prefetch_in(proto, src, dst)
                                                       : ConnTable::Hint{};
  look_ahead_hints6_[slot] = Hints6{};
}

template <DataPort Port>
typename BasicDataplane<Port>::Hints* BasicDataplane<Port>::look_ahead_for(const uint8_t* frame) {
  if (frame == nullptr) return nullptr;
  // Newest first: a slot left by a frame that was looked ahead for and never handled may
  // name the same address as a newer one.
  for (std::size_t back = 1; back <= kLookAheadSlots; ++back) {
    const std::size_t slot = (look_ahead_next_ - back) % kLookAheadSlots;
    if (look_ahead_frames_[slot] == frame) return &look_ahead_hints_[slot];
  }
  return nullptr;
}

template <DataPort Port>
typename BasicDataplane<Port>::Hints* BasicDataplane<Port>::take_look_ahead(const uint8_t* frame) {
  Hints* ahead = look_ahead_for(frame);
  if (ahead) look_ahead_frames_[std::size_t(ahead - look_ahead_hints_.data())] = nullptr;
  return ahead;
}

template <DataPort Port>
bool BasicDataplane<Port>::owns(std::size_t port, Ipv4 address) const {
  auto it = owned_.find(address.value);
  return it != owned_.end() && it->second == port;
}

template <DataPort Port>
void BasicDataplane<Port>::handle_arp(std::size_t port, std::span<uint8_t> frame) {
  auto arp = fwd::parse_arp(frame);
  if (!arp) return;
  bool for_us = owns(port, arp->target_ip);
  // As the kernel's arp_process: learn from replies, and from requests that name us; and only
  // a sender this port reaches directly, so spoofed senders from elsewhere teach nothing.
  const auto via = egress_to(arp->sender_ip);
  const bool on_link =
      !arp->sender_ip.is_zero() && via && via->port == port && via->next_hop == arp->sender_ip;
  if (!on_link) count(Discard::ArpNotOnLink);
  if (on_link && (for_us || arp->operation == fwd::wire::arp::kOpReply))
    neighbours_.learn(int(port), arp->sender_ip, arp->sender_mac, now_ms_, released_,
                      for_us && arp->operation == fwd::wire::arp::kOpRequest
                          ? NeighbourTable::Heard::RequestNamingUs
                          : NeighbourTable::Heard::Reply);
  for (auto& parked : released_) {
    if (const Mac* mac = neighbours_.lookup(parked.port, parked.next_hop)) {
      std::copy(mac->bytes.begin(), mac->bytes.end(), parked.frame.begin());
      if (!ports_[parked.port]->queue(parked.frame)) count(Discard::TxFailed);
    }
  }
  released_.clear();
  // The kernel answers for the host's own addresses: one answer to each request.
  if (answers_arp_ && for_us && arp->operation == fwd::wire::arp::kOpRequest &&
      !vips_follow_host_ && !host_.contains(arp->target_ip)) {
    auto n = fwd::build_arp_reply(scratch_, *arp, ports_[port]->mac());
    if (n) answer(port, n);
  }
}

template <DataPort Port>
void BasicDataplane<Port>::handle_ipv4(InFlight& f) {
  const auto& p = f.packet;
  if (p.is_fragment()) return handle_fragment(f);
  if (p.is_icmp() && p.is_icmp_error && handle_icmp_error(f)) return;
  if (services_.is_vip(p.dst)) return handle_to_vip(f);
  if (p.has_ports())
    if (Conn* conn = conns_.find_out(proto_of(p), {p.src, p.sport}, {p.dst, p.dport}, &f.hints.out))
      return handle_reply(f, *conn);
  if (p.is_udp() && p.has_l4 && services_.has_conn_out_services() && !backup_only_now() &&
      start_from_server(f))
    return;
  if (p.has_ports() && services_.has_fwmark_services() && !backup_only_now() && handle_marked(f))
    return;
  if (sysctls_.nat_icmp_send && p.has_ports() && refuse_unclaimed_from_server(f)) return;
  if (owned_.count(p.dst.value)) return handle_to_director(f);
  route(f);
}

// ip_vs_out's requests a real server starts (__ip_vs_rs_conn_out, the SIP engine's conn_out,
// ip_vs_new_conn_out): a UDP datagram from a NAT destination's address and port that no
// connection claims, when that destination's service has an engine, makes the connection
// CIP:cport -> VIP:vport -> RIP:rport it would have been a reply of, and goes out as such. A
// persistent service first keys a template by the client's masked address and the datagram's
// Call-ID, pointing at this server (one pointing elsewhere is replaced); without a Call-ID
// nothing is made and the datagram goes on as it came. False: not taken.
template <DataPort Port>
bool BasicDataplane<Port>::start_from_server(InFlight& f) {
  const auto& p = f.packet;
  const auto h = services_.nat_real_server(Proto::Udp, {p.src, p.sport});
  if (!h) return false;
  ServiceRuntime* svc = services_.service_of(*h);
  if (!svc || svc->config.persistence_engine.empty()) return false;
  const auto& key = svc->config.key;
  if (key.fwmark != 0 || key.vip.port == 0 || p.sport == 0) return false;
  if (p.l3_end() > f.frame.size()) return false;
  const Endpoint vip = key.vip.v4();
  const Endpoint client{p.dst, p.dport};
  Conn* tmpl = nullptr;
  if (svc->config.persistent) {
    const auto call_id = fwd::sip_call_id(f.frame.subspan(p.payload_offset(), p.payload_len()));
    if (!call_id) return false;
    auto tkey =
        TemplateKey::for_service(Proto::Udp, client.addr, svc->config.persistence_mask, vip);
    tkey.pe_data = *call_id;
    tmpl = conns_.find_template(tkey);
    if (tmpl) {
      const auto& was = services_.dest(tmpl->dest());
      if (tmpl->dest() != *h || was.deleted ||
          (sysctls_.expire_quiescent_template && was.config.weight == 0))
        tmpl = nullptr;
    }
    if (!tmpl) {
      tmpl = conns_.insert_template(
          {tkey, {p.src, p.sport}, Method::Nat, *h, svc->config.persistence_timeout}, now_ms_);
      if (!tmpl) return count(Discard::TableFull), false;
      sync_new_entry(*tmpl);
    }
    conns_.refresh(*tmpl, now_ms_);
  }
  auto& dest = services_.dest(*h);
  NewConn nc{Proto::Udp, client,      vip, {p.src, p.sport},
             {},         Method::Nat, *h,  svc->config.one_packet};
  Conn* conn = conns_.insert(nc, now_ms_, tmpl);
  if (!conn) return count(Discard::TableFull), false;
  sync_new_entry(*conn);
  dest.totals.conns++;
  svc->totals.conns++;
  handle_reply(f, *conn);
  return true;
}

// ip_vs_out with nat_icmp_send: the real server still talks on a connection the director no
// longer has (ip_vs_has_real_service: a live NAT destination's address and port); it hears
// port unreachable, from the director's address on its side, unless it sent a RST.
template <DataPort Port>
bool BasicDataplane<Port>::refuse_unclaimed_from_server(InFlight& f) {
  const auto& p = f.packet;
  if (p.is_tcp() && p.has_tcp_flag(fwd::wire::tcp::kRst)) return false;
  if (!services_.is_nat_real_server(proto_of(p), {p.src, p.sport})) return false;
  count(Discard::NoService);
  if (auto self = port_address_[f.port])
    if (auto n = fwd::build_port_unreachable(scratch_, f.frame, p, *self,
                                             {ports_[f.port]->mac(), ip_id_++}))
      answer(f.port, n);
  return true;
}

// ip_vs_in's order: a SYN first (expire_nodest_conn with a weight-0 server, then
// conn_reuse_mode's states), then a deleted server. A connection under a persistence template
// is reused, never rescheduled, by conn_reuse_mode (is_new_conn_expected): the template would
// pick the same server anyway.
template <DataPort Port>
auto BasicDataplane<Port>::existing_fate(const Conn& conn, const fwd::PacketView& p,
                                         std::span<const uint8_t> frame) -> Existing {
  const auto& dest = services_.dest(conn.dest());
  if (p.is_tcp() && p.has_tcp_flag(fwd::wire::tcp::kSyn)) [[unlikely]] {
    if (sysctls_.expire_nodest_conn && dest.config.weight == 0) return Existing::Reschedule;
    if (sysctls_.conn_reuse_mode && !conn.has_template()) {
      const TcpState state = conn.tcp_state();
      if (state == TcpState::TimeWait || state == TcpState::Close ||
          ((sysctls_.conn_reuse_mode & 2) && state == TcpState::FinWait && conn.no_output()))
        return Existing::Reschedule;
    }
  }
  // is_new_conn for SCTP: an INIT first; is_new_conn_expected: the old one is CLOSED. Both
  // only with conn_reuse_mode on, as ip_vs_in asks.
  if (p.is_sctp() && sysctls_.conn_reuse_mode && first_sctp_chunk(frame, p) == sctp_chunk::kInit)
      [[unlikely]] {
    if (sysctls_.expire_nodest_conn && dest.config.weight == 0) return Existing::Reschedule;
    if (!conn.has_template() && conn.sctp_state() == SctpState::Closed) return Existing::Reschedule;
  }
  if (dest.deleted) [[unlikely]]
    return sysctls_.expire_nodest_conn ? Existing::Reschedule : Existing::Drop;
  return Existing::Keep;
}

template <DataPort Port>
void BasicDataplane<Port>::expire_deleted_destinations() {
  // Collected first: expire_now relinks timers, which the walk should not see change.
  std::vector<Conn*> gone;
  conns_.for_each([&](Conn& conn) {
    if (services_.dest(conn.dest()).deleted) gone.push_back(&conn);
  });
  for (Conn* conn : gone) conns_.expire_now(*conn, now_ms_);
}

// IPVS sees whole datagrams only: fragments are reassembled first, and the datagram goes on
// cut again at the size of the largest fragment it came in (spec section 3).
template <DataPort Port>
void BasicDataplane<Port>::handle_fragment(const InFlight& f) {
  auto r = reassembler_.add(f.frame, f.packet, now_ms_);
  if (r.status == fwd::ReassemblyStatus::Dropped) return count(Discard::Fragment);
  if (r.status != fwd::ReassemblyStatus::Complete) return;
  const auto whole = fwd::classify(r.frame);
  if (whole.verdict != fwd::Verdict::Ipv4 || whole.packet.is_fragment()) {
    drops_[std::size_t(whole.drop)]++;
    return;
  }
  InFlight datagram{f.port, r.frame, whole.packet, f.hints, r.largest_fragment};
  handle_ipv4(datagram);
}

// ip_expire: the sender of a datagram that never completed hears "fragment reassembly time
// exceeded" quoting its first fragment, when the datagram was for the director itself (a VIP
// or one of its addresses: a local route, which is where the kernel sends it).
template <DataPort Port>
void BasicDataplane<Port>::reassembly_timed_out(std::span<const uint8_t> first) {
  auto c = fwd::classify(first);
  if (c.verdict != fwd::Verdict::Ipv4) return;
  const auto& p = c.packet;
  if (!services_.is_vip(p.dst) && !owned_.count(p.dst.value)) return;
  if (!services_.is_vip(p.dst) && host_.contains(p.dst)) return;  // the kernel's datagram
  if (!fwd::may_send_icmp_error(first, p)) return;
  auto egress = egress_to(p.src);
  if (!egress) return count(Discard::NoRoute);
  fwd::IcmpError error{fwd::wire::icmp::kTimeExceeded, fwd::wire::icmp::kCodeFragmentReassemblyTime,
                       0, false};
  if (auto n = fwd::build_icmp_error(scratch_, first, p, error, p.dst,
                                     {ports_[egress->port]->mac(), ip_id_++}))
    emit(*egress, std::span<uint8_t>(scratch_.data(), n), 0);
}

// ICMP errors about a connection travel with it (spec section 3), each through the
// connection's forwarder. As ip_vs_in_icmp and ip_vs_out_icmp, the checksum is judged once
// the connection is found: an error about a connection with a bad checksum is dropped, one
// about none is left to the router (false) whatever its checksum.
template <DataPort Port>
bool BasicDataplane<Port>::handle_icmp_error(InFlight& f) {
  const auto& p = f.packet;
  if (!p.has_quote) return false;
  const auto& q = p.quoted;
  const bool checksum_ok = fwd::icmp_checksum_ok(f.frame, p);
  // About a packet the director tunnelled: the quote is the outer IPIP header, the
  // connection the inner packet's.
  if (q.protocol == fwd::wire::ip::kProtoIpip) {
    auto inner = fwd::parse_quoted(f.frame, q.l4, p.l3_end());
    if (!inner || !inner->has_ports) return false;
    Conn* conn =
        conns_.find_in(proto_of(*inner), {inner->src, inner->sport}, {inner->dst, inner->dport});
    if (conn && !checksum_ok) return count(Discard::IcmpChecksum), true;
    return conn && relay_from_server(f, *conn, *inner, fwd::ServerErrors::Tunnelling);
  }
  if (!q.has_ports) return false;
  // From the real server's side: it quotes what the director sent it (CIP -> RIP, or
  // LIP -> RIP for FULLNAT).
  if (Conn* conn = conns_.find_out(proto_of(q), {q.dst, q.dport}, {q.src, q.sport})) {
    if (!checksum_ok) return count(Discard::IcmpChecksum), true;
    return relay_from_server(f, *conn, q, fwd::ServerErrors::Quoting);
  }
  // From the client's side: it quotes a reply, VIP:vport -> CIP:cport. Linux 6.1 judges
  // the checksum of such an error only when it translates it (NAT): DR and TUN send it on as
  // it came, bad checksum and all (observed; docs/ipvs.md).
  if (Conn* conn = conns_.find_in(proto_of(q), {q.dst, q.dport}, {q.src, q.sport})) {
    const bool translates = conn->method() == Method::Nat || conn->method() == Method::FullNat;
    if (!checksum_ok && translates) return count(Discard::IcmpChecksum), true;
    relay_to_server(f, *conn);
    return true;
  }
  if (sysctls_.schedule_icmp) [[unlikely]]
    if (Conn* conn = schedule_for_icmp(f, q)) {
      relay_to_server(f, *conn);
      return true;
    }
  return false;
}

// The quote is the reply a client's side refused, VIP:vport -> CIP:cport: the flow is the
// other way round. TCP is scheduled as tcp_conn_schedule would the quoted segment (a SYN, or
// with sloppy_tcp anything but a RST), which needs its whole header quoted.
template <DataPort Port>
Conn* BasicDataplane<Port>::schedule_for_icmp(const InFlight& f, const fwd::QuotedPacket& q) {
  if (!services_.is_vip(q.src)) return nullptr;
  ServiceRuntime* svc = services_.lookup(proto_of(q), {q.src, q.sport});
  if (!svc) return nullptr;
  if (q.protocol == fwd::wire::ip::kProtoTcp) {
    if (std::size_t(q.l4) + 20 > f.packet.l3_end()) return nullptr;
    const uint8_t flags = f.frame[q.l4 + 13];
    const bool rst = flags & fwd::wire::tcp::kRst, syn = flags & fwd::wire::tcp::kSyn;
    if (rst || !(syn || sysctls_.sloppy_tcp)) return nullptr;
  }
  Refusal why = Refusal::NoDestination;
  Conn* conn =
      create_connection(*svc, {proto_of(q), {q.dst, q.dport}, {q.src, q.sport}}, std::nullopt, why);
  // No state is set from an ICMP error: the entry keeps ip_vs_conn_new's 3 s, until the
  // flow's own packets give it their state's timeout.
  if (conn) conns_.apply_synced(*conn, TcpState::None, /*inactive=*/true, false, 3, now_ms_);
  return conn;
}

template <DataPort Port>
bool BasicDataplane<Port>::relay_from_server(InFlight& f, Conn& conn,
                                             const fwd::QuotedPacket& about,
                                             fwd::ServerErrors quoting) {
  const fwd::Forwarder& forwarder = forwarder_of(conn);
  if (forwarder.server_errors != quoting) return false;
  const fwd::ConnView view = view_of(conn);
  auto egress = egress_to(forwarder.server_error_to(f.packet, view));
  if (!egress) return count(Discard::NoRoute), true;
  auto ws = workspace();
  send(f, *egress,
       forwarder.server_error(f.frame, f.packet, about, view, port_links_[egress->port], ws));
  return true;
}

template <DataPort Port>
void BasicDataplane<Port>::relay_to_server(InFlight& f, Conn& conn) {
  auto egress = egress_to(conn.destination().addr);
  if (!egress) return count(Discard::NoRoute);
  if (f.packet.ttl_expires()) return count(Discard::TtlExpired);
  auto ws = workspace();
  send(f, *egress,
       forwarder_of(conn).icmp_in(f.frame, f.packet, view_of(conn), port_links_[egress->port], ws));
}

template <DataPort Port>
void BasicDataplane<Port>::handle_to_vip(InFlight& f) {
  const auto& p = f.packet;
  fwd::Responder me{ports_[f.port]->mac(), 0};
  // A VIP the host also holds: what is no service of it is the kernel's (the ingress chain
  // passes it there). Asked only on the two paths that answer, not per service packet.
  if (p.is_icmp()) {
    // Echo to a VIP is the director's to answer (spec section 3).
    if (!vips_follow_host_ && !host_.contains(p.dst) &&
        p.icmp_type == fwd::wire::icmp::kEchoRequest && fwd::icmp_checksum_ok(f.frame, p))
      if (auto n = fwd::build_echo_reply(scratch_, f.frame, p, me)) answer(f.port, n);
    return;
  }
  if (!p.has_ports()) return count(Discard::NotForUs);
  // As ip_vs_in: a packet of a connection stays with it; only a new one is classified and
  // looked up (fwmark first, then address and port, then the VIP's port-0 service).
  // backup_only with a backup daemon running: IPVS passes every packet to the stack, which
  // answers as for a port with no service (ip_vs_in_hook's sysctl_backup_only).
  const bool ipvs_off = backup_only_now();
  Conn* conn = ipvs_off
                   ? nullptr
                   : conns_.find_in(proto_of(p), {p.src, p.sport}, {p.dst, p.dport}, &f.hints.in);
  if (conn && !keep_existing(conn, p, f.frame)) return count(Discard::DestinationGone);
  ServiceRuntime* svc = ipvs_off ? nullptr
                        : conn   ? services_.service_of(conn->dest())
                                 : services_.lookup(proto_of(p), {p.dst, p.dport});
  if (!svc) {
    // The director's own stack would answer: RST, or port unreachable (spec section 3).
    count(Discard::NoService);
    if (host_.contains(p.dst)) return;
    // SCTP: the kernel's stack has no handler for it unless an SCTP socket loaded the sctp
    // module; without one it answers protocol unreachable, checking no CRC (the qemu-kernel
    // DUT's no-service/sctp cell).
    if (p.is_sctp()) {
      if (auto n = fwd::build_protocol_unreachable(scratch_, f.frame, p, p.dst, me))
        answer(f.port, n);
      return;
    }
    if (!fwd::l4_checksum_ok(f.frame, p)) return;
    std::size_t n = p.is_tcp() ? fwd::build_tcp_reset(scratch_, f.frame, p, me)
                               : fwd::build_port_unreachable(scratch_, f.frame, p, p.dst, me);
    if (n) answer(f.port, n);
    return;
  }
  serve(f, *svc, conn, /*to_vip=*/true);
}

// Fwmark services serve whatever vsd's classifier marks, as an iptables MARK rule may match
// any destination, not only an address the director holds. False: no fwmark service's packet.
template <DataPort Port>
bool BasicDataplane<Port>::handle_marked(InFlight& f) {
  const auto& p = f.packet;
  Conn* conn = conns_.find_in(proto_of(p), {p.src, p.sport}, {p.dst, p.dport}, &f.hints.in);
  if (conn && !keep_existing(conn, p, f.frame)) return count(Discard::DestinationGone), true;
  ServiceRuntime* svc = conn
                            ? services_.service_of(conn->dest())
                            : services_.find_mark(services_.mark_of(proto_of(p), {p.dst, p.dport}));
  if (!svc) {
    if (conn) return count(Discard::DestinationGone), true;  // its service was deleted
    return false;
  }
  serve(f, *svc, conn, /*to_vip=*/false);
  return true;
}

namespace {
// Milliseconds since midnight UTC, what a timestamp option records (RFC 791).
uint32_t utc_ms_of_day() {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return uint32_t(ms % (24LL * 60 * 60 * 1000));
}
}  // namespace

// A packet whose service is known: a new connection is made (TCP only on a SYN), then counted
// and forwarded. to_vip: the destination is the director's, whose stack answers what IPVS does
// not take; otherwise that is routed on.
template <DataPort Port>
void BasicDataplane<Port>::serve(InFlight& f, ServiceRuntime& svc, Conn* conn, bool to_vip) {
  const auto& p = f.packet;
  fwd::Responder me{ports_[f.port]->mac(), 0};
  if (!conn) {
    const bool rst = p.has_tcp_flag(fwd::wire::tcp::kRst);
    const bool schedules =
        sysctls_.sloppy_tcp ? !rst : p.has_tcp_flag(fwd::wire::tcp::kSyn) && !rst;
    if (p.is_tcp() && !schedules) {
      // sloppy_tcp=0: only a SYN creates a connection; the rest meets the stack's RST.
      if (!to_vip) return route(f);
      if (!fwd::l4_checksum_ok(f.frame, p)) return;  // tcp_v4_rcv drops it unanswered
      if (auto n = fwd::build_tcp_reset(scratch_, f.frame, p, me)) answer(f.port, n);
      return;
    }
    if (p.is_sctp()) {
      // sctp_conn_schedule: an INIT (with sloppy_sctp anything but an ABORT) starts one; a
      // packet without a chunk is dropped; the rest is passed on unscheduled, which for a VIP
      // is to the director's own stack: without the sctp module it answers protocol
      // unreachable, as for a port of no service (the unknown-flow kind's sctp cells).
      const auto chunk = first_sctp_chunk(f.frame, p);
      if (!chunk) return count(Discard::NotScheduled);
      const bool starts =
          *chunk != sctp_chunk::kAbort && (*chunk == sctp_chunk::kInit || sysctls_.sloppy_sctp);
      if (!starts && !to_vip) return route(f);
      if (!starts) {
        count(Discard::NotScheduled);
        if (auto n = fwd::build_protocol_unreachable(scratch_, f.frame, p, p.dst, me))
          answer(f.port, n);
        return;
      }
    }
    Refusal why = Refusal::NoDestination;
    const bool whole_udp = p.is_udp() && p.has_l4 && p.l3_end() <= f.frame.size();
    conn = create_connection(
        svc, {proto_of(p), {p.src, p.sport}, {p.dst, p.dport}},
        whole_udp ? std::optional(f.frame.subspan(p.payload_offset(), p.payload_len()))
                  : std::nullopt,
        why);
    if (!conn) {
      // cache_bypass (ip_vs_leave): a fwmark service's packet goes on to where it was going,
      // unless that is the director itself.
      if (why == Refusal::NoDestination && sysctls_.cache_bypass && svc.config.key.fwmark != 0)
        return to_vip ? count(Discard::NoDestination) : route(f);
      // ip_vs_leave: no destination: tell the client the port is unreachable.
      if (why == Refusal::NoDestination)
        if (auto n = fwd::build_port_unreachable(scratch_, f.frame, p, p.dst, me))
          answer(f.port, n);
      return;
    }
  }
  // Both callers asked existing_fate first: a deleted server's connection never comes here.
  auto& dest = services_.dest(conn->dest());
  advance(*conn, PacketFrom::Client, f);
  note_for_sync(svc, *conn);
  add(svc.totals, true, p.ip_total_len);
  add(dest.totals, true, p.ip_total_len);
  if (p.ttl_expires()) {
    // Spec section 2: time exceeded from the VIP; the entry exists already.
    count(Discard::TtlExpired);
    if (auto n = fwd::build_time_exceeded(scratch_, f.frame, p, p.dst, me)) answer(f.port, n);
    return;
  }
  // A packet to the director's own address had its options stamped by the stack before IPVS
  // saw it (spec section 2). One to another address (a fwmark service's) is left as it came.
  if (to_vip && p.has_ip_options())
    fwd::stamp_options_on_receipt(f.frame, p, p.dst, utc_ms_of_day());
  to_real_server(f, *conn);
}

template <DataPort Port>
Conn* BasicDataplane<Port>::create_connection(ServiceRuntime& svc, const FlowKey& flow,
                                              std::optional<std::span<const uint8_t>> udp_payload,
                                              Refusal& why) {
  // ip_vs_todrop, in each protocol's conn_schedule once the service is known, before the
  // persistence engine and the scheduler see the packet.
  if (defence_.drop_new_connection()) [[unlikely]]
    return why = Refusal::Defence, count(Discard::DropPacket), nullptr;
  why = Refusal::NoDestination;
  std::string_view pe_data;
  if (svc.config.persistent && !svc.config.persistence_engine.empty()) {
    // ip_vs_sched_persist drops what the engine finds no data in (its fill_param fails):
    // anything but UDP, and a datagram without a Call-ID.
    auto call_id = udp_payload ? fwd::sip_call_id(*udp_payload) : std::nullopt;
    if (!call_id) return why = Refusal::NoPeData, count(Discard::NoCallId), nullptr;
    pe_data = *call_id;
  }
  const auto choice = svc.config.persistent ? choose_persistent(svc, flow, pe_data, why)
                                            : choose_destination(svc, flow);
  if (!choice) return nullptr;
  why = Refusal::NoRoom;
  auto& dest = services_.dest(choice->dest);
  NewConn nc{flow.proto,
             flow.client,
             flow.virtual_addr,
             real_server_of(svc, dest.config.addr.v4(), flow),
             {},
             dest.config.method,
             choice->dest,
             svc.config.one_packet};
  nc.toa = svc.config.toa;
  if (forwarder_for(nc.method).needs_local_end) {
    auto local = allocate_local(svc, choice->dest, flow.proto, dest.config.addr.v4());
    if (!local) return count(Discard::NoLocalPort), nullptr;
    nc.local = *local;
  }
  Conn* conn = conns_.insert(nc, now_ms_, choice->persistence_template);
  if (!conn) return count(Discard::TableFull), nullptr;
  sync_new_entry(*conn);
  dest.totals.conns++;
  svc.totals.conns++;
  return conn;
}

template <DataPort Port>
auto BasicDataplane<Port>::choose_destination(ServiceRuntime& svc, const FlowKey& flow)
    -> std::optional<Choice> {
  auto h = services_.schedule(svc, flow, now_ms_);
  if (!h) return count(Discard::NoDestination), std::nullopt;
  return Choice{*h, nullptr};
}

// Persistence (ip_vs_core.c ip_vs_sched_persist): a live template for the client's masked
// address sends it where it went before, whatever the scheduler would say; a template whose
// destination was deleted no longer counts. A quiescent (weight 0) one still does unless
// expire_quiescent_template is on. Otherwise the scheduler chooses and a template remembers it.
template <DataPort Port>
auto BasicDataplane<Port>::choose_persistent(ServiceRuntime& svc, const FlowKey& flow,
                                             std::string_view pe_data, Refusal& why)
    -> std::optional<Choice> {
  // ip_vs_sched_persist keys a fwmark service's template by <IPPROTO_IP, CIP & mask, mark>,
  // shared by every protocol; and when the packet's port is not the service's (fwmark and
  // port-0 services), the template points at RIP:0.
  const auto& mask = svc.config.persistence_mask;
  auto key =
      svc.config.key.fwmark != 0
          ? TemplateKey::for_fwmark(flow.proto, flow.client.addr, mask, svc.config.key.fwmark)
          : TemplateKey::for_service(flow.proto, flow.client.addr, mask, svc.config.key.vip.v4());
  // The SIP engine's ct_match: the same key, and the same Call-ID.
  key.pe_data = pe_data;
  Conn* tmpl = conns_.find_template(key);
  // ip_vs_check_template: a template to a deleted server, or with expire_quiescent_template
  // to a weight-0 one, is passed over, and a new one made under its key is the one found.
  if (tmpl && !template_serves(tmpl->dest())) tmpl = nullptr;
  DestHandle h = 0;
  if (tmpl) {
    h = tmpl->dest();
  } else {
    auto chosen = choose_destination(svc, flow);
    if (!chosen) return std::nullopt;
    h = chosen->dest;
    const auto& dest = services_.dest(h);
    const Endpoint target{dest.config.addr.addr.v4(),
                          is_services_port(svc, flow) ? dest.config.addr.port : uint16_t(0)};
    tmpl = conns_.insert_template(
        {key, target, dest.config.method, h, svc.config.persistence_timeout}, now_ms_);
    if (!tmpl) return why = Refusal::NoRoom, count(Discard::TableFull), std::nullopt;
    sync_new_entry(*tmpl);
  }
  conns_.refresh(*tmpl, now_ms_);
  return Choice{h, tmpl};
}

template <DataPort Port>
bool BasicDataplane<Port>::template_serves(DestHandle h) {
  const auto& dest = services_.dest(h);
  return !dest.deleted && !(sysctls_.expire_quiescent_template && dest.config.weight == 0);
}

// FULLNAT's local end: the service's local addresses in turn, per destination, each asked
// for a free port towards the real server.
template <DataPort Port>
std::optional<Endpoint> BasicDataplane<Port>::allocate_local(const ServiceRuntime& svc,
                                                             DestHandle dest, Proto proto,
                                                             Endpoint real_server) {
  const auto& pool = svc.config.local_addresses;
  if (pool.empty()) return std::nullopt;
  auto& cursor = laddr_cursor_[dest];
  for (std::size_t tries = 0; tries < pool.size(); ++tries) {
    Ipv4 lip = pool[cursor++ % pool.size()];
    if (auto lport = conns_.pick_local_port(proto, lip, real_server)) return Endpoint{lip, *lport};
  }
  return std::nullopt;
}

template <DataPort Port>
void BasicDataplane<Port>::advance(Conn& conn, PacketFrom from, const InFlight& f) {
  if (f.packet.is_sctp()) [[unlikely]]
    return conns_.on_sctp_packet(conn, from, sctp_deciding_chunk(sctp_packet_of(f.frame, f.packet)),
                                 now_ms_);
  conns_.on_packet(conn, from, f.packet.tcp_flags, now_ms_);
}

template <DataPort Port>
void BasicDataplane<Port>::to_real_server(InFlight& f, Conn& conn) {
  auto egress = egress_to(conn.destination().addr);
  if (!egress) return count(Discard::NoRoute);
  auto ws = workspace();
  const fwd::Sent sent =
      forwarder_of(conn).in(f.frame, f.packet, view_of(conn), port_links_[egress->port], ws);
  if (sent.toa_sent) conn.toa_sent();
  send(f, *egress, sent);
}

template <DataPort Port>
void BasicDataplane<Port>::handle_reply(InFlight& f, Conn& conn) {
  const auto& p = f.packet;
  auto egress = egress_to(conn.client().addr);
  if (!egress) return count(Discard::NoRoute);
  advance(conn, PacketFrom::Server, f);
  auto& dest = services_.dest(conn.dest());
  add(dest.totals, false, p.ip_total_len);
  if (auto* svc = services_.service_of(conn.dest())) add(svc->totals, false, p.ip_total_len);
  if (p.ttl_expires()) return count(Discard::TtlExpired);
  // The reply is forwarded by the director's stack around IPVS: its options are stamped on
  // receipt and on the way out (spec section 2, "IP options"); it leaves from the VIP.
  if (p.has_ip_options()) {
    const Ipv4 vip = conn.virtual_addr().addr;
    fwd::stamp_options_forwarded(f.frame, p, port_links_[f.port].address.value_or(vip), vip,
                                 utc_ms_of_day());
  }
  auto ws = workspace();
  send(f, *egress,
       forwarder_of(conn).out(f.frame, p, view_of(conn), port_links_[egress->port], ws));
}

template <DataPort Port>
void BasicDataplane<Port>::send_otherwise(const InFlight& f, const Egress& egress, fwd::Sent sent) {
  switch (sent.what) {
    case fwd::Xmit::Frame:
      return emit(egress, f.frame, f.refragment_at);
    case fwd::Xmit::Scratch:
      return emit(egress, std::span<uint8_t>(scratch_.data(), sent.length), f.refragment_at);
    case fwd::Xmit::FragNeeded: {
      fwd::Responder me{ports_[f.port]->mac(), 0};
      if (auto n = fwd::build_frag_needed(scratch_, f.frame, f.packet, f.packet.dst, sent.mtu, me))
        answer(f.port, n);
      return;
    }
    case fwd::Xmit::Nothing:
      return;
    case fwd::Xmit::NoRoute:
      return count(Discard::NoRoute);
    case fwd::Xmit::TtlExpired:
      return count(Discard::TtlExpired);
    case fwd::Xmit::TxFailed:
      return count(Discard::TxFailed);
  }
}

template <DataPort Port>
void BasicDataplane<Port>::handle_to_director(InFlight& f) {
  const auto& p = f.packet;
  // The host's own addresses are its kernel's (the ingress chain passes them); the others it
  // holds for vsd (local addresses) get their pings answered, as a stack would.
  if (!host_.contains(p.dst) && p.is_icmp() && p.icmp_type == fwd::wire::icmp::kEchoRequest &&
      fwd::icmp_checksum_ok(f.frame, p)) {
    if (auto n = fwd::build_echo_reply(scratch_, f.frame, p, {ports_[f.port]->mac(), ip_id_++}))
      answer(f.port, n);
    return;
  }
  count(Discard::NotForUs);
}

// Traffic of no service is routed as IPv4 forwarding does it (spec section 3: a NAT director
// is the real servers' gateway).
template <DataPort Port>
void BasicDataplane<Port>::route(InFlight& f) {
  const auto& p = f.packet;
  // ip_forward takes only frames to the port's own MAC, and no multicast (no multicast
  // routing here): a group's traffic is the kernel's, which the ingress chain passes.
  if ((f.frame[fwd::wire::eth::kDst] & 0x01) != 0 || (p.dst.value >> 28) == 0xe ||
      p.dst.value == 0xffffffff)
    return count(Discard::NotForUs);
  auto egress = egress_to(p.dst);
  if (!egress) return count(Discard::NoRoute);
  if (p.ttl_expires()) {
    count(Discard::TtlExpired);
    if (auto self = port_address_[f.port])
      if (auto n = fwd::build_time_exceeded(scratch_, f.frame, p, *self,
                                            {ports_[f.port]->mac(), ip_id_++}))
        answer(f.port, n);
    return;
  }
  fwd::dr_forward(f.frame, p, eth_from(egress->port));
  emit(*egress, f.frame, f.refragment_at);
}

// --- output ------------------------------------------------------------------------------

template <DataPort Port>
std::optional<typename BasicDataplane<Port>::Egress> BasicDataplane<Port>::egress_to(
    Ipv4 destination) const {
  for (const auto& r : port_routes_)
    if (destination.masked(r.mask) == r.destination)
      return Egress{r.port, r.gateway.is_zero() ? destination : r.gateway};
  return std::nullopt;
}

template <DataPort Port>
void BasicDataplane<Port>::emit(const Egress& egress, std::span<uint8_t> frame,
                                uint16_t refragment_at) {
  if (const Mac* mac = neighbours_.lookup(int(egress.port), egress.next_hop)) {
    std::copy(mac->bytes.begin(), mac->bytes.end(), frame.begin());
    uint16_t limit = uint16_t(std::min<uint32_t>(ports_[egress.port]->mtu(), 0xffff));
    if (refragment_at != 0) limit = std::min(limit, refragment_at);
    if (frame.size() > std::size_t(limit) + fwd::wire::eth::kHeaderLen)
      return queue_fragmented(egress.port, frame, limit);
    if (!ports_[egress.port]->queue(frame)) count(Discard::TxFailed);
    return;
  }
  neighbours_.park(int(egress.port), egress.next_hop, frame, now_ms_, arp_requests_);
  send_arp_requests();
}

template <DataPort Port>
void BasicDataplane<Port>::queue_fragmented(std::size_t port, std::span<uint8_t> frame,
                                            uint16_t size) {
  // Each piece holds one fragment: Ethernet, an IPv4 header with options, `size` bytes of IP.
  constexpr std::size_t kMaxPieces = 128;
  std::array<fwd::FragmentBuffer, kMaxPieces> pieces;
  const std::size_t piece_size = std::size_t(size) + fwd::wire::eth::kHeaderLen + 64;
  const std::size_t available = std::min(kMaxPieces, fragment_.size() / piece_size);
  for (std::size_t i = 0; i < available; ++i)
    pieces[i] = {std::span<uint8_t>(fragment_.data() + i * piece_size, piece_size), 0};
  std::size_t n = fwd::fragment_ipv4(frame, size, std::span(pieces.data(), available));
  if (n == 0) return count(Discard::TxFailed);
  for (std::size_t i = 0; i < n; ++i)
    if (!ports_[port]->queue(pieces[i].buffer.first(pieces[i].length))) count(Discard::TxFailed);
}

template <DataPort Port>
void BasicDataplane<Port>::answer(std::size_t port, std::size_t length) {
  if (!ports_[port]->queue(std::span<const uint8_t>(scratch_.data(), length)))
    count(Discard::TxFailed);
}

template <DataPort Port>
void BasicDataplane<Port>::send_arp_requests() {
  for (const auto& r : arp_requests_) {
    auto port = std::size_t(r.port);
    auto self = port_address_[port];
    if (!self) continue;
    auto n = fwd::build_arp_request(scratch_, ports_[port]->mac(), *self, r.target);
    if (n) answer(port, n);
  }
  arp_requests_.clear();
}

template <DataPort Port>
void BasicDataplane<Port>::flush() {
  for (auto& p : ports_) p->flush();
}

template <DataPort Port>
void BasicDataplane<Port>::tick() {
  now_ms_ = clock_.now_ms();
  // run_estimation=0 leaves the rates where they were; when it is on again, the first
  // estimate covers the whole pause.
  if (sysctls_.run_estimation && now_ms_ - last_estimate_ms_ >= RateEstimator::kIntervalMs) {
    services_.estimate_rates(now_ms_ - last_estimate_ms_);
    last_estimate_ms_ = now_ms_;
  }
  if (now_ms_ >= next_defence_ms_) {
    // defense_work: the level first, then the random drop it may have turned on.
    next_defence_ms_ = now_ms_ + Defence::kPeriodMs;
    update_defence();
    if (defence_.drop_entry()) conns_.drop_random_entries(drop_entry_random_, now_ms_);
  }
  conns_.expire(now_ms_);
  reassembler_.expire(now_ms_);
  reassembler6_.expire(now_ms_);
  neighbours_.tick(now_ms_, arp_requests_);
  send_arp_requests();
  conns6_.expire(now_ms_);
  neighbours6_.tick(now_ms_, solicits_);
  send_solicits();
}

template <DataPort Port>
void BasicDataplane<Port>::update_defence() {
  // Only modes 1 and 2 look at memory: at 0 and 3 the host's is not read at all.
  const auto watches = [](int32_t mode) { return mode == 1 || mode == 2; };
  int64_t available = std::numeric_limits<int64_t>::max();
  if (watches(sysctls_.drop_entry) || watches(sysctls_.drop_packet) || watches(sysctls_.secure_tcp))
    if (auto pages = memory_source_()) available = *pages;
  defence_.update(sysctls_, available);
  conns_.set_secure_tcp(defence_.secure_tcp());
  conns6_.set_secure_tcp(defence_.secure_tcp());
}

template class BasicDataplane<PacketSocket>;
template class BasicDataplane<MemoryPort>;

}  // namespace vsd
