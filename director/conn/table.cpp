#include "conn/table.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace vsd {
namespace {

// Entries are timed in milliseconds and keep the low 32 bits of their expiry; a timeout is
// capped so that an expiry is always well within 2^31 ms of the wheel's time.
constexpr uint64_t kMaxTimeoutMs = 20ull * 24 * 3600 * 1000;

constexpr uint16_t kFirstLocalPort = 1024;  // FULLNAT lports: 1024..65535

}  // namespace

std::string_view Conn::state_name() const {
  if (is_template()) return is_assured() ? "ASSURED" : "NONE";
  switch (proto_) {
    case Proto::Tcp:
      return tcp_state_name(state_);
    case Proto::Udp:
      return "UDP";
    case Proto::Sctp:
      return sctp_state_name(sctp_state());
    case Proto::Icmp:
      return "ICMP";
  }
  return "ERR!";
}

ConnTable::ConnTable(const ConnTableConfig& config, const Timeouts& timeouts)
    : timeouts_(timeouts) {
  if (config.capacity == 0 || config.capacity > ConnTableConfig::kMaxCapacity)
    throw std::invalid_argument("connection table capacity must be 1..2^31-1024, not " +
                                std::to_string(config.capacity));
  if (config.max_destinations == 0 || config.max_destinations > kMaxDestinations)
    throw std::invalid_argument("connection table needs 1..2^24 destination handles, not " +
                                std::to_string(config.max_destinations));

  pool_.resize(config.capacity);
  for (uint32_t i = 0; i < config.capacity; ++i) pool_[i].in_next_ = i + 1;
  pool_.back().in_next_ = kNone;
  free_head_ = 0;

  // As many buckets as entries (a full table averages one entry a chain), not the next power
  // of two: that would cost up to 8 more bytes an entry, 72 in all. Hashes are reduced to a
  // bucket by a multiply (bucket_of).
  in_index_.assign(config.capacity);
  out_index_.assign(config.capacity);
  hash_seed_ = random_hash_seed();

  wheel_heads_.resize(kWheelLists + 1);
  for (uint32_t list = 0; list <= kDueList; ++list) {
    const uint32_t head = config.capacity + list;
    wheel_heads_[list] = Conn::TimerLink{head, head};
  }

  // DestLoad is all zeros at rest, an implicit-lifetime aggregate: calloc's zeroed memory is
  // an array of them.
  dest_loads_.loads.reset(
      static_cast<DestLoad*>(std::calloc(config.max_destinations, sizeof(DestLoad))));
  if (!dest_loads_.loads) throw std::bad_alloc();
  dest_loads_.count = config.max_destinations;
  set_local_port_class(0, 1);

  if (!config.defences) {
    pressure_at_ = std::size_t{config.capacity} + 1;  // never reached
  } else if (config.pressure_at != 0) {
    pressure_at_ = std::min(config.pressure_at, config.capacity);
  } else {
    pressure_at_ = config.capacity - config.capacity / 8;
  }
  pressure_syn_recv_ms_ = uint64_t{config.pressure_syn_recv_s} * 1000;
}

// --- entries ------------------------------------------------------------------------------

uint32_t ConnTable::index_of(const Conn& conn) const {
  return static_cast<uint32_t>(&conn - pool_.data());
}

bool ConnTable::is_embryonic(const Conn& conn) {
  if (conn.is_template()) return !conn.is_assured() && conn.control_ == 0;
  if (conn.is_one_packet()) return false;
  switch (conn.proto_) {
    case Proto::Tcp:
      return conn.state_ == TcpState::SynRecv || conn.state_ == TcpState::SynAck;
    case Proto::Udp:
      // DR and TUN never see a reply, so theirs would all look embryonic: not taken.
      return (conn.flags_ & Conn::kNoOutput) &&
             (conn.method_ == Method::Nat || conn.method_ == Method::FullNat);
    case Proto::Sctp:
      return sctp_state_is_embryonic(conn.sctp_state());
    case Proto::Icmp:
      return false;
  }
  return false;
}

void ConnTable::early_drop(uint64_t now_ms, const Conn* keep) {
  if (now_ms < early_drop_resume_ms_) return;
  // A sweep from where the last one stopped, as a clock hand: every entry is looked at in turn,
  // so an embryonic entry lives about one turn of the hand (capacity / drops per second), and
  // the entries read are next to each other.
  const auto size = static_cast<uint32_t>(pool_.size());
  const uint32_t scan = std::min<uint32_t>(kEarlyDropScan, size);
  for (uint32_t step = 0; step < scan; ++step) {
    const uint32_t index = early_drop_hand_;
    early_drop_hand_ = index + 1 == size ? 0 : index + 1;
    Conn& conn = pool_[index];
    if (conn.timer_.prev == kNone || &conn == keep || !is_embryonic(conn)) continue;
    // Nor one of its connections: the last of them would take the template along.
    if (keep && conn.has_template() && &pool_[conn.control_] == keep) continue;
    // As a removal on purpose: an unused, unassured template goes with its connection.
    disarm(index);
    conn.flags_ |= Conn::kDoomed;
    reap(index, now_ms, nullptr);
    --stats_.expired;  // reap counted it as expired; it is an early drop
    ++stats_.early_dropped;
    return;
  }
  // Nothing to take in this stretch. While entries are free the next insert sweeps on from
  // here; a full table of established connections is swept once a millisecond, so that a flood
  // against it costs little.
  ++stats_.early_drop_misses;
  if (free_head_ == kNone) early_drop_resume_ms_ = now_ms + 1;
}

Conn* ConnTable::take_free_entry(uint64_t now_ms, const Conn* keep) {
  if (live_ >= pressure_at_) {
    if (!was_under_pressure_) ++stats_.pressure_episodes;
    was_under_pressure_ = true;
    early_drop(now_ms, keep);
  } else {
    was_under_pressure_ = false;
  }
  if (free_head_ == kNone) {
    ++stats_.refused_full;
    return nullptr;
  }
  // An empty wheel has nothing to catch up on: start it at the caller's time.
  if (live_ == 0 && now_ms > next_tick_ms_) next_tick_ms_ = now_ms;
  Conn& conn = pool_[free_head_];
  free_head_ = conn.in_next_;
  conn = Conn{};
  return &conn;
}

void ConnTable::release_entry(uint32_t index) {
  Conn& conn = pool_[index];
  if (conn.has_pe_data()) pe_data_.erase(index);
  conn.timer_ = Conn::TimerLink{};
  conn.flags_ = 0;
  conn.in_next_ = free_head_;
  free_head_ = index;
}

uint64_t ConnTable::timeout_ms(const Conn& conn) const {
  uint64_t seconds = 0;
  if (conn.is_template()) {
    seconds = conn.local_addr_or_timeout_;
  } else if (conn.is_one_packet()) {
    return 0;
  } else {
    switch (conn.proto_) {
      case Proto::Tcp:
        seconds = timeouts_.tcp_s(conn.state_);
        // secure_tcp's point: a half-open connection waits less while the table is short.
        if (conn.state_ == TcpState::SynRecv && under_pressure() &&
            seconds * 1000 > pressure_syn_recv_ms_)
          return pressure_syn_recv_ms_;
        break;
      case Proto::Udp:
        seconds = timeouts_.udp_s();
        break;
      case Proto::Sctp:
        seconds = sctp_timeout_s(conn.sctp_state());
        break;
      case Proto::Icmp:
        seconds = timeouts_.icmp_s();
        break;
    }
  }
  return std::min(seconds * 1000, kMaxTimeoutMs);
}

Conn* ConnTable::insert(const NewConn& fresh, uint64_t now_ms, Conn* control_template) {
  if (fresh.dest >= dest_loads_.size()) {
    ++stats_.refused_bad_dest;
    return nullptr;
  }
  Conn* conn = take_free_entry(now_ms, control_template);
  if (!conn) return nullptr;

  conn->proto_ = fresh.proto;
  conn->method_ = fresh.method;
  conn->client_addr_ = fresh.client.addr;
  conn->client_port_ = fresh.client.port;
  conn->virtual_addr_ = fresh.virtual_addr.addr;
  conn->virtual_port_ = fresh.virtual_addr.port;
  conn->dest_addr_ = fresh.destination.addr;
  conn->dest_port_ = fresh.destination.port;
  if (fresh.method == Method::FullNat) {
    conn->local_addr_or_timeout_ = fresh.local.addr.value;
    conn->local_port_ = fresh.local.port;
  }
  conn->dest_ = fresh.dest;
  conn->in_pkts_ = 0;
  // Every destination hands its connections IP_VS_CONN_F_INACTIVE, and NOOUTPUT unless it
  // masquerades (ip_vs_ctl.c __ip_vs_update_dest); ONE_PACKET survives for UDP only
  // (ip_vs_conn.c ip_vs_bind_dest).
  conn->flags_ = Conn::kInactive;
  if (fresh.method == Method::Dr || fresh.method == Method::Tun) conn->flags_ |= Conn::kNoOutput;
  // UDP carries NOOUTPUT until its first reply too: the early drop's test of a flow that is
  // one-way so far (the TCP tables never read it for UDP).
  if (fresh.proto == Proto::Udp) conn->flags_ |= Conn::kNoOutput;
  if (fresh.one_packet && fresh.proto == Proto::Udp) conn->flags_ |= Conn::kOnePacket;
  if (fresh.toa && fresh.proto == Proto::Tcp && fresh.method == Method::FullNat)
    conn->flags_ |= Conn::kToaPending;

  const uint32_t index = index_of(*conn);
  if (!conn->is_one_packet()) link_in(index);
  if (has_out_key(*conn)) link_out(index);
  if (control_template && control_template->is_template()) {
    conn->control_ = index_of(*control_template);
    ++control_template->control_;
  }
  count_new(*conn);
  if (conn->is_one_packet()) {
    conn->expires_ms_ = static_cast<uint32_t>(now_ms);
    arm_due(index);
  } else {
    arm(index, now_ms + timeout_ms(*conn));
  }
  ++live_;
  ++stats_.inserted;
  return conn;
}

Conn* ConnTable::insert_template(const NewTemplate& tmpl, uint64_t now_ms) {
  if (tmpl.dest >= dest_loads_.size()) {
    ++stats_.refused_bad_dest;
    return nullptr;
  }
  Conn* conn = take_free_entry(now_ms, nullptr);
  if (!conn) return nullptr;

  conn->proto_ = tmpl.key.proto;
  conn->method_ = tmpl.method;
  conn->client_addr_ = tmpl.key.client_net;
  conn->flags_ = Conn::kTemplate | Conn::kInactive;
  if (tmpl.key.fwmark != 0) {
    conn->virtual_addr_ = Ipv4{tmpl.key.fwmark};
    conn->flags_ |= Conn::kFwmark;
  } else {
    conn->virtual_addr_ = tmpl.key.virtual_addr.addr;
    conn->virtual_port_ = tmpl.key.virtual_addr.port;
  }
  conn->dest_addr_ = tmpl.destination.addr;
  conn->dest_port_ = tmpl.destination.port;
  conn->dest_ = tmpl.dest;
  conn->in_pkts_ = 0;
  conn->local_addr_or_timeout_ = tmpl.timeout_s;
  conn->control_ = 0;  // no dependents yet

  const uint32_t index = index_of(*conn);
  if (!tmpl.key.pe_data.empty()) {
    conn->local_port_ = Conn::kPeSip;
    conn->out_next_ = pe_hash(tmpl.key.pe_data);
    pe_data_.insert_or_assign(index, std::string(tmpl.key.pe_data));
  }
  link_in(index);
  count_new(*conn);
  arm(index, now_ms + timeout_ms(*conn));
  ++live_;
  ++stats_.inserted;
  return conn;
}

// --- indexes ------------------------------------------------------------------------------

ConnTable::InKey ConnTable::in_key_of(const Conn& conn) {
  InKind kind = InKind::Connection;
  Proto proto = conn.proto_;
  if (conn.is_fwmark_template()) {
    kind = InKind::FwmarkTemplate;
    proto = Proto{};  // the kernel's IPPROTO_IP: any protocol
  } else if (conn.is_template()) {
    kind = InKind::ServiceTemplate;
  }
  const bool pe = conn.has_pe_data();
  return InKey{proto,
               kind,
               conn.client_addr_,
               conn.client_port_,
               conn.virtual_addr_,
               conn.virtual_port_,
               pe,
               pe ? conn.out_next_ : 0};
}

uint32_t ConnTable::pe_hash(std::string_view data) const {
  uint64_t h = hash_seed_ ^ data.size();
  for (unsigned char c : data) h = mix64(h ^ c);
  return uint32_t(h >> 32);
}

std::string_view ConnTable::pe_data_of(uint32_t index) const {
  auto it = pe_data_.find(index);
  return it == pe_data_.end() ? std::string_view() : std::string_view(it->second);
}

bool ConnTable::has_out_key(const Conn& conn) {
  if (conn.is_template() || conn.is_one_packet()) return false;
  return conn.method_ == Method::Nat || conn.method_ == Method::FullNat;
}

ConnTable::OutKey ConnTable::out_key_of(const Conn& conn) {
  // NAT replies go back to the client; FULLNAT replies to our local address.
  if (conn.method_ == Method::FullNat)
    return OutKey{conn.proto_, conn.dest_addr_, conn.dest_port_, Ipv4{conn.local_addr_or_timeout_},
                  conn.local_port_};
  return OutKey{conn.proto_, conn.dest_addr_, conn.dest_port_, conn.client_addr_,
                conn.client_port_};
}

uint32_t ConnTable::in_bucket(const InKey& key) const {
  const uint64_t addresses = uint64_t{key.client.value} << 32 | key.virtual_addr.value;
  const uint64_t rest = uint64_t{static_cast<uint8_t>(key.proto)} << 40 |
                        uint64_t{static_cast<uint8_t>(key.kind)} << 32 |
                        uint64_t{key.client_port} << 16 | key.virtual_port;
  const uint64_t pe = key.keyed_by_pe ? (uint64_t{key.pe_hash} << 1 | 1) : 0;
  return in_index_.bucket_of(mix64(addresses ^ mix64(rest ^ hash_seed_) ^ pe));
}

uint32_t ConnTable::out_bucket(const OutKey& key) const {
  const uint64_t addresses = uint64_t{key.server.value} << 32 | key.peer.value;
  const uint64_t rest = uint64_t{static_cast<uint8_t>(key.proto)} << 32 |
                        uint64_t{key.server_port} << 16 | key.peer_port;
  return out_index_.bucket_of(mix64(addresses ^ mix64(rest ^ ~hash_seed_)));
}

void ConnTable::link_in(uint32_t index) {
  in_index_.link(pool_.data(), index, in_bucket(in_key_of(pool_[index])));
}

void ConnTable::unlink_in(uint32_t index) {
  in_index_.unlink(pool_.data(), index, in_bucket(in_key_of(pool_[index])));
}

void ConnTable::link_out(uint32_t index) {
  out_index_.link(pool_.data(), index, out_bucket(out_key_of(pool_[index])));
}

void ConnTable::unlink_out(uint32_t index) {
  out_index_.unlink(pool_.data(), index, out_bucket(out_key_of(pool_[index])));
}

Conn* ConnTable::find_by_in_key(const InKey& key, uint32_t bucket) {
  const uint32_t i = in_index_.find(pool_.data(), key, bucket);
  return i == kNone ? nullptr : &pool_[i];
}

Conn* ConnTable::find_in(Proto proto, Endpoint client, Endpoint virtual_addr, const Hint* hint) {
  const InKey key{proto,       InKind::Connection, client.addr,
                  client.port, virtual_addr.addr,  virtual_addr.port};
  const bool hinted = hint && hint->is_for(Hint::Side::In, proto, client, virtual_addr);
  return find_by_in_key(key, hinted ? hint->bucket_ : in_bucket(key));
}

Conn* ConnTable::find_template(const TemplateKey& key) {
  InKey in_key = key.fwmark != 0 ? InKey{Proto{}, InKind::FwmarkTemplate, key.client_net,
                                         0,       Ipv4{key.fwmark},       0}
                                 : InKey{key.proto, InKind::ServiceTemplate, key.client_net,
                                         0,         key.virtual_addr.addr,   key.virtual_addr.port};
  if (key.pe_data.empty()) return find_by_in_key(in_key, in_bucket(in_key));
  in_key.keyed_by_pe = true;
  in_key.pe_hash = pe_hash(key.pe_data);
  for (uint32_t i = in_index_.head(in_bucket(in_key)); i != kNone; i = pool_[i].in_next_)
    if (in_key_of(pool_[i]) == in_key && pe_data_of(i) == key.pe_data) return &pool_[i];
  return nullptr;
}

Conn* ConnTable::find_out(Proto proto, Endpoint server, Endpoint peer, const Hint* hint) {
  const OutKey key{proto, server.addr, server.port, peer.addr, peer.port};
  const bool hinted = hint && hint->is_for(Hint::Side::Out, proto, server, peer);
  const uint32_t i = out_index_.find(pool_.data(), key, hinted ? hint->bucket_ : out_bucket(key));
  return i == kNone ? nullptr : &pool_[i];
}

ConnTable::Hint ConnTable::prefetch_in(Proto proto, Endpoint client, Endpoint virtual_addr) const {
  const uint32_t bucket = in_bucket(InKey{proto, InKind::Connection, client.addr, client.port,
                                          virtual_addr.addr, virtual_addr.port});
  in_index_.prefetch_bucket(bucket);
  return Hint{Hint::Side::In, proto, client, virtual_addr, bucket};
}

ConnTable::Hint ConnTable::prefetch_out(Proto proto, Endpoint server, Endpoint peer) const {
  const uint32_t bucket = out_bucket(OutKey{proto, server.addr, server.port, peer.addr, peer.port});
  out_index_.prefetch_bucket(bucket);
  return Hint{Hint::Side::Out, proto, server, peer, bucket};
}

void ConnTable::prefetch_entry(const Hint& hint) const {
  if (hint.side_ == Hint::Side::In) in_index_.prefetch_entry(pool_.data(), hint.bucket_);
  if (hint.side_ == Hint::Side::Out) out_index_.prefetch_entry(pool_.data(), hint.bucket_);
}

void ConnTable::prefetch_chain(const Hint& hint) const {
  const Endpoint a{hint.addr_a_, hint.port_a_}, b{hint.addr_b_, hint.port_b_};
  if (hint.side_ == Hint::Side::In)
    in_index_.prefetch_chain(pool_.data(),
                             InKey{hint.proto_, InKind::Connection, a.addr, a.port, b.addr, b.port},
                             hint.bucket_);
  if (hint.side_ == Hint::Side::Out)
    out_index_.prefetch_chain(pool_.data(), OutKey{hint.proto_, a.addr, a.port, b.addr, b.port},
                              hint.bucket_);
}

// --- packets ------------------------------------------------------------------------------

void ConnTable::on_packet(Conn& conn, PacketFrom from, uint8_t tcp_flags, uint64_t now_ms) {
  if (from == PacketFrom::Client && conn.in_pkts_ != 255) ++conn.in_pkts_;
  if (conn.proto_ == Proto::Tcp && !conn.is_template()) {
    const TcpState before = conn.state_;
    apply_tcp_segment(conn, from, tcp_flags);
    if (conn.state_ == TcpState::SynRecv && before != TcpState::SynRecv && under_pressure() &&
        timeouts_.tcp_s(TcpState::SynRecv) * 1000ull > pressure_syn_recv_ms_)
      ++stats_.short_syn_recv;
  } else if (from == PacketFrom::Server) {
    conn.flags_ &= uint8_t(~Conn::kNoOutput);
    // udp_state_transition: a UDP connection's reply assures its template (the qemu-kernel
    // guest lists it ASSURED after one).
    if (conn.proto_ == Proto::Udp && !conn.is_template() && conn.has_template())
      pool_[conn.control_].flags_ |= Conn::kAssured;
  }
  refresh(conn, now_ms);
}

void ConnTable::on_sctp_packet(Conn& conn, PacketFrom from, std::optional<uint8_t> chunk_type,
                               uint64_t now_ms) {
  if (from == PacketFrom::Client && conn.in_pkts_ != 255) ++conn.in_pkts_;
  if (conn.proto_ == Proto::Sctp && !conn.is_template() && chunk_type) {
    const TcpDirection direction = direction_of(conn, from);
    const SctpState before = conn.sctp_state();
    const SctpState next = next_sctp_state(before, direction, *chunk_type);
    if (next != before) {
      count_activity_change(conn, sctp_state_is_active(next));
      conn.state_ = static_cast<TcpState>(next);
      if (next == SctpState::Established && conn.has_template())
        pool_[conn.control_].flags_ |= Conn::kAssured;
    }
  }
  refresh(conn, now_ms);
}

TcpDirection ConnTable::direction_of(Conn& conn, PacketFrom from) {
  // A DR/TUN connection uses the input-only table until a reply shows up (set_tcp_state,
  // set_sctp_state).
  if (from == PacketFrom::Server) {
    conn.flags_ &= ~Conn::kNoOutput;
    return TcpDirection::Output;
  }
  return (conn.flags_ & Conn::kNoOutput) ? TcpDirection::InputOnly : TcpDirection::Input;
}

void ConnTable::apply_tcp_segment(Conn& conn, PacketFrom from, uint8_t tcp_flags) {
  const TcpDirection direction = direction_of(conn, from);
  const TcpState next = next_tcp_state(conn.state_, direction, tcp_flags, secure_tcp_);
  if (next == conn.state_) return;
  count_state_change(conn, next);
  conn.state_ = next;
  // The template of a connection that got established is assured (ip_vs_control_assure_ct).
  if (next == TcpState::Established && conn.has_template())
    pool_[conn.control_].flags_ |= Conn::kAssured;
}

void ConnTable::refresh(Conn& conn, uint64_t now_ms) {
  restart_timer(conn, now_ms, timeout_ms(conn));
}

void ConnTable::apply_synced(Conn& conn, TcpState state, bool inactive, bool assured,
                             uint32_t timeout_s, uint64_t now_ms) {
  if (conn.is_template()) {
    if (assured) conn.flags_ |= Conn::kAssured;
    conn.local_addr_or_timeout_ = timeout_s;
  } else {
    DestLoad& load = dest_loads_[conn.dest_];
    const bool was_inactive = conn.flags_ & Conn::kInactive;
    if (was_inactive && !inactive) {
      --load.inactive;
      ++load.active;
      conn.flags_ &= uint8_t(~Conn::kInactive);
    } else if (!was_inactive && inactive) {
      --load.active;
      ++load.inactive;
      conn.flags_ |= Conn::kInactive;
    }
    conn.state_ = conn.proto_ == Proto::Tcp || conn.proto_ == Proto::Sctp ? state : TcpState::None;
  }
  restart_timer(conn, now_ms, std::min(uint64_t{timeout_s} * 1000, kMaxTimeoutMs));
}

void ConnTable::restart_timer(Conn& conn, uint64_t now_ms, uint64_t ms) {
  if (conn.flags_ & Conn::kDoomed) return;  // stays due
  const uint32_t index = index_of(conn);
  const uint64_t expires = now_ms + ms;
  if (expires < expiry_of(conn, now_ms)) {
    // Sooner than before (a shorter state): move it to the earlier slot.
    disarm(index);
    arm(index, expires);
  } else {
    // Later: the wheel reaches the old slot first and files it again then. One store per
    // packet, and no neighbour entries touched.
    conn.expires_ms_ = static_cast<uint32_t>(expires);
  }
}

void ConnTable::expire_now(Conn& conn, uint64_t now_ms) {
  const uint32_t index = index_of(conn);
  conn.flags_ |= Conn::kDoomed;
  conn.expires_ms_ = static_cast<uint32_t>(now_ms);
  disarm(index);
  arm_due(index);
}

// --- drop_entry ---------------------------------------------------------------------------

bool ConnTable::idle_entry_goes(const Conn& conn, uint64_t now_ms) {
  // Not before 60 s without a packet (the timer last armed a whole timeout before expiry).
  if (now_ms + timeout_ms(conn) < expiry_of(conn, now_ms) + 60'000) return false;
  const uint32_t packets = conn.in_pkts_;
  if (packets == 0 || packets > 8) return false;
  // One in `packets` of the entries with that many goes, the first one found included.
  int8_t& counter = idle_drop_counters_[packets];
  if (--counter > 0) return false;
  counter = static_cast<int8_t>(packets);
  return true;
}

std::size_t ConnTable::drop_random_entries(std::mt19937& random, uint64_t now_ms) {
  std::size_t dropped = 0;
  for (uint32_t round = 0; round < kDropEntryGroups / 32; ++round) {
    const uint32_t group = static_cast<uint32_t>(random()) & (kDropEntryGroups - 1);
    for (std::size_t slot = group; slot < pool_.size(); slot += kDropEntryGroups) {
      Conn& conn = pool_[slot];
      // Free, or already gone (ip_vs_conn_del unhashes at once: a group drawn twice does not
      // see it again).
      if (conn.timer_.prev == kNone || (conn.flags_ & Conn::kDoomed)) continue;
      bool goes = false;
      if (conn.is_template()) {
        goes = conn.dependents() == 0 && !conn.is_assured();
      } else if (conn.proto_ == Proto::Tcp) {
        goes = conn.state_ == TcpState::SynRecv || conn.state_ == TcpState::SynAck ||
               (conn.state_ == TcpState::Established && idle_entry_goes(conn, now_ms));
      } else if (conn.proto_ == Proto::Sctp) {
        const SctpState state = conn.sctp_state();
        goes = state == SctpState::Init1 || state == SctpState::Init ||
               (state == SctpState::Established && idle_entry_goes(conn, now_ms));
      } else {
        goes = idle_entry_goes(conn, now_ms);
      }
      if (!goes) continue;
      expire_now(conn, now_ms);
      ++dropped;
    }
  }
  return dropped;
}

// --- destination counters -----------------------------------------------------------------

namespace {

// ip_vs_unbind_dest: the overload flag goes below -y, or without -y below three quarters of
// -x, and at once without thresholds.
bool below_lower_threshold(uint32_t total, uint32_t lower, uint32_t upper) {
  if (lower != 0) return total < lower;
  if (upper != 0) return uint64_t{total} * 4 < uint64_t{upper} * 3;
  return true;
}

// ip_vs_bind_dest: at -x the destination is overloaded.
void note_more(DestLoad& load) {
  if (load.upper_threshold != 0 && load.total() >= load.upper_threshold) load.overloaded = true;
}

void note_fewer(DestLoad& load) {
  if (below_lower_threshold(load.total(), load.lower_threshold, load.upper_threshold))
    load.overloaded = false;
}

std::atomic<uint32_t>& shared_counter(SharedDestLoad& shared, const Conn& conn) {
  if (conn.is_template()) return shared.persistent;
  return conn.is_active() ? shared.active : shared.inactive;
}

void move_shared(std::atomic<uint32_t>& from, std::atomic<uint32_t>& to) {
  from.fetch_sub(1, std::memory_order_relaxed);
  to.fetch_add(1, std::memory_order_relaxed);
}

// The kernel's ip_vs_bind_dest / ip_vs_unbind_dest on the director's counts.
void add_shared(SharedDestLoad& shared, std::atomic<uint32_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
  const uint32_t upper = shared.upper_threshold.load(std::memory_order_relaxed);
  if (upper != 0 && shared.total() >= upper)
    shared.overloaded.store(true, std::memory_order_relaxed);
}

void subtract_shared(SharedDestLoad& shared, std::atomic<uint32_t>& counter) {
  counter.fetch_sub(1, std::memory_order_relaxed);
  if (below_lower_threshold(shared.total(), shared.lower_threshold.load(std::memory_order_relaxed),
                            shared.upper_threshold.load(std::memory_order_relaxed)))
    shared.overloaded.store(false, std::memory_order_relaxed);
}

void count_new_shared(SharedDestLoad& shared, const Conn& conn) {
  add_shared(shared, shared_counter(shared, conn));
}

void count_gone_shared(SharedDestLoad& shared, const Conn& conn) {
  subtract_shared(shared, shared_counter(shared, conn));
}

}  // namespace

void ConnTable::count_new(const Conn& conn) {
  DestLoad& load = dest_loads_[conn.dest_];
  if (conn.is_template()) {
    ++load.persistent;
  } else if (conn.is_active()) {
    ++load.active;
  } else {
    ++load.inactive;
  }
  note_more(load);
  if (SharedDestLoad* shared = load.shared) {
    if (shared == scheduled_ && !conn.is_template() && !conn.is_active())
      scheduled_ = nullptr;  // counted when it was scheduled
    else
      count_new_shared(*shared, conn);
  }
}

void ConnTable::count_scheduled(SharedDestLoad& shared) {
  if (scheduled_) {
    scheduled_->inactive.fetch_sub(1, std::memory_order_relaxed);
    scheduled_ = nullptr;
  }
  shared.inactive.fetch_add(1, std::memory_order_relaxed);
  const uint32_t upper = shared.upper_threshold.load(std::memory_order_relaxed);
  if (upper != 0 && shared.total() >= upper)
    shared.overloaded.store(true, std::memory_order_relaxed);
  scheduled_ = &shared;
}

void ConnTable::count_gone(const Conn& conn) {
  DestLoad& load = dest_loads_[conn.dest_];
  if (conn.is_template()) {
    --load.persistent;
  } else if (conn.is_active()) {
    --load.active;
  } else {
    --load.inactive;
  }
  note_fewer(load);
  if (load.shared) count_gone_shared(*load.shared, conn);
}

// IPv6 connections are scheduled by worker 0 alone (the steering sends it every frame that is
// not IPv4), but their counts go to the director's too, as IPv4's do.
void ConnTable::count_ipv6_new(uint32_t dest) {
  DestLoad& load = dest_loads_[dest];
  ++load.inactive;
  note_more(load);
  if (SharedDestLoad* shared = load.shared) {
    if (shared == scheduled_)
      scheduled_ = nullptr;  // counted when it was scheduled, as an IPv4 connection's is
    else
      add_shared(*shared, shared->inactive);
  }
}

void ConnTable::count_ipv6_gone(uint32_t dest, bool active) {
  DestLoad& load = dest_loads_[dest];
  --(active ? load.active : load.inactive);
  note_fewer(load);
  if (load.shared)
    subtract_shared(*load.shared, active ? load.shared->active : load.shared->inactive);
}

void ConnTable::count_ipv6_template(uint32_t dest, bool made) {
  DestLoad& load = dest_loads_[dest];
  if (made) {
    ++load.persistent;
    if (load.shared) add_shared(*load.shared, load.shared->persistent);
  } else {
    --load.persistent;
    if (load.shared) subtract_shared(*load.shared, load.shared->persistent);
  }
}

void ConnTable::count_ipv6_change(uint32_t dest, bool now_active) {
  DestLoad& load = dest_loads_[dest];
  --(now_active ? load.inactive : load.active);
  ++(now_active ? load.active : load.inactive);
  if (load.shared)
    move_shared(now_active ? load.shared->inactive : load.shared->active,
                now_active ? load.shared->active : load.shared->inactive);
}

void ConnTable::count_state_change(Conn& conn, TcpState next) {
  count_activity_change(conn, tcp_state_is_active(next));
}

void ConnTable::count_activity_change(Conn& conn, bool becomes_active) {
  DestLoad& load = dest_loads_[conn.dest_];
  const bool was_inactive = conn.flags_ & Conn::kInactive;
  if (!was_inactive && !becomes_active) {
    --load.active;
    ++load.inactive;
    conn.flags_ |= Conn::kInactive;
    if (load.shared) move_shared(load.shared->active, load.shared->inactive);
  } else if (was_inactive && becomes_active) {
    --load.inactive;
    ++load.active;
    conn.flags_ &= ~Conn::kInactive;
    if (load.shared) move_shared(load.shared->inactive, load.shared->active);
  }
}

void ConnTable::set_dest_thresholds(uint32_t dest, uint32_t upper, uint32_t lower) {
  DestLoad& load = dest_loads_.at(dest);
  if (upper == 0 || upper > load.upper_threshold) load.overloaded = false;
  load.upper_threshold = upper;
  load.lower_threshold = lower;
  if (SharedDestLoad* shared = load.shared) {
    if (upper == 0 || upper > shared->upper_threshold.load(std::memory_order_relaxed))
      shared->overloaded.store(false, std::memory_order_relaxed);
    shared->upper_threshold.store(upper, std::memory_order_relaxed);
    shared->lower_threshold.store(lower, std::memory_order_relaxed);
  }
}

// --- timer wheel --------------------------------------------------------------------------
//
// Four levels of 256 lists. Level 0 list S holds entries due at the next ms whose low 8 bits
// are S; level L list S those due in the next 256^L-ms block numbered S (mod 256). When the
// clock enters a new 256-ms block, the level-1 list for it is filed again into level 0, and
// so on up (a cascade). Each entry moves at most three times, and a refresh that pushes an
// expiry later touches nothing but the entry: the entry is re-filed when the wheel reaches
// its old list.

Conn::TimerLink& ConnTable::timer_link(uint32_t node) {
  return node < pool_.size() ? pool_[node].timer_ : wheel_heads_[node - pool_.size()];
}

uint64_t ConnTable::expiry_of(const Conn& conn, uint64_t near_ms) const {
  const auto offset = static_cast<int32_t>(conn.expires_ms_ - static_cast<uint32_t>(near_ms));
  return near_ms + static_cast<int64_t>(offset);
}

bool ConnTable::list_is_occupied(uint32_t list) const {
  return wheel_occupied_[list / 64] >> (list % 64) & 1;
}

void ConnTable::mark_list(uint32_t list, bool occupied) {
  const uint64_t bit = uint64_t{1} << (list % 64);
  if (occupied) {
    wheel_occupied_[list / 64] |= bit;
  } else {
    wheel_occupied_[list / 64] &= ~bit;
  }
}

void ConnTable::arm(uint32_t index, uint64_t expires_ms) {
  pool_[index].expires_ms_ = static_cast<uint32_t>(expires_ms);

  const uint64_t when = std::max(expires_ms, next_tick_ms_);
  const uint64_t ahead = std::min<uint64_t>(when - next_tick_ms_, 0xffffffffu);
  uint32_t level = 0;
  while (level + 1 < kWheelLevels && ahead >> (8 * (level + 1)) != 0) ++level;
  const uint32_t slot = static_cast<uint32_t>((next_tick_ms_ + ahead) >> (8 * level)) & 0xff;
  const uint32_t list = level * kWheelSlots + slot;

  link_last(index, list);
}

void ConnTable::arm_due(uint32_t index) {
  link_last(index, kDueList);
}

void ConnTable::link_last(uint32_t index, uint32_t list) {
  // Append before the list's head node.
  const uint32_t head = static_cast<uint32_t>(pool_.size()) + list;
  const uint32_t last = timer_link(head).prev;
  pool_[index].timer_ = Conn::TimerLink{head, last};
  timer_link(last).next = index;
  timer_link(head).prev = index;
  mark_list(list, true);
}

void ConnTable::disarm(uint32_t index) {
  Conn::TimerLink& link = pool_[index].timer_;
  timer_link(link.prev).next = link.next;
  timer_link(link.next).prev = link.prev;
  // Both neighbours are the head node: the list is empty now.
  if (link.prev == link.next && link.prev >= pool_.size())
    mark_list(link.prev - static_cast<uint32_t>(pool_.size()), false);
  link = Conn::TimerLink{};
}

std::optional<uint32_t> ConnTable::first_occupied_slot(uint32_t from, uint32_t to) const {
  // Level 0's lists are bits 0..255.
  for (uint32_t word = from / 64; word <= to / 64; ++word) {
    uint64_t bits = wheel_occupied_[word];
    if (word == from / 64) bits &= ~uint64_t{0} << (from % 64);
    if (word == to / 64 && to % 64 != 63) bits &= (uint64_t{1} << (to % 64 + 1)) - 1;
    if (bits != 0) return word * 64 + static_cast<uint32_t>(std::countr_zero(bits));
  }
  return std::nullopt;
}

void ConnTable::refile_list(uint32_t list) {
  if (!list_is_occupied(list)) return;
  const uint32_t head = static_cast<uint32_t>(pool_.size()) + list;
  // An entry never lands back in the list it leaves, so this ends.
  while (timer_link(head).next != head) {
    const uint32_t index = timer_link(head).next;
    disarm(index);
    arm(index, expiry_of(pool_[index], next_tick_ms_));
  }
}

void ConnTable::cascade(uint64_t block_start_ms) {
  for (uint32_t level = 1; level < kWheelLevels; ++level) {
    const uint32_t slot = static_cast<uint32_t>(block_start_ms >> (8 * level)) & 0xff;
    refile_list(level * kWheelSlots + slot);
    if (slot != 0) break;  // the level above starts a new block only when this one wraps
  }
}

std::size_t ConnTable::run_list(uint32_t list, uint64_t tick,
                                FunctionRef<void(const Conn&)>* on_expired) {
  std::size_t removed = 0;
  const uint32_t head = static_cast<uint32_t>(pool_.size()) + list;
  // Handling an entry never files it back here, except that a connection reaped from the
  // due list may doom its template into it: loop until empty.
  while (timer_link(head).next != head) {
    const uint32_t index = timer_link(head).next;
    disarm(index);
    removed += handle_due(index, tick, on_expired);
  }
  return removed;
}

std::size_t ConnTable::handle_due(uint32_t index, uint64_t tick,
                                  FunctionRef<void(const Conn&)>* on_expired) {
  Conn& conn = pool_[index];
  const uint64_t expires = expiry_of(conn, tick);
  if (expires > tick) {  // refreshed since it was filed
    arm(index, expires);
    return 0;
  }
  if (conn.is_template() && conn.control_ > 0) {
    conn.local_addr_or_timeout_ = kTemplateKeepAliveS;
    conn.flags_ &= ~Conn::kDoomed;
    arm(index, tick + kTemplateKeepAliveS * 1000ull);
    return 0;
  }
  reap(index, tick, on_expired);
  return 1;
}

void ConnTable::reap(uint32_t index, uint64_t tick, FunctionRef<void(const Conn&)>* on_expired) {
  Conn& conn = pool_[index];
  if (!conn.is_one_packet()) unlink_in(index);
  if (has_out_key(conn)) unlink_out(index);
  if (conn.has_template()) {
    Conn& tmpl = pool_[conn.control_];
    --tmpl.control_;
    // A connection removed on purpose takes its template along when nothing else uses it
    // and it was never assured (ip_vs_conn_expire, "drop CTL or non-assured TPL").
    if ((conn.flags_ & Conn::kDoomed) && tmpl.control_ == 0 && !tmpl.is_assured())
      expire_now(tmpl, tick);
  }
  count_gone(conn);
  --live_;
  ++stats_.expired;
  if (on_expired) (*on_expired)(conn);
  release_entry(index);
}

bool ConnTable::level_is_empty(uint32_t level) const {
  const std::size_t first_word = level * kWheelSlots / 64;
  for (std::size_t word = first_word; word < first_word + kWheelSlots / 64; ++word)
    if (wheel_occupied_[word] != 0) return false;
  return true;
}

// The last tick that can pass without anything to do, given that nothing in level 0 is due
// in the rest of tick's block: the end of the block while levels 0 or 1 hold entries (the
// next block may have some, or get some by its cascade), else the end of the first larger
// block whose start cascades an occupied level.
uint64_t ConnTable::quiet_until(uint64_t tick) const {
  uint64_t block_mask = 0xff;
  for (uint32_t level = 1; level < kWheelLevels; ++level) {
    if (!level_is_empty(level - 1) || !level_is_empty(level)) break;
    block_mask = (block_mask << 8) | 0xff;
  }
  return tick | block_mask;
}

std::size_t ConnTable::advance_wheel(uint64_t now_ms, FunctionRef<void(const Conn&)>* on_expired) {
  std::size_t removed = 0;
  while (next_tick_ms_ <= now_ms) {
    if (live_ == 0) {
      next_tick_ms_ = now_ms + 1;
      break;
    }
    if ((next_tick_ms_ & 0xff) == 0) cascade(next_tick_ms_);
    // The next occupied level-0 list in this block, or a jump over the quiet time.
    const uint64_t last = std::min(now_ms, next_tick_ms_ | 0xff);
    const auto slot = first_occupied_slot(next_tick_ms_ & 0xff, last & 0xff);
    if (!slot) {
      next_tick_ms_ = std::min(now_ms, quiet_until(next_tick_ms_)) + 1;
      continue;
    }
    next_tick_ms_ = (next_tick_ms_ & ~uint64_t{0xff}) | *slot;
    removed += run_list(*slot, next_tick_ms_, on_expired);
    ++next_tick_ms_;
  }
  // Removed on purpose, one-packet, and templates their connections took along just now.
  if (list_is_occupied(kDueList)) removed += run_list(kDueList, now_ms, on_expired);
  return removed;
}

std::size_t ConnTable::expire(uint64_t now_ms) {
  return advance_wheel(now_ms, nullptr);
}

std::size_t ConnTable::expire(uint64_t now_ms, FunctionRef<void(const Conn&)> on_expired) {
  return advance_wheel(now_ms, &on_expired);
}

// --- FULLNAT ------------------------------------------------------------------------------

std::optional<uint16_t> ConnTable::pick_local_port(Proto proto, Ipv4 local, Endpoint server) {
  // LIPs that share a cursor only make each other skip ahead; nothing breaks.
  uint16_t& cursor = local_port_cursors_[mix64(local.value ^ hash_seed_) & 0xff];
  for (int probe = 0; probe < kLocalPortProbes; ++probe) {
    const uint16_t port = cursor;
    const uint32_t next = uint32_t(port) + local_port_step_;
    cursor = next > 0xffff ? first_local_port_ : static_cast<uint16_t>(next);
    if (!find_out(proto, server, Endpoint{local, port})) return port;
  }
  ++stats_.local_ports_exhausted;
  return std::nullopt;
}

void ConnTable::set_local_port_class(uint16_t residue, uint16_t modulus) {
  uint32_t first = kFirstLocalPort;
  while (first % modulus != residue) ++first;
  first_local_port_ = static_cast<uint16_t>(first);
  local_port_step_ = modulus;
  local_port_cursors_.fill(first_local_port_);
}

// --- listing ------------------------------------------------------------------------------

void ConnTable::for_each(FunctionRef<void(const Conn&)> visit) const {
  for (const Conn& conn : pool_)
    if (conn.timer_.prev != kNone) visit(conn);
}

void ConnTable::for_each(FunctionRef<void(Conn&)> visit) {
  for (Conn& conn : pool_)
    if (conn.timer_.prev != kNone) visit(conn);
}

uint64_t ConnTable::expires_in_ms(const Conn& conn, uint64_t now_ms) const {
  const uint64_t expires = expiry_of(conn, now_ms);
  return expires > now_ms ? expires - now_ms : 0;
}

ConnectionEntry ConnTable::describe(const Conn& conn, uint64_t now_ms) const {
  ConnectionEntry entry;
  entry.proto = conn.proto();
  entry.any_protocol = conn.is_fwmark_template();
  entry.expires_s = static_cast<uint32_t>(expires_in_ms(conn, now_ms) / 1000);
  entry.state = std::string(conn.state_name());
  entry.client = conn.client();
  entry.virtual_addr = conn.virtual_addr();
  entry.destination = conn.destination();
  if (conn.has_pe_data()) {
    entry.pe_name = "sip";
    entry.pe_data = std::string(pe_data_of(index_of(conn)));
  }
  return entry;
}

std::size_t ConnTable::describe_from(std::size_t from, std::size_t max_entries,
                                     std::size_t max_slots, uint64_t now_ms,
                                     std::vector<ConnectionEntry>& out) const {
  std::size_t slot = std::min(from, pool_.size());
  const std::size_t last = slot + std::min(max_slots, pool_.size() - slot);
  for (std::size_t taken = 0; slot < last && taken < max_entries; ++slot) {
    if (pool_[slot].timer_.prev == kNone) continue;
    out.push_back(describe(pool_[slot], now_ms));
    ++taken;
  }
  return slot;
}

double ConnTable::bytes_per_entry() const {
  const double bytes = static_cast<double>(
      sizeof(Conn) * pool_.size() +
      sizeof(uint32_t) * (in_index_.bucket_count() + out_index_.bucket_count()));
  return bytes / static_cast<double>(pool_.size());
}

}  // namespace vsd
