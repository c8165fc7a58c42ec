// The master's send rules (ip_vs_sync.c ip_vs_sync_conn, ip_vs_sync_conn_v0 and
// ip_vs_sync_conn_needed) under the sync sysctls: sync_version, sync_threshold (threshold and
// period), sync_refresh_period, sync_retries and sync_persist_mode. Called by the data plane for
// each packet from a client (the kernel's ip_vs_in), of either family, it keeps per entry what
// the kernel keeps in the conn (in_pkts, old_state, sync_endtime), in side tables by slot (one
// per family's table) so that vsd's entries stay as they are, and appends what is to be sent to
// a vector the sending thread takes.
//
// The rules: a one-packet connection is never sent. A TCP connection is sent only in
// ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT or TIME_WAIT: on entering any of these but
// ESTABLISHED at once, otherwise when its count of client packets is 3 modulo 50 (the 3rd,
// 53rd, 103rd, ...). UDP: when the count is 3 modulo 50. A connection under a persistence
// template then has its template sent, at every client packet. FULLNAT connections are not sent
// (the protocol has no field for the local end).
// sync_refresh_period > 0: an entry whose end of life (now + its timeout) moved by less than the
// smaller of the period and max(half its timeout, 10 s) since it was last sent is not sent
// again, but for sync_retries resends, each once an eighth of the period has passed since the
// send; with sync_period 0 the packet count no longer matters then. sync_persist_mode 1: a
// connection under a persistence template is never sent, its template is. sync_version 0: an
// IPv6 entry is not sent at all (the old format has no IPv6), nor is a one-packet connection's
// template (the v0 path returns before it looks at the template).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "conn/table.h"
#include "conn/table6.h"
#include "sync/message.h"

namespace vsd::sync {

struct SendRules {
  uint32_t threshold = 3;          // net.ipv4.vs.sync_threshold's first value
  uint32_t period = 50;            // its second (sync_period)
  uint32_t refresh_period_ms = 0;  // sync_refresh_period (seconds in the sysctl)
  uint32_t retries = 0;            // sync_retries, 0..3
  bool persist_mode = false;       // sync_persist_mode != 0
  uint8_t version = 1;             // sync_version
};

// An entry as a sync message carries it. fwmark: the mark of the packet that made it (a fwmark
// service's), 0 otherwise. Nothing for what the protocol cannot say (FULLNAT).
std::optional<SyncConn> to_sync_conn(const ConnTable& table, const Conn& conn, uint32_t fwmark);
// The same for an IPv6 connection (the 72-byte entry form).
std::optional<SyncConn> to_sync_conn(const Conn6Table& table, const Conn6& conn, uint32_t fwmark);

class MasterTracker {
 public:
  // capacity6: the IPv6 table's; 0 sends no IPv6 entry.
  explicit MasterTracker(std::size_t capacity, SendRules rules = {}, std::size_t capacity6 = 0);
  // net.ipv4.vs.sync_threshold changed: the counts kept go on under the new rules.
  void set_rules(SendRules rules) { rules_ = rules; }

  const SendRules& rules() const { return rules_; }

  // A new entry in this slot, made by the scheduler: its counts start from nothing, its last
  // send (sync_endtime) is now.
  void on_new(uint32_t slot, uint64_t now_ms = 0) { slots_[slot] = fresh(now_ms); }
  void on_new6(uint32_t slot, uint64_t now_ms = 0) {
    if (slot < slots6_.size()) slots6_[slot] = fresh(now_ms);
  }
  // An entry a backup made or updated from a message: counted as the kernel counts it (in_pkts
  // set to the threshold, old_state to the state it got); a new one's last send is now, as
  // ip_vs_conn_new sets it.
  void on_synced(uint32_t slot, TcpState state, bool made, uint64_t now_ms) {
    synced(slots_[slot], state, made, now_ms);
  }
  void on_synced6(uint32_t slot, TcpState state, bool made, uint64_t now_ms) {
    if (slot < slots6_.size()) synced(slots6_[slot], state, made, now_ms);
  }
  // One packet from the client of conn (after its state transition); what is to be sent is
  // appended to out.
  void on_client_packet(const ConnTable& table, const Conn& conn, uint32_t fwmark,
                        std::vector<SyncConn>& out, uint64_t now_ms = 0);
  void on_client_packet6(const Conn6Table& table, const Conn6& conn, uint32_t fwmark,
                         std::vector<SyncConn>& out, uint64_t now_ms = 0);

  // What the send rules look at of an entry, whichever table holds it.
  struct Entry {
    bool is_template = false;
    bool under_template = false;  // a connection controlled by a persistence template
    Proto proto = Proto::Tcp;
    TcpState state = TcpState::None;
    uint64_t timeout_ms = 0;  // its whole timeout in its state (cp->timeout)
  };

 private:
  struct Slot {
    uint32_t in_pkts = 0;
    uint8_t old_state = 0;
    // The kernel's sync_endtime: when the entry, as last sent, would end (a multiple of 4 ms),
    // and in its low 2 bits the resends made since.
    uint64_t sync_end_ms = 0;
  };
  static Slot fresh(uint64_t now_ms) { return {0, 0, now_ms & ~uint64_t(3)}; }
  void synced(Slot& slot, TcpState state, bool made, uint64_t now_ms) const {
    if (made) slot.sync_end_ms = now_ms & ~uint64_t(3);
    slot.in_pkts = rules_.threshold;
    slot.old_state = uint8_t(state);
  }
  bool needed(const Entry& e, Slot& slot, uint32_t pkts, uint64_t now_ms) const;

  SendRules rules_;
  std::vector<Slot> slots_;
  std::vector<Slot> slots6_;
};

}  // namespace vsd::sync
