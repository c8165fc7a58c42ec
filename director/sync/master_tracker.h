// The master's send rules (ip_vs_sync.c ip_vs_sync_conn and ip_vs_sync_conn_needed) under the
// kernel's default sysctls: sync_version 1, sync_threshold 3, sync_period 50,
// sync_refresh_period 0, sync_persist_mode 0. Called by the data plane for each packet from a
// client (the kernel's ip_vs_in), it keeps per entry what the kernel keeps in the conn (in_pkts,
// old_state), in a side table by slot so that vsd's 56-byte entries stay as they are, and
// appends what is to be sent to a vector the sending thread takes.
//
// The rules: a one-packet connection is never sent. A TCP connection is sent only in
// ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT or TIME_WAIT: on entering any of these but
// ESTABLISHED at once, otherwise when its count of client packets is 3 modulo 50 (the 3rd,
// 53rd, 103rd, ...). UDP: when the count is 3 modulo 50. A connection under a persistence
// template then has its template sent, at every client packet. FULLNAT connections are not sent
// (the protocol has no field for the local end).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "conn/table.h"
#include "sync/message.h"

namespace vsd::sync {

struct SendRules {
  uint32_t threshold = 3;  // net.ipv4.vs.sync_threshold's first value
  uint32_t period = 50;    // its second (sync_period)
};

// An entry as a sync message carries it. fwmark: the mark of the packet that made it (a fwmark
// service's), 0 otherwise. Nothing for what the protocol cannot say (FULLNAT).
std::optional<SyncConn> to_sync_conn(const ConnTable& table, const Conn& conn, uint32_t fwmark);

class MasterTracker {
 public:
  explicit MasterTracker(std::size_t capacity, SendRules rules = {});
  // net.ipv4.vs.sync_threshold changed: the counts kept go on under the new rules.
  void set_rules(SendRules rules) { rules_ = rules; }

  // A new entry in this slot, made by the scheduler: its counts start from nothing.
  void on_new(uint32_t slot) { slots_[slot] = {}; }
  // An entry a backup made from a message: counted as the kernel counts it (in_pkts set to the
  // threshold, old_state to the state it got).
  void on_synced(uint32_t slot, TcpState state) {
    slots_[slot] = {rules_.threshold, uint8_t(state)};
  }
  // One packet from the client of conn (after its state transition); what is to be sent is
  // appended to out.
  void on_client_packet(const ConnTable& table, const Conn& conn, uint32_t fwmark,
                        std::vector<SyncConn>& out);

 private:
  struct Slot {
    uint32_t in_pkts = 0;
    uint8_t old_state = 0;
  };
  bool needed(const Conn& conn, Slot& slot, uint32_t pkts) const;

  SendRules rules_;
  std::vector<Slot> slots_;
};

}  // namespace vsd::sync
