// The master's send rules (master_tracker.h), decision by decision as ip_vs_sync_conn_needed
// and ip_vs_sync_conn (v1) or ip_vs_sync_conn_v0 take them.
#include "sync/master_tracker.h"

#include <algorithm>

namespace vsd::sync {

namespace {

uint32_t forwarding_flag(Method m) {
  switch (m) {
    case Method::Nat:
      return conn_flag::kMasq;
    case Method::Dr:
      return conn_flag::kDroute;
    case Method::Tun:
      return conn_flag::kTunnel;
    case Method::FullNat:
      break;
  }
  return conn_flag::kMasq;
}

bool tcp_state_is_synced(TcpState s) {
  return s == TcpState::Established || s == TcpState::FinWait || s == TcpState::Close ||
         s == TcpState::CloseWait || s == TcpState::TimeWait;
}

}  // namespace

std::optional<SyncConn> to_sync_conn(const ConnTable& table, const Conn& conn, uint32_t fwmark) {
  if (conn.method() == Method::FullNat) return std::nullopt;
  SyncConn s;
  const uint32_t fwd = forwarding_flag(conn.method());
  if (conn.is_template()) {
    // The kernel's template has its destination's flags: the method, INACTIVE, and NOOUTPUT
    // where replies bypass the director; its protocol is IPPROTO_IP for a fwmark service.
    s.protocol = conn.is_fwmark_template() ? 0 : uint8_t(conn.proto());
    s.flags = conn_flag::kTemplate | fwd | conn_flag::kInactive |
              (fwd != conn_flag::kMasq ? conn_flag::kNoOutput : 0);
    s.state = conn.is_assured() ? kTemplateAssured : kTemplateNone;
    s.fwmark = conn.is_fwmark_template() ? conn.fwmark() : fwmark;
    // ip_vs_sync_conn sends a template's engine data and name as options.
    if (conn.has_pe_data()) {
      const std::string_view data = table.pe_data(conn);
      s.pe_name = "sip";
      s.pe_data.assign(data.begin(), data.end());
    }
  } else {
    s.protocol = uint8_t(conn.proto());
    s.flags = fwd | (conn.is_active() ? 0 : conn_flag::kInactive) |
              (conn.no_output() ? conn_flag::kNoOutput : 0);
    s.state = conn.proto() == Proto::Tcp ? uint16_t(conn.tcp_state()) : 0;
    s.fwmark = fwmark;
  }
  s.cport = conn.client().port;
  s.vport = conn.virtual_addr().port;
  s.dport = conn.destination().port;
  s.caddr = Address::v4(conn.client().addr);
  s.vaddr = Address::v4(conn.virtual_addr().addr);
  s.daddr = Address::v4(conn.destination().addr);
  s.timeout_s = table.timeout_s(conn);
  return s;
}

std::optional<SyncConn> to_sync_conn(const Conn6Table& table, const Conn6& conn, uint32_t fwmark) {
  if (conn.method == Method::FullNat) return std::nullopt;
  SyncConn s;
  s.ipv6 = true;
  s.protocol = uint8_t(conn.in.proto);
  const uint32_t fwd = forwarding_flag(conn.method);
  const bool tcp = conn.in.proto == Proto::Tcp;
  if (conn.is_template()) {
    // As an IPv4 template: its destination's flags, IPPROTO_IP for a fwmark service's, whose
    // key holds the mark where the VIP goes (its four bytes, big endian, first).
    const bool by_mark = conn.in.kind == KeyKind6::FwmarkTemplate;
    if (by_mark) {
      s.protocol = 0;
      fwmark = 0;
      for (std::size_t i = 0; i < 4; ++i) fwmark = (fwmark << 8) | conn.in.to.addr[i];
    }
    s.flags = conn_flag::kTemplate | fwd | conn_flag::kInactive |
              (fwd != conn_flag::kMasq ? conn_flag::kNoOutput : 0);
    s.state = conn.is_assured() ? kTemplateAssured : kTemplateNone;
  } else {
    // An IPv6 entry counts as an IPv4 one does: INACTIVE outside ESTABLISHED, NOOUTPUT where
    // replies bypass the director.
    s.flags = fwd | (tcp && conn.active ? 0 : conn_flag::kInactive) |
              (replies_come_back(conn.method) ? 0 : conn_flag::kNoOutput);
    s.state = tcp ? uint16_t(conn.state) : 0;
  }
  s.fwmark = fwmark;
  s.cport = conn.in.from.port;
  s.vport = conn.in.to.port;
  s.dport = conn.destination.port;
  s.caddr.bytes = conn.in.from.addr;
  s.vaddr.bytes = conn.in.to.addr;
  s.daddr.bytes = conn.destination.addr;
  s.timeout_s = table.timeout_s(conn);
  return s;
}

MasterTracker::MasterTracker(std::size_t capacity, SendRules rules, std::size_t capacity6)
    : rules_(rules), slots_(capacity), slots6_(capacity6) {}

bool MasterTracker::needed(const Entry& e, Slot& slot, uint32_t pkts, uint64_t now_ms) const {
  const uint8_t state = uint8_t(e.state);
  const uint64_t orig = slot.sync_end_ms;
  uint64_t next = (now_ms + e.timeout_ms) & ~uint64_t(3);
  // vsd's sync does not carry SCTP states yet (docs/ipvs.md, "SCTP services").
  if (e.proto == Proto::Sctp) return false;
  bool force = false;
  if (!e.is_template) {
    if (rules_.persist_mode && e.under_template) return false;
    if (e.proto == Proto::Tcp) {
      if (!tcp_state_is_synced(e.state)) return false;
      force = state != slot.old_state;
      if (force && e.state != TcpState::Established) {
        slot.old_state = state;
        slot.sync_end_ms = next;
        return true;
      }
    }
  }
  if (rules_.refresh_period_ms > 0) {
    const int64_t moved = int64_t(next) - int64_t(orig);
    const int64_t least = std::max<int64_t>(int64_t(e.timeout_ms / 2), 10'000);
    if (std::abs(moved) < std::min<int64_t>(rules_.refresh_period_ms, least)) {
      const uint32_t retries = uint32_t(orig & 3);
      if (retries >= rules_.retries) return false;
      // A resend waits an eighth of the period after the send it repeats.
      const int64_t sent_at = int64_t(orig) - int64_t(e.timeout_ms);
      if (int64_t(now_ms) < sent_at + int64_t(rules_.refresh_period_ms / 8)) return false;
      next |= retries + 1;
    }
  }
  if (rules_.period > 0) {
    if (!e.is_template && pkts % rules_.period != rules_.threshold) return false;
  } else if (rules_.refresh_period_ms == 0 && pkts != rules_.threshold) {
    return false;
  }
  slot.old_state = state;
  slot.sync_end_ms = next;
  return true;
}

void MasterTracker::on_client_packet(const ConnTable& table, const Conn& conn, uint32_t fwmark,
                                     std::vector<SyncConn>& out, uint64_t now_ms) {
  const Conn* tmpl = table.template_of(conn);
  // The old format skips a one-packet connection with its template (ip_vs_sync_conn_v0
  // returns before it looks at the template).
  if (rules_.version == 0 && conn.is_one_packet()) return;
  Slot& slot = slots_[table.slot_of(conn)];
  const uint32_t pkts = conn.is_one_packet() ? rules_.threshold : ++slot.in_pkts;
  const Entry e{false, tmpl != nullptr, conn.proto(), conn.tcp_state(),
                uint64_t(table.timeout_s(conn)) * 1000};
  if (!conn.is_one_packet() && needed(e, slot, pkts, now_ms))
    if (auto s = to_sync_conn(table, conn, fwmark)) out.push_back(std::move(*s));
  if (!tmpl) return;
  Slot& tslot = slots_[table.slot_of(*tmpl)];
  const Entry t{true, false, tmpl->proto(), TcpState::None,
                uint64_t(table.timeout_s(*tmpl)) * 1000};
  if (needed(t, tslot, ++tslot.in_pkts, now_ms))
    if (auto s = to_sync_conn(table, *tmpl, fwmark)) out.push_back(std::move(*s));
}

void MasterTracker::on_client_packet6(const Conn6Table& table, const Conn6& conn, uint32_t fwmark,
                                      std::vector<SyncConn>& out, uint64_t now_ms) {
  // The old format has no IPv6 form: ip_vs_sync_conn_v0 passes such a connection over, and its
  // template with it.
  if (rules_.version == 0) return;
  const uint32_t index = table.slot_of(conn);
  if (index >= slots6_.size()) return;
  const Conn6* tmpl = table.template_of(conn);
  Slot& slot = slots6_[index];
  const Entry e{false, tmpl != nullptr, conn.in.proto, conn.state,
                uint64_t(table.timeout_s(conn)) * 1000};
  if (needed(e, slot, ++slot.in_pkts, now_ms))
    if (auto s = to_sync_conn(table, conn, fwmark)) out.push_back(std::move(*s));
  // ip_vs_sync_conn: the template goes after its connection, by its own slot's rules.
  if (!tmpl) return;
  const uint32_t tindex = table.slot_of(*tmpl);
  if (tindex >= slots6_.size()) return;
  Slot& tslot = slots6_[tindex];
  const Entry t{true, false, tmpl->in.proto, TcpState::None,
                uint64_t(table.timeout_s(*tmpl)) * 1000};
  if (needed(t, tslot, ++tslot.in_pkts, now_ms))
    if (auto s = to_sync_conn(table, *tmpl, fwmark)) out.push_back(std::move(*s));
}

}  // namespace vsd::sync
