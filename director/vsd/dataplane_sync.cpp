// The data plane's share of connection synchronization (dataplane.h): the master's notes on
// client packets, and the backup's entries made from messages as ip_vs_proc_conn makes them.
// dataplane.h declares the class's instantiations extern, so every member defined here is
// instantiated here by name (VSD_SYNC_MEMBERS).
#include "vsd/dataplane.h"

namespace vsd {

namespace cf = sync::conn_flag;

template <DataPort Port>
std::unique_ptr<sync::MasterTracker> BasicDataplane<Port>::swap_sync_master(
    std::unique_ptr<sync::MasterTracker> next) {
  if (!next) sync_out_.clear();  // a master stopping sends nothing more, as the kernel's
  if (next) next->set_rules(sync_rules());
  std::swap(next, sync_master_);
  return next;
}

template <DataPort Port>
void BasicDataplane<Port>::take_sync(std::vector<sync::SyncConn>& out) {
  out.clear();
  out.swap(sync_out_);
}

template <DataPort Port>
void BasicDataplane<Port>::note_for_sync_slow(const ServiceRuntime& svc, const Conn& conn) {
  const std::size_t before = sync_out_.size();
  sync_master_->on_client_packet(conns_, conn, svc.config.key.fwmark, sync_out_, now_ms_);
  count_sync_queued(before);
}

template <DataPort Port>
void BasicDataplane<Port>::note_for_sync6_slow(const ServiceRuntime& svc, const Conn6& conn) {
  const std::size_t before = sync_out_.size();
  sync_master_->on_client_packet6(conns6_, conn, svc.config.key.fwmark, sync_out_, now_ms_);
  count_sync_queued(before);
}

template <DataPort Port>
void BasicDataplane<Port>::count_sync_queued(std::size_t before) {
  sync_counters_.queued += sync_out_.size() - before;
  if (sync_out_.size() > kSyncQueueMax) {
    sync_counters_.queue_full += sync_out_.size() - kSyncQueueMax;
    sync_out_.resize(kSyncQueueMax);
  }
}

template <DataPort Port>
void BasicDataplane<Port>::apply_sync(std::span<const sync::SyncConn> conns) {
  now_ms_ = clock_.now_ms();
  for (const auto& s : conns) {
    ++sync_counters_.received;
    if (!apply_synced_entry(s)) ++sync_counters_.skipped;
  }
}

namespace {

// In the service ip_vs_find_dest found, the destination by address and port, where a fwmark
// service's DR and TUN destinations are looked for with port 0 first.
std::optional<DestHandle> synced_dest_in(Services& services, const ServiceRuntime& svc,
                                         const sync::SyncConn& s, const IpAddr& daddr) {
  uint16_t port = s.dport;
  if (s.fwmark && (s.flags & cf::kFwdMask) != cf::kMasq) port = 0;
  for (uint16_t want : {port, uint16_t(port ^ s.dport)}) {
    for (DestHandle h : svc.dests) {
      const auto& d = services.dest(h);
      if (!d.deleted && d.config.addr == IpEndpoint{daddr, want}) return h;
    }
  }
  return std::nullopt;
}

}  // namespace

// ip_vs_find_dest: the service by fwmark, else by address and port, else the VIP's port-0
// service; in it the destination (synced_dest_in).
template <DataPort Port>
std::optional<DestHandle> BasicDataplane<Port>::synced_destination(const sync::SyncConn& s,
                                                                   ServiceRuntime*& svc) {
  svc = s.fwmark ? services_.find_mark(s.fwmark) : nullptr;
  if (!svc && (s.protocol == 6 || s.protocol == 17)) {
    const Proto proto = Proto(s.protocol);
    svc = services_.find(proto, {s.vaddr.as_v4(), s.vport});
    if (!svc) svc = services_.find(proto, {s.vaddr.as_v4(), 0});
  }
  if (!svc) return std::nullopt;
  return synced_dest_in(services_, *svc, s, s.daddr.as_v4());
}

// The same for an IPv6 entry: find6 looks at [vaddr]:vport, then the VIP's port-0 service.
template <DataPort Port>
std::optional<DestHandle> BasicDataplane<Port>::synced_destination6(const sync::SyncConn& s) {
  ServiceRuntime* svc = s.fwmark ? services_.find_mark(s.fwmark) : nullptr;
  if (!svc && (s.protocol == 6 || s.protocol == 17))
    svc = services_.find6(Proto(s.protocol), s.vaddr.bytes, s.vport);
  if (!svc) return std::nullopt;
  return synced_dest_in(services_, *svc, s, IpAddr::v6(s.daddr.bytes));
}

template <DataPort Port>
bool BasicDataplane<Port>::apply_synced_entry(const sync::SyncConn& s) {
  if (s.ipv6) return apply_synced_entry6(s);
  const uint32_t flags = (s.flags & cf::kBackupMask) | cf::kSync;
  const bool is_template = flags & cf::kTemplate;
  if (!is_template) {
    if (s.protocol != 6 && s.protocol != 17) return false;                // "Unsupported protocol"
    if (s.state >= (s.protocol == 6 ? kTcpStateCount : 1)) return false;  // "Invalid state"
  }
  // ip_vs_proc_conn: an engine the backup lacks refuses the entry ("no %s engine found"); the
  // SIP engine's data keys the template as on the master.
  if (!s.pe_data.empty() && (!is_template || s.pe_name != "sip")) return false;
  const std::string_view pe_data(reinterpret_cast<const char*>(s.pe_data.data()), s.pe_data.size());
  const Endpoint client{s.caddr.as_v4(), s.cport};
  const Endpoint virtual_addr{s.vaddr.as_v4(), s.vport};
  const Endpoint destination{s.daddr.as_v4(), s.dport};
  const Proto proto = s.protocol == 17 ? Proto::Udp : Proto::Tcp;
  const bool fwmark_template = is_template && s.protocol == 0;
  const TemplateKey key =
      fwmark_template ? TemplateKey{Proto::Tcp, client.addr, {}, s.vaddr.as_v4().value, pe_data}
                      : TemplateKey{proto, client.addr, virtual_addr, 0, pe_data};
  Conn* cp = is_template ? conns_.find_template(key) : conns_.find_in(proto, client, virtual_addr);
  if (cp && !is_template && cp->destination() != destination) {
    // Another real server: a live connection replaces it; an inactive one's message is the
    // last word of the connection already replaced.
    if (flags & cf::kInactive) return ++sync_counters_.ignored, true;
    conns_.expire_now(*cp, now_ms_);
    cp = nullptr;
  }
  const TcpState state = is_template ? TcpState::None : TcpState(s.state);
  const bool made = !cp;
  if (!cp) {
    ServiceRuntime* svc = nullptr;
    const auto dest = synced_destination(s, svc);
    // The kernel keeps an entry without a destination unbound; vsd forwards by destination,
    // so it has no use for one.
    if (!dest) return false;
    const auto& d = services_.dest(*dest);
    if (d.config.method == Method::FullNat) return false;
    if (is_template) {
      cp = conns_.insert_template({key, destination, d.config.method, *dest, s.timeout_s}, now_ms_);
    } else {
      cp = conns_.insert({proto, client, virtual_addr, destination, {}, d.config.method, *dest},
                         now_ms_);
    }
    if (!cp) return ++sync_counters_.table_full, false;
    ++sync_counters_.created;
  } else {
    ++sync_counters_.updated;
  }
  uint32_t timeout = s.timeout_s;
  if (timeout == 0)  // version 0 messages carry none: the state's own, 3 minutes for templates
    timeout = is_template           ? 180
              : proto == Proto::Tcp ? conns_.timeouts().tcp_s(state)
                                    : conns_.timeouts().udp_s();
  conns_.apply_synced(*cp, state, flags & cf::kInactive,
                      is_template && s.state == sync::kTemplateAssured, timeout, now_ms_);
  if (sync_master_) sync_master_->on_synced(conns_.slot_of(*cp), state, made, now_ms_);
  return true;
}

// ip_vs_proc_conn for an IPv6 entry, in the IPv6 table (conn/table6.h), with the IPv4 path's
// rules: the same checks of protocol and state, the same replacement of an entry that names
// another real server, the message's state, column and timeout.
template <DataPort Port>
bool BasicDataplane<Port>::apply_synced_entry6(const sync::SyncConn& s) {
  const uint32_t flags = (s.flags & cf::kBackupMask) | cf::kSync;
  if (flags & cf::kTemplate) return apply_synced_template6(s);
  if (s.protocol != 6 && s.protocol != 17) return false;                // "Unsupported protocol"
  if (s.state >= (s.protocol == 6 ? kTcpStateCount : 1)) return false;  // "Invalid state"
  if (!s.pe_data.empty()) return false;  // engine data belongs to templates only
  const Proto proto = Proto(s.protocol);
  const FlowKey6 key{proto, {s.caddr.bytes, s.cport}, {s.vaddr.bytes, s.vport}};
  const Endpoint6 destination{s.daddr.bytes, s.dport};
  Conn6* cp = conns6_.find_in(key);
  if (cp && cp->destination != destination) {
    if (flags & cf::kInactive) return ++sync_counters_.ignored, true;
    conns6_.expire_now(*cp);
    cp = nullptr;
  }
  const TcpState state = TcpState(s.state);
  const bool made = !cp;
  if (!cp) {
    const auto dest = synced_destination6(s);
    if (!dest) return false;
    const auto& d = services_.dest(*dest);
    if (d.config.method == Method::FullNat) return false;
    cp = conns6_.insert(key, destination, d.config.method, *dest, now_ms_);
    if (!cp) return ++sync_counters_.table_full, false;
    ++sync_counters_.created;
  } else {
    ++sync_counters_.updated;
  }
  conns6_.apply_synced(*cp, state, flags & cf::kInactive, s.timeout_s, now_ms_);
  if (sync_master_) sync_master_->on_synced6(conns6_.slot_of(*cp), state, made, now_ms_);
  return true;
}

// ip_vs_proc_conn for an IPv6 template: keyed as the master keyed it (the client's prefix is
// already cut, port 0; a fwmark service's by the mark in the VIP's place, IPPROTO_IP), made
// where missing, its timeout and assured flag taken from the message. A synced connection is
// not tied to it (the kernel's backup sets no cp->control either).
template <DataPort Port>
bool BasicDataplane<Port>::apply_synced_template6(const sync::SyncConn& s) {
  // vsd's SIP engine keys IPv4 templates only.
  if (!s.pe_data.empty()) return false;
  const bool by_mark = s.protocol == 0;
  if (!by_mark && s.protocol != 6 && s.protocol != 17) return false;
  const FlowKey6 key = by_mark ? Conn6Table::fwmark_template_key(s.caddr.bytes, 128, s.fwmark)
                               : Conn6Table::service_template_key(Proto(s.protocol), s.caddr.bytes,
                                                                  128, {s.vaddr.bytes, s.vport});
  Conn6* cp = conns6_.find_template(key);
  const bool made = !cp;
  // Version 0 has no IPv6 form, so a template's message always carries its timeout; 3
  // minutes, as for IPv4, should one come without.
  const uint32_t timeout = s.timeout_s ? s.timeout_s : 180;
  if (!cp) {
    const auto dest = synced_destination6(s);
    if (!dest) return false;
    const auto& d = services_.dest(*dest);
    if (d.config.method == Method::FullNat) return false;
    cp = conns6_.insert_template(key, {s.daddr.bytes, s.dport}, d.config.method, *dest, timeout,
                                 now_ms_);
    if (!cp) return ++sync_counters_.table_full, false;
    ++sync_counters_.created;
  } else {
    ++sync_counters_.updated;
  }
  conns6_.apply_synced(*cp, TcpState::None, true, timeout, now_ms_);
  if (s.state == sync::kTemplateAssured) conns6_.mark_assured(*cp);
  if (sync_master_) sync_master_->on_synced6(conns6_.slot_of(*cp), TcpState::None, made, now_ms_);
  return true;
}

#define VSD_SYNC_MEMBERS(Port)                                                                  \
  template std::unique_ptr<sync::MasterTracker> BasicDataplane<Port>::swap_sync_master(         \
      std::unique_ptr<sync::MasterTracker>);                                                    \
  template void BasicDataplane<Port>::take_sync(std::vector<sync::SyncConn>&);                  \
  template void BasicDataplane<Port>::note_for_sync_slow(const ServiceRuntime&, const Conn&);   \
  template void BasicDataplane<Port>::apply_sync(std::span<const sync::SyncConn>);              \
  template bool BasicDataplane<Port>::apply_synced_entry(const sync::SyncConn&);                \
  template std::optional<DestHandle> BasicDataplane<Port>::synced_destination(                  \
      const sync::SyncConn&, ServiceRuntime*&);                                                 \
  template void BasicDataplane<Port>::note_for_sync6_slow(const ServiceRuntime&, const Conn6&); \
  template void BasicDataplane<Port>::count_sync_queued(std::size_t);                           \
  template bool BasicDataplane<Port>::apply_synced_entry6(const sync::SyncConn&);               \
  template bool BasicDataplane<Port>::apply_synced_template6(const sync::SyncConn&);            \
  template std::optional<DestHandle> BasicDataplane<Port>::synced_destination6(                 \
      const sync::SyncConn&);
VSD_SYNC_MEMBERS(PacketSocket)
VSD_SYNC_MEMBERS(MemoryPort)
#undef VSD_SYNC_MEMBERS

}  // namespace vsd
