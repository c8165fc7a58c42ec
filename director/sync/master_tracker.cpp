// The master's send rules (master_tracker.h), decision by decision as ip_vs_sync_conn_needed
// takes them with sync_refresh_period 0.
#include "sync/master_tracker.h"

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

MasterTracker::MasterTracker(std::size_t capacity, SendRules rules)
    : rules_(rules), slots_(capacity) {}

bool MasterTracker::needed(const Conn& conn, Slot& slot, uint32_t pkts) const {
  const uint8_t state = uint8_t(conn.tcp_state());
  bool force = false;
  // vsd's sync does not carry SCTP states yet (docs/ipvs.md, "SCTP services").
  if (conn.proto() == Proto::Sctp) return false;
  if (!conn.is_template() && conn.proto() == Proto::Tcp) {
    if (!tcp_state_is_synced(conn.tcp_state())) return false;
    force = state != slot.old_state && conn.tcp_state() != TcpState::Established;
  }
  if (!force) {
    if (rules_.period > 0) {
      if (!conn.is_template() && pkts % rules_.period != rules_.threshold) return false;
    } else if (pkts != rules_.threshold) {
      return false;
    }
  }
  slot.old_state = state;
  return true;
}

void MasterTracker::on_client_packet(const ConnTable& table, const Conn& conn, uint32_t fwmark,
                                     std::vector<SyncConn>& out) {
  Slot& slot = slots_[table.slot_of(conn)];
  const uint32_t pkts = conn.is_one_packet() ? rules_.threshold : ++slot.in_pkts;
  if (!conn.is_one_packet() && needed(conn, slot, pkts))
    if (auto s = to_sync_conn(table, conn, fwmark)) out.push_back(std::move(*s));
  const Conn* tmpl = table.template_of(conn);
  if (!tmpl) return;
  Slot& tslot = slots_[table.slot_of(*tmpl)];
  if (needed(*tmpl, tslot, ++tslot.in_pkts))
    if (auto s = to_sync_conn(table, *tmpl, fwmark)) out.push_back(std::move(*s));
}

}  // namespace vsd::sync
