// The connections of IPv6 flows, beside the IPv4 table (conn/table.h) rather than in it: the
// IPv4 table's entries are laid out for two cache lines per packet with 4-byte addresses, and
// widening them to 16 would cost every IPv4 packet. Each connection is found by its client-side
// key (CIP:cport -> VIP:vport) and, for methods whose replies come back (NAT, FULLNAT), by its
// reply key (RIP:rport -> CIP:cport, or LIP:lport). TCP follows the IPVS state machine
// (conn/tcp_state.h) and every entry expires by the same timeouts as IPv4's.
//
// Laid out as the IPv4 table is, by the same index (conn/chained_index.h): a fixed pool of
// entries allocated once, a bucket per entry in each index, chains threaded through the
// entries, a seeded hash; and the data plane's look-ahead (prefetch_in/out, prefetch_entry,
// prefetch_chain) starts loading bucket and entry some frames before the lookup. Expiry walks
// the slots in use once a second rather than keeping a timer wheel: IPv6 traffic is the
// smaller share for now; a wheel like the IPv4 table's is the next step when it is not.
// Single-threaded, as the IPv4 table: the data plane's (worker 0's) alone.
//
// Persistence templates (ip_vs_core.c ip_vs_sched_persist) live in the same pool and the same
// "in" index as the connections, told apart by the key's kind: a template's key is the client's
// address cut to the service's prefix (-M), port 0, and the service's [VIP]:vport (vport 0 for
// a port-0 service), or for a fwmark service the mark in the VIP's place and any protocol. A
// template expires after the persistence timeout unless connections still depend on it, as
// the IPv4 table's.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "config/rules.h"
#include "config/state.h"
#include "conn/chained_index.h"
#include "conn/huge_pages.h"
#include "conn/tcp_state.h"
#include "net/addr.h"
#include "net/ip6.h"

namespace vsd {

struct Endpoint6 {
  Ip6 addr{};
  uint16_t port = 0;
  bool operator==(const Endpoint6& o) const { return port == o.port && same_ip6(addr, o.addr); }
};

// What an "in" key names: a connection, or a persistence template of an address service or
// of a fwmark service (the kernel's IPPROTO_IP template, which serves every protocol).
enum class KeyKind6 : uint8_t { Connection, ServiceTemplate, FwmarkTemplate };

struct FlowKey6 {
  Proto proto = Proto::Tcp;
  Endpoint6 from, to;
  KeyKind6 kind = KeyKind6::Connection;
  bool operator==(const FlowKey6&) const = default;
};

struct Ip6Hash {
  std::size_t operator()(const Ip6& a) const noexcept;
};

// One connection. The table owns it; a pointer stays valid until the entry expires. The
// links come first, then what a lookup compares and what the forward path reads, so that a
// chain walked past reads one line of an entry.
class Conn6 {
  friend class Conn6Table;
  uint32_t in_next_ = kNoEntry;   // chain of the "in" index; the free list while free
  uint32_t out_next_ = kNoEntry;  // chain of the "out" index
  bool live_ = false;
  bool assured_ = false;  // a template one of whose connections got established
  // A connection: its template's slot, or kNoEntry. A template: how many connections depend
  // on it.
  uint32_t control_ = kNoEntry;
  uint32_t template_timeout_s_ = 0;  // a template's whole timeout (the kernel's ct->timeout)

 public:
  FlowKey6 in;            // CIP:cport -> VIP:vport
  Endpoint6 destination;  // RIP:rport
  Method method = Method::Nat;
  TcpState state = TcpState::None;
  bool active = false;  // counted in ActiveConn (TCP ESTABLISHED), else in InActConn
  uint32_t dest = 0;    // the destination's handle (vsd/services.h)
  uint64_t expires_ms = 0;
  Endpoint6 local{};  // FULLNAT: LIP:lport, the source the real server sees and answers

  bool is_template() const { return in.kind != KeyKind6::Connection; }
  // IP_VS_CTPL_S_ASSURED, what -L -c lists as the template's state.
  bool is_assured() const { return assured_; }
  uint32_t dependents() const { return is_template() ? control_ : 0; }
  bool has_template() const { return !is_template() && control_ != kNoEntry; }
};

class ConnTable;

// The methods whose replies come back through the director, and are found by them.
constexpr bool replies_come_back(Method m) {
  return m == Method::Nat || m == Method::FullNat;
}

class Conn6Table {
 public:
  static constexpr std::size_t kDefaultCapacity = 1u << 16;
  // Bounded as the IPv4 table is by its capacity: past it a new flow is refused. Allocates
  // every entry now. Throws std::invalid_argument for 0 or above 2^31.
  explicit Conn6Table(std::size_t capacity = kDefaultCapacity);
  Conn6Table(const Conn6Table&) = delete;
  Conn6Table& operator=(const Conn6Table&) = delete;

  // Where a find_in/find_out will look, worked out a few frames ahead by prefetch_in/out and
  // handed back to that lookup so that its key is hashed once. It keeps its key: a lookup of
  // another key, or from the other side, ignores it, so a stale hint costs a compare, never a
  // wrong answer. Only the table that made it may be given it (the bucket depends on the seed).
  class Hint {
   public:
    Hint() = default;  // made for no key: every lookup ignores it

   private:
    friend class Conn6Table;
    enum class Side : uint8_t { None, In, Out };
    Hint(Side side, const FlowKey6& key, uint32_t bucket)
        : side_(side), key_(key), bucket_(bucket) {}
    bool is_for(Side side, const FlowKey6& key) const { return side_ == side && key_ == key; }
    Side side_ = Side::None;
    FlowKey6 key_;
    uint32_t bucket_ = 0;
  };

  Conn6* find_in(const FlowKey6& key, const Hint* hint = nullptr);
  // A reply from RIP:rport to CIP:cport (NAT) or LIP:lport (FULLNAT), of a connection whose
  // method sees replies.
  Conn6* find_out(const FlowKey6& key, const Hint* hint = nullptr);
  // The look-ahead's steps (conn/chained_index.h), as ConnTable's: the bucket, then the entry
  // it points to, then the chain's second entry when the first is another key's.
  Hint prefetch_in(const FlowKey6& key) const;
  Hint prefetch_out(const FlowKey6& key) const;
  // The same, written where the caller keeps it (the data plane's look-ahead slot): a hint is
  // some 48 bytes, and a copy of one just returned reads it back in other widths than it was
  // written in, which stalls the load on each frame.
  void prefetch_in(const FlowKey6& key, Hint& into) const;
  void prefetch_out(const FlowKey6& key, Hint& into) const;
  void prefetch_entry(const Hint& hint) const;
  void prefetch_chain(const Hint& hint) const;

  // nullptr when full. `local`: FULLNAT's LIP:lport (pick_local_port). A key already in the
  // table is replaced: its entry goes (off its destination's counts) and the new one is found.
  // With a template, the template lives at least as long as the connection does.
  Conn6* insert(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest,
                uint64_t now_ms, Endpoint6 local = {}, Conn6* control_template = nullptr);

  // The keys of persistence templates: the client's address cut to `prefix` bits (the
  // service's -M), port 0, and the service's [VIP]:vport, or for a fwmark service the mark
  // where the VIP goes (as the kernel stores it: its four bytes first), any protocol.
  static FlowKey6 service_template_key(Proto proto, const Ip6& client, int prefix,
                                       Endpoint6 virtual_addr);
  static FlowKey6 fwmark_template_key(const Ip6& client, int prefix, uint32_t fwmark);
  Conn6* find_template(const FlowKey6& key) { return find_in(key); }
  // A template to `destination` (RIP:rport, or RIP:0 where the packet's port is not the
  // service's), counted in the destination's PersistConn, living timeout_s (-p) from now and
  // again from each refresh(). nullptr when full.
  Conn6* insert_template(const FlowKey6& key, Endpoint6 destination, Method method, uint32_t dest,
                         uint32_t timeout_s, uint64_t now_ms);
  // ip_vs_check_template's verdict on a template whose server may no longer be used: it is
  // moved out of its key's way ([VIP]:65535 -> [RIP]:65535, as the kernel rehashes it), so
  // that a new template takes the key, and lives out its timer.
  void invalidate_template(Conn6& tmpl);
  // The entry's whole timeout again from now: a template's, each time a connection is
  // scheduled through it.
  void refresh(Conn6& conn, uint64_t now_ms) { conn.expires_ms = now_ms + timeout_ms(conn); }
  // A connection's template, if it has one.
  const Conn6* template_of(const Conn6& conn) const {
    return conn.has_template() ? &pool_[conn.control_] : nullptr;
  }
  // A FULLNAT local port on `local` towards `server` that no connection uses (nullopt: none
  // found in a bounded probe), from a cursor per address that walks 1024..65535.
  std::optional<uint16_t> pick_local_port(Proto proto, const Ip6& local, const Endpoint6& server);
  // A packet of the connection: TCP moves its state (the direction as IPVS looks it up), and
  // the entry lives on for its state's timeout.
  void on_packet(Conn6& conn, bool from_client, uint8_t tcp_flags, uint64_t now_ms);
  // What a sync message says of an entry (ip_vs_proc_conn): its state, its column on the
  // destination (not ESTABLISHED counts as inactive, as INACTIVE says), and a timeout of
  // timeout_s from now (0: the state's own); a later packet goes on from there by the state
  // machine.
  void apply_synced(Conn6& conn, TcpState state, bool inactive, uint32_t timeout_s,
                    uint64_t now_ms);
  // A synced template's IP_VS_CTPL_S_ASSURED, as the master's message says it.
  void mark_assured(Conn6& tmpl) {
    if (tmpl.is_template()) tmpl.assured_ = true;
  }
  // Its whole timeout in its state, what a sync master sends (cp->timeout).
  uint32_t timeout_s(const Conn6& c) const { return uint32_t(timeout_ms(c) / 1000); }
  // The entry's place in the pool, stable while it lives (a sync master's side table).
  uint32_t slot_of(const Conn6& c) const { return index_of(c); }
  // Removes the entry now (a sync message for its key names another real server).
  void expire_now(Conn6& c) {
    remove(index_of(c));
    stats_.expired++;
  }

  // Removes what expired; looks only once a second. A template due while connections depend
  // on it is kept 60 s more, as the IPv4 table keeps one (ip_vs_conn_expire, "expire_later").
  void expire(uint64_t now_ms);
  void set_timeouts(const Timeouts& t) { timeouts_.apply(t); }
  // net.ipv4.vs.secure_tcp in effect: TCP moves by the secure tables (conn/tcp_state.h).
  void set_secure_tcp(bool on) { secure_tcp_ = on; }
  // Where each entry is counted on its destination (ActiveConn/InActConn): the IPv4 table's
  // counters, which the schedulers and thresholds read. Before the first insert.
  void count_loads_on(ConnTable* loads) { loads_ = loads; }

  // -L -c a chunk at a time, as ConnTable::describe_from: the live entries from slot `from`
  // on, until max_entries are appended or max_slots slots are looked at; returns the slot to
  // go on from, or kListed when none is left. An entry keeps its slot while it lives.
  static constexpr std::size_t kListed = std::size_t(-1);
  std::size_t describe_from(std::size_t from, std::size_t max_entries, std::size_t max_slots,
                            uint64_t now_ms, std::vector<ConnectionEntry>& out) const;

  std::size_t size() const { return live_; }
  std::size_t capacity() const { return pool_.size(); }
  struct Stats {
    uint64_t inserted = 0, expired = 0, refused_full = 0, local_ports_exhausted = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  static FlowKey6 reply_key(const Conn6& c) {
    return {c.in.proto, c.destination, c.method == Method::FullNat ? c.local : c.in.from};
  }
  static const FlowKey6& in_key(const Conn6& c) { return c.in; }
  using InTraits = IndexTraits<Conn6, FlowKey6, &Conn6Table::in_key, &Conn6::in_next_>;
  using OutTraits = IndexTraits<Conn6, FlowKey6, &Conn6Table::reply_key, &Conn6::out_next_>;
  // Templates are in no "out" index: nothing answers them.
  static bool has_reply_key(const Conn6& c) {
    return !c.is_template() && replies_come_back(c.method);
  }
  uint64_t timeout_ms(const Conn6& c) const;
  // A fresh live entry keyed `in` (replacing one with that key), linked nowhere yet;
  // nullptr when full.
  Conn6* take_entry(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest);
  uint32_t bucket_in(const FlowKey6& key) const;
  uint32_t bucket_out(const FlowKey6& key) const;
  uint32_t index_of(const Conn6& c) const { return uint32_t(&c - pool_.data()); }
  // Off both indexes and its destination's counts, back on the free list.
  void remove(uint32_t index);

  std::vector<Conn6, HugePageAllocator<Conn6>> pool_;
  ChainedIndex<InTraits> in_index_;
  ChainedIndex<OutTraits> out_index_;
  uint64_t hash_seed_ = 0;
  uint32_t free_head_ = kNoEntry;
  // Slots at and above this were never used: what expiry and listing need not look at.
  uint32_t high_water_ = 0;
  std::size_t live_ = 0;
  ConnTable* loads_ = nullptr;
  ConnTimeouts timeouts_;
  bool secure_tcp_ = false;
  uint64_t next_expiry_ms_ = 0;
  std::unordered_map<Ip6, uint16_t, Ip6Hash> local_port_cursors_;
  Stats stats_;
};

}  // namespace vsd
