// The connection table, the role of ip_vs_conn.c: every live connection and persistence
// template, found from either direction without allocating, expired by a hierarchical timer
// wheel, and the per-destination ActiveConn/InActConn/PersistConn counters kept the way the
// kernel keeps them.
//
// - Capacity is fixed at construction; nothing allocates afterwards but the copy of a SIP
//   template's Call-ID (--pe sip), one per such template as the kernel keeps one. (The kernel
//   allocates until memory runs out; we prefer a bound and a counter.)
// - Under pressure (docs/design.md, "The connection table under a flood"): once the entries in
//   use reach ConnTableConfig::pressure_at, each insert first removes one embryonic entry
//   found by a sweep (a half-open TCP connection, a NAT UDP flow that never had a reply,
//   an unassured template nobody uses: the kernel's drop_entry), and a TCP connection entering
//   SYN_RECV gets the shorter pressure_syn_recv_s (as secure_tcp shortens it). Established
//   connections are never dropped. When every entry is in use and no embryonic one is found,
//   insert() returns nullptr and stats().refused_full counts it; the caller drops the packet
//   and answers nothing.
// - Single-threaded: the data-plane thread owns the table. No locks.
// - Time is the caller's: every call that needs it takes now_ms from the director's Clock.
//   Call expire() often (the data plane does on every loop); insert and refresh assume the
//   wheel is at most a day behind now_ms.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/rules.h"
#include "config/state.h"
#include "conn/chained_index.h"
#include "conn/function_ref.h"
#include "conn/huge_pages.h"
#include "conn/sctp_state.h"
#include "conn/tcp_state.h"
#include "net/addr.h"

namespace vsd {

// A template that is due while connections still depend on it is looked at again this much
// later, and has this timeout from then on (ip_vs_conn.c ip_vs_conn_expire, "expire_later").
inline constexpr uint32_t kTemplateKeepAliveS = 60;

// Which side sent a packet of an existing connection.
enum class PacketFrom : uint8_t { Client, Server };

// A new connection, as the scheduler decided it.
struct NewConn {
  Proto proto = Proto::Tcp;
  Endpoint client;        // CIP:cport
  Endpoint virtual_addr;  // VIP:vport
  Endpoint destination;   // RIP:rport
  Endpoint local;         // FULLNAT only: LIP:lport (see ConnTable::pick_local_port)
  Method method = Method::Nat;
  uint32_t dest = 0;        // the destination's handle, < max_destinations
  bool one_packet = false;  // -o, UDP only: never found by lookups, gone at the next expire()
  bool toa = false;         // FULLNAT TCP with TOA: the client's handshake ACK carries it
};

// What a persistence template is found by (ip_vs_core.c ip_vs_sched_persist): the client's
// address under the service's netmask and the service; client port always 0.
struct TemplateKey {
  Proto proto = Proto::Tcp;
  Ipv4 client_net;        // CIP & mask
  Endpoint virtual_addr;  // VIP:vport, vport 0 for a port-0 service
  uint32_t fwmark = 0;    // fwmark services: the mark, and proto and virtual_addr are ignored
  // A service with the SIP persistence engine: the datagram's Call-ID (ip_vs_pe_sip.c
  // ct_match), compared byte for byte; templates keyed by one never match a key without one.
  std::string_view pe_data;

  static TemplateKey for_service(Proto proto, Ipv4 client, Ipv4 mask, Endpoint virtual_addr) {
    return TemplateKey{proto, client.masked(mask), virtual_addr, 0, {}};
  }
  // The kernel keys these with protocol IPPROTO_IP, so TCP and UDP from one client share one.
  static TemplateKey for_fwmark(Proto proto, Ipv4 client, Ipv4 mask, uint32_t fwmark) {
    return TemplateKey{proto, client.masked(mask), Endpoint{}, fwmark, {}};
  }
};

struct NewTemplate {
  TemplateKey key;
  Endpoint destination;  // RIP:rport of the chosen destination
  Method method = Method::Nat;
  uint32_t dest = 0;         // the destination's handle
  uint32_t timeout_s = 360;  // the service's persistence timeout (-p)
};

// vsd --workers N: one destination's counters and overload flag as the whole director has
// them, beside each worker's own (DestLoad). Kernel IPVS keeps one struct ip_vs_dest for all
// CPUs, with atomic counters; the workers' tables write these when a connection is counted
// (made, gone, active <-> inactive), never for a packet that changes none, and the
// schedulers and the thresholds read them, so every worker schedules from the director's
// counts. Relaxed: like the kernel's, a count may be one behind another CPU's change.
struct SharedDestLoad {
  std::atomic<uint32_t> active{0};
  std::atomic<uint32_t> inactive{0};
  std::atomic<uint32_t> persistent{0};
  std::atomic<uint32_t> upper_threshold{0};
  std::atomic<uint32_t> lower_threshold{0};
  std::atomic<bool> overloaded{false};
  uint32_t total() const {
    return active.load(std::memory_order_relaxed) + inactive.load(std::memory_order_relaxed);
  }
};

// One destination's counters, as struct ip_vs_dest keeps them, and its thresholds (-x, -y).
struct DestLoad {
  uint32_t active = 0;      // ActiveConn
  uint32_t inactive = 0;    // InActConn
  uint32_t persistent = 0;  // PersistConn: templates
  uint32_t upper_threshold = 0;
  uint32_t lower_threshold = 0;
  bool overloaded = false;  // no scheduler may pick it (spec 8)
  // With several workers, the director's counts (ConnTable::share_dest_load): the thresholds
  // are decided on those, and the local ones above stay this table's share.
  SharedDestLoad* shared = nullptr;
  // What the thresholds compare (ip_vs_conn.c ip_vs_dest_totalconns): templates excluded.
  uint32_t total() const { return active + inactive; }
  // Whether any connection or template is counted here.
  bool has_entries() const { return total() + persistent != 0; }
};

struct ConnTableStats {
  uint64_t inserted = 0;
  uint64_t expired = 0;                // removed by their timeout, or on purpose
  uint64_t refused_full = 0;           // insert with every entry in use and none embryonic
  uint64_t early_dropped = 0;          // embryonic entries removed to make room (drop_entry)
  uint64_t early_drop_misses = 0;      // sweeps under pressure that found none
  uint64_t short_syn_recv = 0;         // SYN_RECV entries given pressure_syn_recv_s
  uint64_t pressure_episodes = 0;      // times the table reached pressure_at from below
  uint64_t refused_bad_dest = 0;       // insert with dest >= max_destinations
  uint64_t local_ports_exhausted = 0;  // pick_local_port found no free port
};

struct ConnTableConfig {
  static constexpr uint32_t kDefaultCapacity = 1u << 20;
  static constexpr uint32_t kMaxCapacity = (1u << 31) - 1024;

  uint32_t capacity = kDefaultCapacity;  // connections plus templates
  // Destination handles are below this: what the rules' destinations (and deleted ones still
  // counted on) may number. 24 bytes each, taken from the kernel's zero pages until a handle
  // is used, so the default costs memory only for the destinations there are.
  uint32_t max_destinations = 1u << 20;  // at most kMaxDestinations
  // The defences start when this many entries are in use; 0: seven eighths of the capacity
  // (the role of amemthresh, which measures free memory where vsd has a fixed table).
  uint32_t pressure_at = 0;
  // SYN_RECV's timeout under pressure, instead of the 60 s of tcp_timeouts.
  uint32_t pressure_syn_recv_s = 5;
  // false: no pressure, no early drop; a full table refuses (tests that model the table).
  bool defences = true;
};

// One entry: a connection or a persistence template. 56 bytes; the table owns them and hands
// out pointers that stay valid until the entry expires.
class Conn {
 public:
  Proto proto() const { return proto_; }
  Method method() const { return method_; }
  Endpoint client() const { return {client_addr_, client_port_}; }  // port 0 for templates
  // VIP:vport. For a fwmark template, the mark as an address, as the kernel stores it.
  Endpoint virtual_addr() const { return {virtual_addr_, virtual_port_}; }
  Endpoint destination() const { return {dest_addr_, dest_port_}; }
  // FULLNAT: LIP:lport. Nothing for other methods and templates. Inline: the data plane reads
  // it for every packet it forwards.
  Endpoint local() const {
    if (method_ != Method::FullNat || is_template()) return {};
    return {Ipv4{local_addr_or_timeout_}, local_port_};
  }
  uint32_t dest() const { return dest_; }
  TcpState tcp_state() const { return state_; }  // NONE for UDP, ICMP and templates
  // An SCTP connection's state (the same byte holds it); NONE for every other entry.
  SctpState sctp_state() const {
    return proto_ == Proto::Sctp && !is_template() ? static_cast<SctpState>(state_)
                                                   : SctpState::None;
  }

  bool is_template() const { return flags_ & kTemplate; }
  bool is_fwmark_template() const { return flags_ & kFwmark; }
  // A template keyed by a persistence engine's data too (--pe sip: the Call-ID).
  bool has_pe_data() const { return is_template() && local_port_ == kPeSip; }
  uint32_t fwmark() const { return is_fwmark_template() ? virtual_addr_.value : 0; }
  bool is_one_packet() const { return flags_ & kOnePacket; }
  // IP_VS_CONN_F_NOOUTPUT: no reply seen through the director (DR, TUN; UDP until a reply).
  bool no_output() const { return flags_ & kNoOutput; }
  // Counted in ActiveConn (for templates: never).
  bool is_active() const { return !(flags_ & (kInactive | kTemplate)); }
  // A template one of whose connections reached ESTABLISHED (IP_VS_CTPL_S_ASSURED).
  bool is_assured() const { return flags_ & kAssured; }
  // FULLNAT with TOA: the client's next segment with ACK (its handshake ACK) gets the option.
  bool toa_pending() const { return flags_ & kToaPending; }
  void toa_sent() { flags_ &= uint8_t(~kToaPending); }
  // Templates: how many connections depend on it and keep it alive.
  uint32_t dependents() const { return is_template() ? control_ : 0; }
  bool has_template() const { return !is_template() && control_ != kNone; }
  // What ipvsadm -L -c prints in the state column: a TCP state, "UDP", "ICMP", or for a
  // template "NONE" or "ASSURED" (ip_vs_proto.c ip_vs_state_name).
  std::string_view state_name() const;

 private:
  friend class ConnTable;

  static constexpr uint32_t kNone = 0xffffffff;  // no entry: ends chains and lists
  // A template has no local side: its local_port_ names its persistence engine (0: none) and
  // its out_next_ (templates are not in the out index) holds the hash of the engine's data.
  static constexpr uint16_t kPeSip = 1;

  enum Flag : uint8_t {
    kTemplate = 1 << 0,    // IP_VS_CONN_F_TEMPLATE
    kFwmark = 1 << 1,      // template keyed by a firewall mark
    kOnePacket = 1 << 2,   // IP_VS_CONN_F_ONE_PACKET: not indexed
    kNoOutput = 1 << 3,    // IP_VS_CONN_F_NOOUTPUT: DR/TUN, and UDP, until a reply is seen
    kInactive = 1 << 4,    // IP_VS_CONN_F_INACTIVE: counted in InActConn
    kAssured = 1 << 5,     // template: IP_VS_CTPL_S_ASSURED
    kDoomed = 1 << 6,      // removed on purpose (expire_now): the kernel's timeout 0
    kToaPending = 1 << 7,  // FULLNAT TOA not yet sent
  };

  // Doubly linked timer list; indices at or above the pool size name the wheel's slot heads.
  struct TimerLink {
    uint32_t next = kNone;
    uint32_t prev = kNone;  // kNone: the entry is free
  };

  // Laid out for the lookups. An entry is 56 bytes, so most entries straddle two cache lines;
  // a lookup from the client's side reads the first 28 bytes (addresses, ports, proto, flags,
  // state, the in chain, the expiry, the destination handle) and a reply's the first 40, so
  // that a chain walked past costs one line per entry. The packet that finds its entry also
  // reads the destination (bytes 28-34), so the look-ahead loads both lines of that one.
  Ipv4 client_addr_;
  Ipv4 virtual_addr_;
  uint16_t client_port_ = 0;
  uint16_t virtual_port_ = 0;
  Proto proto_ = Proto::Tcp;
  Method method_ = Method::Nat;
  uint8_t flags_ = 0;
  TcpState state_ = TcpState::None;
  uint32_t in_next_ = kNone;  // chain of the "in" index; the free list while free
  uint32_t expires_ms_ = 0;   // low 32 bits of the absolute expiry time
  uint32_t dest_ : 24 = 0;    // read per packet too (the data plane's service_of)
  // Client packets seen, saturating at 255 (the kernel's cp->in_pkts; drop_entry reads it).
  uint32_t in_pkts_ : 8 = 0;
  Ipv4 dest_addr_;
  uint16_t dest_port_ = 0;
  uint16_t local_port_ = 0;
  uint32_t out_next_ = kNone;  // chain of the "out" index
  // A FULLNAT connection's LIP. A template has no local side and keeps its timeout here
  // instead, in seconds (the kernel's ct->timeout).
  uint32_t local_addr_or_timeout_ = 0;
  // A connection: its template's index, or kNone. A template: its number of dependents.
  uint32_t control_ = kNone;
  TimerLink timer_;
};

class ConnTable {
 public:
  // Allocates everything the table will ever use. Throws std::invalid_argument for a
  // capacity of 0 or above 2^31 - 1024, or no destinations.
  explicit ConnTable(const ConnTableConfig& config = {}, const Timeouts& timeouts = {});
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // --- creating entries -----------------------------------------------------------------
  // A new connection in state NONE, counted inactive on its destination as the kernel counts
  // every new connection (ip_vs_conn.c ip_vs_bind_dest); feed it its first packet with
  // on_packet() next. With a template, the template lives at least as long as it does.
  // nullptr when the table is full or dest is out of range (counted in stats()).
  // The caller looks the key up first: inserting a key twice leaves both, the newer found.
  // Under pressure an insert may remove an embryonic entry first: a pointer the caller keeps
  // to one (other than control_template) is stale after it.
  Conn* insert(const NewConn& conn, uint64_t now_ms, Conn* control_template = nullptr);
  // A persistence template, counted in the destination's PersistConn, expiring after
  // timeout_s unless connections still depend on it.
  Conn* insert_template(const NewTemplate& tmpl, uint64_t now_ms);

  // --- lookups (no allocation; nullptr when absent) -------------------------------------
  // Where a find_in/find_out will look, worked out a few packets ahead by prefetch_in/out
  // and handed back to that lookup, so that its key is hashed once. It keeps the key it was
  // made for: a lookup of another key, or from the other side, ignores it and hashes as it
  // would without one, so a stale or mismatched hint costs a compare, never a wrong answer.
  // Only the table that made it may be given it (the bucket depends on the table's seed).
  class Hint {
   public:
    Hint() = default;  // made for no key: every lookup ignores it

   private:
    friend class ConnTable;
    enum class Side : uint8_t { None, In, Out };
    Hint(Side side, Proto proto, Endpoint a, Endpoint b, uint32_t bucket)
        : side_(side),
          proto_(proto),
          port_a_(a.port),
          port_b_(b.port),
          addr_a_(a.addr),
          addr_b_(b.addr),
          bucket_(bucket) {}
    bool is_for(Side side, Proto proto, Endpoint a, Endpoint b) const {
      return side_ == side && proto_ == proto && addr_a_ == a.addr && addr_b_ == b.addr &&
             port_a_ == a.port && port_b_ == b.port;
    }
    Side side_ = Side::None;
    Proto proto_ = Proto::Tcp;
    uint16_t port_a_ = 0, port_b_ = 0;
    Ipv4 addr_a_, addr_b_;
    uint32_t bucket_ = 0;
  };

  // A packet from the client: (proto, CIP, cport, VIP, vport). Never returns templates.
  Conn* find_in(Proto proto, Endpoint client, Endpoint virtual_addr, const Hint* hint = nullptr);
  // A reply from a real server, RIP:rport -> peer: a NAT connection when peer is CIP:cport,
  // a FULLNAT one when it is LIP:lport. DR and TUN connections are not indexed for replies.
  Conn* find_out(Proto proto, Endpoint server, Endpoint peer, const Hint* hint = nullptr);
  // Whether the template's destination may still be used (ip_vs_check_template) is the
  // caller's to decide; a replacement inserted under the same key is the one found.
  Conn* find_template(const TemplateKey& key);
  // Start loading the bucket a find_in/find_out will read, a few frames ahead; the hint
  // names it for the steps below.
  Hint prefetch_in(Proto proto, Endpoint client, Endpoint virtual_addr) const;
  Hint prefetch_out(Proto proto, Endpoint server, Endpoint peer) const;
  // Then, once that bucket is likely in cache, start loading the first entry of its chain
  // (the one a lookup reads next; with a million entries it is a miss of its own). Nothing
  // for a hint made for no key.
  void prefetch_entry(const Hint& hint) const;
  // The second entry of the hinted chain when its first is another key's: read the first
  // (prefetch_entry loaded it), so call it some frames after prefetch_entry.
  void prefetch_chain(const Hint& hint) const;

  // --- per packet and per use -----------------------------------------------------------
  // One packet of a connection: the TCP state transition (and the counters it moves), then
  // the timeout restarts from now with the new state's value (set_tcp_state, ip_vs_conn_put).
  // tcp_flags are the TCP header's flag bits; ignored for UDP, SCTP and ICMP.
  void on_packet(Conn& conn, PacketFrom from, uint8_t tcp_flags, uint64_t now_ms);
  // The same for an SCTP packet, moved by its deciding chunk (sctp_deciding_chunk; nothing
  // when it has none: the state stays, set_sctp_state). The template of a connection that
  // gets established is assured, as for TCP.
  void on_sctp_packet(Conn& conn, PacketFrom from, std::optional<uint8_t> chunk_type,
                      uint64_t now_ms);
  // Restart the timeout from now, unchanged: for a template each time a new connection is
  // scheduled through it. O(1).
  void refresh(Conn& conn, uint64_t now_ms);
  // Remove at the next expire(), as ip_vs_conn_expire_now with timeout 0 (expire_nodest_conn,
  // flushes): a template with dependents is still kept alive, and when a removed connection
  // leaves its template unused and not assured, the template goes too.
  void expire_now(Conn& conn, uint64_t now_ms);

  // --- connection synchronization (sync/) ------------------------------------------------
  // The entry's slot, fixed while it lives and below capacity(): what side tables index.
  uint32_t slot_of(const Conn& conn) const { return index_of(conn); }
  // A template's persistence-engine data (the SIP Call-ID); empty for every other entry.
  std::string_view pe_data(const Conn& conn) const {
    return conn.has_pe_data() ? pe_data_of(index_of(conn)) : std::string_view();
  }
  // A connection's persistence template, if it has one.
  const Conn* template_of(const Conn& conn) const {
    return conn.has_template() ? &pool_[conn.control_] : nullptr;
  }
  // The entry's whole timeout in its current state, in seconds (the kernel's cp->timeout).
  uint32_t timeout_s(const Conn& conn) const { return uint32_t(timeout_ms(conn) / 1000); }
  // What a backup does with a sync message for an entry (ip_vs_proc_conn): a connection takes
  // the state and the active/inactive flag (the destination's counters follow the flag, not
  // the state), a template the assured flag and the timeout; either then expires timeout_s
  // from now, until a packet restarts it with its state's own.
  void apply_synced(Conn& conn, TcpState state, bool inactive, bool assured, uint32_t timeout_s,
                    uint64_t now_ms);

  // --- expiry ---------------------------------------------------------------------------
  // Removes every entry due at or before now_ms and reports each (already off its
  // destination's counters, fields still readable) before its storage is reused. A template
  // that is due while connections depend on it is kept 60 s more (ip_vs_conn.c
  // ip_vs_conn_expire, "expire_later"). Returns the number removed.
  std::size_t expire(uint64_t now_ms);
  std::size_t expire(uint64_t now_ms, FunctionRef<void(const Conn&)> on_expired);

  // --- FULLNAT --------------------------------------------------------------------------
  // A local port for a new FULLNAT connection LIP -> RIP:rport such that its reply key
  // (proto, RIP, rport, LIP, lport) is unused. Ports 1024..65535 from a cursor per LIP;
  // at most kLocalPortProbes candidates, then nothing (counted).
  static constexpr int kLocalPortProbes = 64;
  std::optional<uint16_t> pick_local_port(Proto proto, Ipv4 local, Endpoint server);
  // vsd --workers N: worker w's table picks only ports with port % N == w, so that the
  // kernel can steer a real server's reply to it by its destination port
  // (io/flow_steering.h). (0, 1), every port, until set. Before any port is picked.
  void set_local_port_class(uint16_t residue, uint16_t modulus);

  // --- destinations ---------------------------------------------------------------------
  // Counters for one destination handle. A handle may be given to a new destination only
  // once its counters are back to zero.
  const DestLoad& dest_load(uint32_t dest) const { return dest_loads_.at(dest); }
  // An entry keeps its destination's handle in 24 bits.
  static constexpr uint32_t kMaxDestinations = 1u << 24;
  // Destination handles are below this (ConnTableConfig::max_destinations).
  std::size_t max_destinations() const { return dest_loads_.size(); }
  // -x/-y on a destination; clears the overload flag as ip_vs_ctl.c __ip_vs_update_dest does.
  void set_dest_thresholds(uint32_t dest, uint32_t upper, uint32_t lower);
  // The IPv6 table's connections (conn/table6.h), counted on their destination as this table
  // counts its own, so that ActiveConn/InActConn, the schedulers and -x/-y see them: a new one
  // is inactive, one that goes leaves its column, one whose TCP state moves may change column.
  void count_ipv6_new(uint32_t dest);
  void count_ipv6_gone(uint32_t dest, bool active);
  void count_ipv6_change(uint32_t dest, bool now_active);
  // An IPv6 persistence template made (or gone), in the destination's PersistConn.
  void count_ipv6_template(uint32_t dest, bool made);
  // vsd --workers N: from now on the handle's counts also go to `shared`, which decides its
  // overload flag; nullptr: this table's counts alone (one worker). The caller keeps `shared`
  // alive while the handle points to it, and gives a handle with entries only the object it
  // had (its counts are in it).
  void share_dest_load(uint32_t dest, SharedDestLoad* shared) {
    dest_loads_.at(dest).shared = shared;
  }
  // The new connection just scheduled to `shared`'s destination, counted there now, while the
  // scheduler's lock is held (vsd/shared_scheduling.h): the next insert of a connection to it
  // takes this count instead of adding one. One at a time: a count no insert took (the table
  // was full) is given back at the next call.
  void count_scheduled(SharedDestLoad& shared);

  // --- timeouts -------------------------------------------------------------------------
  // `--set tcp tcpfin udp`; connections pick the new values up at their next packet.
  void set_timeouts(const Timeouts& timeouts) { timeouts_.apply(timeouts); }
  // net.ipv4.vs.secure_tcp in effect (conn/defence.h): TCP moves by the secure tables
  // (conn/tcp_state.h) from the next segment on.
  void set_secure_tcp(bool on) { secure_tcp_ = on; }
  bool secure_tcp() const { return secure_tcp_; }

  // --- net.ipv4.vs.drop_entry -----------------------------------------------------------
  // One second's round of ip_vs_random_dropentry. The kernel looks at 128 random buckets of
  // its 4096-bucket hash table (1/32 of it, drawn with replacement), into which entries fall
  // by a hash seeded at random; here the slots are the 4096 groups (slot modulo 4096), 128
  // drawn from `random` the same way. An entry looked at goes (expire_now) when it is a TCP
  // connection in SYN_RECV or SYNACK, SCTP in INIT1 or INIT, a template neither assured nor in
  // use; or, idle for 60 s at least and with 1 to 8 client packets, an ESTABLISHED TCP or SCTP
  // connection or any UDP or ICMP one, one in n of those found with n packets (todrop_entry's
  // counters, kept from round to round). A template something depends on stays. Returns how
  // many went.
  static constexpr uint32_t kDropEntryGroups = 4096;  // CONFIG_IP_VS_TAB_BITS 12
  std::size_t drop_random_entries(std::mt19937& random, uint64_t now_ms);
  // Client packets the entry has seen, up to 255 (the kernel's cp->in_pkts, which only the
  // random drop reads here).
  static uint32_t client_packets(const Conn& conn) { return conn.in_pkts_; }
  const ConnTimeouts& timeouts() const { return timeouts_; }

  // --- listing --------------------------------------------------------------------------
  // Every live entry once, connections and templates, in no particular order.
  void for_each(FunctionRef<void(const Conn&)> visit) const;
  void for_each(FunctionRef<void(Conn&)> visit);
  uint64_t expires_in_ms(const Conn& conn, uint64_t now_ms) const;
  // One line of `ipvsadm -L -n -c`.
  ConnectionEntry describe(const Conn& conn, uint64_t now_ms) const;
  // A listing a chunk at a time, so that no single call holds the data plane long: describes
  // the live entries from slot `from` on, until max_entries are appended or max_slots slots
  // are looked at, and returns the slot to go on from (capacity() once every slot is seen).
  // An entry stays in its slot while it lives, so a listing that goes on from the returned
  // slot sees every entry that lives throughout exactly once; one made or gone in between
  // may be missed or seen (as with the kernel's /proc/net/ip_vs_conn).
  std::size_t describe_from(std::size_t from, std::size_t max_entries, std::size_t max_slots,
                            uint64_t now_ms, std::vector<ConnectionEntry>& out) const;

  std::size_t size() const { return live_; }
  std::size_t capacity() const { return pool_.size(); }
  // The defences are on: the entries in use reached ConnTableConfig::pressure_at.
  bool under_pressure() const { return live_ >= pressure_at_; }
  std::size_t pressure_at() const { return pressure_at_; }
  // Whether the early drop may take this entry: TCP in SYN_RECV or SYNACK, UDP through NAT or
  // FULLNAT that never saw a reply, a template that is not assured and has no dependents.
  static bool is_embryonic(const Conn& conn);
  const ConnTableStats& stats() const { return stats_; }
  // Memory per entry: the entry itself plus both indexes' bucket arrays, per entry.
  double bytes_per_entry() const;
  // The same, before a table is made: what --conn-table-size costs per entry.
  static constexpr std::size_t kBytesPerEntry = sizeof(Conn) + 2 * sizeof(uint32_t);
  // Entries an early drop looks at, at most, for an embryonic one; when it finds none in a
  // full table, the early drop rests until the next millisecond.
  static constexpr uint32_t kEarlyDropScan = 256;

 private:
  static constexpr uint32_t kNone = Conn::kNone;
  static constexpr int kWheelLevels = 4;
  static constexpr uint32_t kWheelSlots = 256;  // per level; 8 bits of the time each
  static constexpr uint32_t kWheelLists = kWheelLevels * kWheelSlots;
  // One more list, outside the wheel: entries to remove at the next expire() whatever its
  // time (expire_now, one-packet connections).
  static constexpr uint32_t kDueList = kWheelLists;

  // What the in index is keyed by. Templates share it, told apart by kind.
  enum class InKind : uint8_t { Connection, ServiceTemplate, FwmarkTemplate };
  struct InKey {
    Proto proto;
    InKind kind;
    Ipv4 client;
    uint16_t client_port;
    Ipv4 virtual_addr;
    uint16_t virtual_port;
    bool keyed_by_pe = false;  // a template with persistence-engine data, of this hash
    uint32_t pe_hash = 0;
    bool operator==(const InKey&) const = default;
  };
  struct OutKey {
    Proto proto;
    Ipv4 server;
    uint16_t server_port;
    Ipv4 peer;
    uint16_t peer_port;
    bool operator==(const OutKey&) const = default;
  };

  // Entries
  uint32_t index_of(const Conn& conn) const;
  // keep: an entry the caller holds (the new connection's template), never dropped.
  Conn* take_free_entry(uint64_t now_ms, const Conn* keep);
  // Under pressure: remove one embryonic entry, found within kEarlyDropScan entries.
  void early_drop(uint64_t now_ms, const Conn* keep);
  void release_entry(uint32_t index);
  uint64_t timeout_ms(const Conn& conn) const;
  // Restart the timer: due `ms` from now.
  void restart_timer(Conn& conn, uint64_t now_ms, uint64_t ms);

  // Indexes
  static InKey in_key_of(const Conn& conn);
  static bool has_out_key(const Conn& conn);
  static OutKey out_key_of(const Conn& conn);
  // The two indexes' sides of an entry (conn/chained_index.h).
  using InTraits = IndexTraits<Conn, InKey, &ConnTable::in_key_of, &Conn::in_next_>;
  using OutTraits = IndexTraits<Conn, OutKey, &ConnTable::out_key_of, &Conn::out_next_>;
  uint32_t in_bucket(const InKey& key) const;
  uint32_t out_bucket(const OutKey& key) const;
  void link_in(uint32_t index);
  void unlink_in(uint32_t index);
  void link_out(uint32_t index);
  void unlink_out(uint32_t index);
  Conn* find_by_in_key(const InKey& key, uint32_t bucket);
  uint32_t pe_hash(std::string_view data) const;
  std::string_view pe_data_of(uint32_t index) const;

  // The TCP state machine applied to one segment (ip_vs_proto_tcp.c set_tcp_state).
  void apply_tcp_segment(Conn& conn, PacketFrom from, uint8_t tcp_flags);

  // Destination counters (ip_vs_conn.c ip_vs_bind_dest / ip_vs_unbind_dest)
  void count_new(const Conn& conn);
  void count_gone(const Conn& conn);
  void count_state_change(Conn& conn, TcpState next);
  void count_activity_change(Conn& conn, bool becomes_active);
  // Whose direction table a packet is looked up in; a reply clears NOOUTPUT.
  static TcpDirection direction_of(Conn& conn, PacketFrom from);

  // Timer wheel
  Conn::TimerLink& timer_link(uint32_t node);
  void arm(uint32_t index, uint64_t expires_ms);
  void arm_due(uint32_t index);
  void link_last(uint32_t index, uint32_t list);
  void disarm(uint32_t index);
  uint64_t expiry_of(const Conn& conn, uint64_t near_ms) const;
  void cascade(uint64_t block_start_ms);
  void refile_list(uint32_t list);
  std::size_t run_list(uint32_t list, uint64_t tick, FunctionRef<void(const Conn&)>* on_expired);
  std::size_t handle_due(uint32_t index, uint64_t tick, FunctionRef<void(const Conn&)>* on_expired);
  void reap(uint32_t index, uint64_t tick, FunctionRef<void(const Conn&)>* on_expired);
  std::size_t advance_wheel(uint64_t now_ms, FunctionRef<void(const Conn&)>* on_expired);
  bool list_is_occupied(uint32_t list) const;
  void mark_list(uint32_t list, bool occupied);
  std::optional<uint32_t> first_occupied_slot(uint32_t from, uint32_t to) const;
  bool level_is_empty(uint32_t level) const;
  uint64_t quiet_until(uint64_t tick) const;

  std::vector<Conn, HugePageAllocator<Conn>> pool_;
  ChainedIndex<InTraits> in_index_;  // as many buckets as entries, in each index
  ChainedIndex<OutTraits> out_index_;
  uint64_t hash_seed_ = 0;
  uint32_t free_head_ = kNone;
  std::size_t live_ = 0;

  // The wheel: level L slot S holds entries due in the S-th 256^L ms block ahead; heads are
  // TimerLinks addressed as pool_.size() + L * 256 + S; then the due list.
  std::vector<Conn::TimerLink> wheel_heads_;
  std::array<uint64_t, kWheelLists / 64 + 1> wheel_occupied_{};  // one bit per list
  uint64_t next_tick_ms_ = 0;                                    // first ms not yet processed

  // Zeroed by the kernel, page by page as handles are used, not all at once (calloc).
  struct DestLoads {
    struct Free {
      void operator()(DestLoad* p) const { std::free(p); }
    };
    std::unique_ptr<DestLoad[], Free> loads;
    std::size_t count = 0;
    std::size_t size() const { return count; }
    DestLoad& operator[](std::size_t i) { return loads[i]; }
    const DestLoad& operator[](std::size_t i) const { return loads[i]; }
    DestLoad& at(std::size_t i) {
      if (i >= count) throw std::out_of_range("destination handle " + std::to_string(i));
      return loads[i];
    }
    const DestLoad& at(std::size_t i) const { return const_cast<DestLoads*>(this)->at(i); }
  };
  DestLoads dest_loads_;
  SharedDestLoad* scheduled_ = nullptr;             // count_scheduled's, until an insert takes it
  std::array<uint16_t, 256> local_port_cursors_{};  // per LIP, by hash
  uint16_t first_local_port_ = 0;                   // the lowest port of the class
  uint16_t local_port_step_ = 1;
  std::size_t pressure_at_ = 0;
  uint64_t pressure_syn_recv_ms_ = 0;
  bool was_under_pressure_ = false;
  uint32_t early_drop_hand_ = 0;       // where the next sweep starts
  uint64_t early_drop_resume_ms_ = 0;  // after a sweep that found nothing: not before this
  ConnTimeouts timeouts_;
  bool secure_tcp_ = false;
  // todrop_entry: whether the idle entry with i client packets goes (drop_random_entries).
  bool idle_entry_goes(const Conn& conn, uint64_t now_ms);
  std::array<int8_t, 9> idle_drop_counters_{};  // todrop_counter, by client packets
  ConnTableStats stats_;
  // The persistence-engine data of the templates that have it, by slot: a copy per template,
  // as the kernel keeps one (kmemdup in ip_vs_sip_fill_param), made when the template is.
  std::unordered_map<uint32_t, std::string> pe_data_;
};

}  // namespace vsd
