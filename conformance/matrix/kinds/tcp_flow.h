// One TCP connection of a cell, driven from both ends: the client's segments to the real
// server that has it, and (NAT, FULLNAT) the server's back to the client, each checked where
// it arrives. Kinds about the TCP state machine walk a connection with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

// A real server's `answer` to the client's flow from `cport` reaches the client as NAT and
// FULLNAT rewrite it: from VIP:vport (the vip6 for an IPv6 answer), TTL or hop limit less one
// at the director and the router.
bool answer_reaches_client(MatrixBed& mb, const Tins::EthernetII& answer, uint16_t cport,
                           Findings& f, const std::string& what);

// The real server's segment back on the connection it received `at_rs` on, as its stack sends
// it: addresses and ports swapped, TTL or hop limit 64.
Tins::EthernetII server_answer(const Tins::EthernetII& at_rs, const Tins::HWAddress<6>& rs_mac,
                               uint8_t flags, uint32_t seq, uint32_t ack);

class TcpFlow {
 public:
  // An IPv6 flow (Family::Ipv6) goes from the client's IPv6 address to [vip6]:vport.
  TcpFlow(MatrixBed& mb, Findings& f, Family family = Family::Ipv4)
      : mb_(mb), f_(f), family_(family), cport_(mb.next_client_port()) {}

  int rs() const { return rs_; }
  uint16_t cport() const { return cport_; }
  // When the last segment of either side was sent: what the director did with it happened
  // after this.
  std::chrono::steady_clock::time_point last_sent() const { return last_sent_; }

  // The segment reaches the connection's real server, or any when `scheduled` (a new
  // connection); false when it did not.
  bool client_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what,
                    bool scheduled = false);
  // The real server answers on the connection as it received it; the client gets it from
  // VIP:vport (spec 2).
  bool server_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what);
  // SYN, (NAT, FULLNAT) SYN+ACK, ACK: ESTABLISHED, client at 1001, server at 5001.
  bool establish(const std::string& which);
  // After a SYN rescheduled the connection: its old entry, in `state`, is gone from `-L -n -c`.
  // The director ends it at its next timer tick, not at once: until then it still counts on
  // its server, and a connection scheduled in between by lc, wlc ... depends on how long that
  // tick is (Linux: a jiffy, after ip_vs_conn_expire_now). Later connections wait for it.
  bool old_entry_ends(const std::string& state, const std::string& what);

 private:
  MatrixBed& mb_;
  Findings& f_;
  Family family_;
  uint16_t cport_;
  int rs_ = 0;
  std::chrono::steady_clock::time_point last_sent_;
};

}  // namespace vslab::matrix::kinds
