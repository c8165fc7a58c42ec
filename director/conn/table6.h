// The connections of IPv6 flows, beside the IPv4 table (conn/table.h) rather than in it: the
// IPv4 table's entries are laid out for two cache lines per packet with 4-byte addresses, and
// widening them to 16 would cost every IPv4 packet. Each connection is found by its client-side
// key (CIP:cport -> VIP:vport) and, for methods whose replies come back (NAT), by its reply key
// (RIP:rport -> CIP:cport). TCP follows the IPVS state machine (conn/tcp_state.h) and every
// entry expires by the same timeouts as IPv4's. Expiry walks the table once a second: IPv6
// traffic is the smaller share for now; a timer wheel like the IPv4 table's is the next step
// when it is not.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "config/rules.h"
#include "config/state.h"
#include "conn/tcp_state.h"
#include "net/addr.h"
#include "net/ip6.h"

namespace vsd {

struct Endpoint6 {
  Ip6 addr{};
  uint16_t port = 0;
  bool operator==(const Endpoint6&) const = default;
};

struct FlowKey6 {
  Proto proto = Proto::Tcp;
  Endpoint6 from, to;
  bool operator==(const FlowKey6&) const = default;
};

struct FlowKey6Hash {
  std::size_t operator()(const FlowKey6& k) const noexcept;
};

struct Ip6Hash {
  std::size_t operator()(const Ip6& a) const noexcept;
};

struct Conn6 {
  FlowKey6 in;            // CIP:cport -> VIP:vport
  Endpoint6 destination;  // RIP:rport
  Method method = Method::Nat;
  uint32_t dest = 0;  // the destination's handle (vsd/services.h)
  TcpState state = TcpState::None;
  uint64_t expires_ms = 0;
  Endpoint6 local{};    // FULLNAT: LIP:lport, the source the real server sees and answers
  bool active = false;  // counted in ActiveConn (TCP ESTABLISHED), else in InActConn
};

class ConnTable;

// The methods whose replies come back through the director, and are found by them.
constexpr bool replies_come_back(Method m) {
  return m == Method::Nat || m == Method::FullNat;
}

class Conn6Table {
 public:
  // Bounded as the IPv4 table is by its capacity: past it a new flow is refused.
  explicit Conn6Table(std::size_t capacity = 1u << 16) : capacity_(capacity) {}

  Conn6* find_in(const FlowKey6& key);
  // A reply from RIP:rport to CIP:cport, of a connection whose method sees replies.
  Conn6* find_out(const FlowKey6& key);
  // nullptr when full. `local`: FULLNAT's LIP:lport (pick_local_port).
  Conn6* insert(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest,
                uint64_t now_ms, Endpoint6 local = {});
  // A FULLNAT local port on `local` towards `server` that no connection uses (nullopt: none
  // found in a bounded probe), from a cursor per address that walks 1024..65535.
  std::optional<uint16_t> pick_local_port(Proto proto, const Ip6& local, const Endpoint6& server);
  // A packet of the connection: TCP moves its state (the direction as IPVS looks it up), and
  // the entry lives on for its state's timeout.
  void on_packet(Conn6& conn, bool from_client, uint8_t tcp_flags, uint64_t now_ms);
  // Removes what expired; looks only once a second.
  void expire(uint64_t now_ms);
  void set_timeouts(const Timeouts& t) { timeouts_.apply(t); }
  // Where each entry is counted on its destination (ActiveConn/InActConn): the IPv4 table's
  // counters, which the schedulers and thresholds read. Before the first insert.
  void count_loads_on(ConnTable* loads) { loads_ = loads; }

  // -L -c: up to max_entries entries as the listing shows them, from the skip-th on; returns
  // where the next chunk starts, or kListed when none is left.
  static constexpr std::size_t kListed = std::size_t(-1);
  std::size_t describe_from(std::size_t skip, std::size_t max_entries, uint64_t now_ms,
                            std::vector<ConnectionEntry>& out) const;

  std::size_t size() const { return in_.size(); }
  struct Stats {
    uint64_t inserted = 0, expired = 0, refused_full = 0, local_ports_exhausted = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  static FlowKey6 reply_key(const Conn6& c) {
    return {c.in.proto, c.destination, c.method == Method::FullNat ? c.local : c.in.from};
  }
  uint64_t timeout_ms(const Conn6& c) const;

  std::size_t capacity_;
  ConnTable* loads_ = nullptr;
  ConnTimeouts timeouts_;
  // Nodes stay where they are while the map grows: out_ points into in_.
  std::unordered_map<FlowKey6, Conn6, FlowKey6Hash> in_;
  std::unordered_map<FlowKey6, Conn6*, FlowKey6Hash> out_;
  uint64_t next_expiry_ms_ = 0;
  std::unordered_map<Ip6, uint16_t, Ip6Hash> local_port_cursors_;
  Stats stats_;
};

}  // namespace vsd
