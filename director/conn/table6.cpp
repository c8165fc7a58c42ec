#include "conn/table6.h"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "conn/table.h"

namespace vsd {
namespace {

uint64_t half_of(const Ip6& a, std::size_t half) {
  uint64_t word;
  std::memcpy(&word, a.data() + 8 * half, sizeof word);
  return word;
}

// Every bit of the key into one word: a multiply per 8 bytes of address, then the finaliser,
// where hashing the 37 bytes one at a time cost a multiply each.
uint64_t hash_key(const FlowKey6& k, uint64_t seed) {
  constexpr uint64_t kOdd = 0x9e3779b97f4a7c15ULL;
  uint64_t h = seed ^ (uint64_t{uint8_t(k.kind)} << 40 | uint64_t{uint8_t(k.proto)} << 32 |
                       uint64_t{k.from.port} << 16 | k.to.port);
  for (uint64_t word : {half_of(k.from.addr, 0), half_of(k.from.addr, 1), half_of(k.to.addr, 0),
                        half_of(k.to.addr, 1)})
    h = std::rotl((h ^ word) * kOdd, 29);
  return mix64(h);
}

}  // namespace

std::size_t Ip6Hash::operator()(const Ip6& a) const noexcept {
  return std::size_t(mix64(half_of(a, 0) ^ mix64(half_of(a, 1))));
}

Conn6Table::Conn6Table(std::size_t capacity) {
  if (capacity == 0 || capacity > (std::size_t{1} << 31))
    throw std::invalid_argument("IPv6 connection table capacity must be 1..2^31, not " +
                                std::to_string(capacity));
  pool_.resize(capacity);
  for (uint32_t i = 0; i + 1 < capacity; ++i) pool_[i].in_next_ = i + 1;
  free_head_ = 0;
  in_index_.assign(capacity);
  out_index_.assign(capacity);
  hash_seed_ = random_hash_seed();
}

uint32_t Conn6Table::bucket_in(const FlowKey6& key) const {
  return in_index_.bucket_of(hash_key(key, hash_seed_));
}

uint32_t Conn6Table::bucket_out(const FlowKey6& key) const {
  return out_index_.bucket_of(hash_key(key, ~hash_seed_));
}

Conn6* Conn6Table::find_in(const FlowKey6& key, const Hint* hint) {
  const bool hinted = hint && hint->is_for(Hint::Side::In, key);
  const uint32_t i = in_index_.find(pool_.data(), key, hinted ? hint->bucket_ : bucket_in(key));
  return i == kNoEntry ? nullptr : &pool_[i];
}

Conn6* Conn6Table::find_out(const FlowKey6& key, const Hint* hint) {
  const bool hinted = hint && hint->is_for(Hint::Side::Out, key);
  const uint32_t i = out_index_.find(pool_.data(), key, hinted ? hint->bucket_ : bucket_out(key));
  return i == kNoEntry ? nullptr : &pool_[i];
}

Conn6Table::Hint Conn6Table::prefetch_in(const FlowKey6& key) const {
  Hint hint;
  prefetch_in(key, hint);
  return hint;
}

Conn6Table::Hint Conn6Table::prefetch_out(const FlowKey6& key) const {
  Hint hint;
  prefetch_out(key, hint);
  return hint;
}

void Conn6Table::prefetch_in(const FlowKey6& key, Hint& into) const {
  into.bucket_ = bucket_in(key);
  in_index_.prefetch_bucket(into.bucket_);
  into.side_ = Hint::Side::In;
  into.key_ = key;
}

void Conn6Table::prefetch_out(const FlowKey6& key, Hint& into) const {
  into.bucket_ = bucket_out(key);
  out_index_.prefetch_bucket(into.bucket_);
  into.side_ = Hint::Side::Out;
  into.key_ = key;
}

void Conn6Table::prefetch_entry(const Hint& hint) const {
  if (hint.side_ == Hint::Side::In) in_index_.prefetch_entry(pool_.data(), hint.bucket_);
  if (hint.side_ == Hint::Side::Out) out_index_.prefetch_entry(pool_.data(), hint.bucket_);
}

void Conn6Table::prefetch_chain(const Hint& hint) const {
  if (hint.side_ == Hint::Side::In) in_index_.prefetch_chain(pool_.data(), hint.key_, hint.bucket_);
  if (hint.side_ == Hint::Side::Out)
    out_index_.prefetch_chain(pool_.data(), hint.key_, hint.bucket_);
}

void Conn6Table::remove(uint32_t index) {
  Conn6& c = pool_[index];
  in_index_.unlink(pool_.data(), index, bucket_in(c.in));
  if (has_reply_key(c)) out_index_.unlink(pool_.data(), index, bucket_out(reply_key(c)));
  if (c.has_template()) --pool_[c.control_].control_;
  if (loads_ && c.is_template()) loads_->count_ipv6_template(c.dest, false);
  if (loads_ && !c.is_template()) loads_->count_ipv6_gone(c.dest, c.active);
  c.live_ = false;
  c.in_next_ = free_head_;
  free_head_ = index;
  --live_;
}

Conn6* Conn6Table::take_entry(const FlowKey6& in, Endpoint6 destination, Method method,
                              uint32_t dest) {
  // A template others still depend on is moved aside rather than freed under them.
  if (Conn6* old = find_in(in)) {
    if (old->dependents() > 0)
      invalidate_template(*old);
    else
      remove(index_of(*old));
  }
  if (free_head_ == kNoEntry) return stats_.refused_full++, nullptr;
  const uint32_t index = free_head_;
  Conn6& c = pool_[index];
  free_head_ = c.in_next_;
  high_water_ = std::max(high_water_, index + 1);
  c = Conn6{};
  c.in = in;
  c.destination = destination;
  c.method = method;
  c.dest = dest;
  c.live_ = true;
  ++live_;
  stats_.inserted++;
  return &c;
}

Conn6* Conn6Table::insert(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest,
                          uint64_t now_ms, Endpoint6 local, Conn6* control_template) {
  Conn6* c = take_entry(in, destination, method, dest);
  if (!c) return nullptr;
  const uint32_t index = index_of(*c);
  c->local = local;
  c->expires_ms = now_ms + timeout_ms(*c);
  in_index_.link(pool_.data(), index, bucket_in(in));
  // Only NAT's and FULLNAT's replies come back through the director (DR's and TUN's go
  // straight to the client), so only their entries are found by their reply.
  if (has_reply_key(*c)) out_index_.link(pool_.data(), index, bucket_out(reply_key(*c)));
  if (control_template && control_template->is_template()) {
    c->control_ = index_of(*control_template);
    ++control_template->control_;
  }
  if (loads_) loads_->count_ipv6_new(dest);
  return c;
}

FlowKey6 Conn6Table::service_template_key(Proto proto, const Ip6& client, int prefix,
                                          Endpoint6 virtual_addr) {
  return {proto, {prefix_of(client, prefix), 0}, virtual_addr, KeyKind6::ServiceTemplate};
}

FlowKey6 Conn6Table::fwmark_template_key(const Ip6& client, int prefix, uint32_t fwmark) {
  // The kernel's union nf_inet_addr with .ip = htonl(fwmark): the mark's four bytes, big
  // endian, lead the IPv6 address.
  Ip6 mark{};
  for (std::size_t i = 0; i < 4; ++i) mark[i] = uint8_t(fwmark >> (24 - 8 * i));
  return {Proto::Tcp, {prefix_of(client, prefix), 0}, {mark, 0}, KeyKind6::FwmarkTemplate};
}

Conn6* Conn6Table::insert_template(const FlowKey6& key, Endpoint6 destination, Method method,
                                   uint32_t dest, uint32_t timeout_s, uint64_t now_ms) {
  Conn6* t = take_entry(key, destination, method, dest);
  if (!t) return nullptr;
  t->control_ = 0;
  t->template_timeout_s_ = timeout_s;
  t->expires_ms = now_ms + timeout_ms(*t);
  in_index_.link(pool_.data(), index_of(*t), bucket_in(key));
  if (loads_) loads_->count_ipv6_template(dest, true);
  return t;
}

void Conn6Table::invalidate_template(Conn6& tmpl) {
  constexpr uint16_t kInvalid = 0xffff;
  if (!tmpl.is_template() || tmpl.in.to.port == kInvalid) return;
  const uint32_t index = index_of(tmpl);
  in_index_.unlink(pool_.data(), index, bucket_in(tmpl.in));
  tmpl.in.to.port = kInvalid;
  tmpl.destination.port = kInvalid;
  in_index_.link(pool_.data(), index, bucket_in(tmpl.in));
}

void Conn6Table::on_packet(Conn6& conn, bool from_client, uint8_t tcp_flags, uint64_t now_ms) {
  if (conn.in.proto == Proto::Tcp) {
    const TcpDirection direction = !from_client                     ? TcpDirection::Output
                                   : replies_come_back(conn.method) ? TcpDirection::Input
                                                                    : TcpDirection::InputOnly;
    conn.state = next_tcp_state(conn.state, direction, tcp_flags, secure_tcp_);
    // The template of a connection that got established is assured (ip_vs_control_assure_ct).
    if (conn.state == TcpState::Established && conn.has_template())
      pool_[conn.control_].assured_ = true;
    // ip_vs_proto_tcp.c set_tcp_state: the entry changes column as it enters or leaves
    // ESTABLISHED.
    if (const bool active = tcp_state_is_active(conn.state); active != conn.active) {
      conn.active = active;
      if (loads_) loads_->count_ipv6_change(conn.dest, active);
    }
  }
  conn.expires_ms = now_ms + timeout_ms(conn);
}

void Conn6Table::apply_synced(Conn6& conn, TcpState state, bool inactive, uint32_t timeout_s,
                              uint64_t now_ms) {
  conn.state = state;
  if (const bool active = !inactive; active != conn.active) {
    conn.active = active;
    if (loads_) loads_->count_ipv6_change(conn.dest, active);
  }
  // A message with no timeout (version 0 ones) leaves the state's own.
  conn.expires_ms = now_ms + (timeout_s ? uint64_t(timeout_s) * 1000 : timeout_ms(conn));
}

std::optional<uint16_t> Conn6Table::pick_local_port(Proto proto, const Ip6& local,
                                                    const Endpoint6& server) {
  constexpr uint16_t kFirst = 1024;
  constexpr int kProbes = 64;
  uint16_t& cursor = local_port_cursors_.try_emplace(local, kFirst).first->second;
  for (int probe = 0; probe < kProbes; ++probe) {
    const uint16_t port = cursor;
    cursor = port == 0xffff ? kFirst : uint16_t(port + 1);
    if (!find_out({proto, server, {local, port}})) return port;
  }
  stats_.local_ports_exhausted++;
  return std::nullopt;
}

std::size_t Conn6Table::describe_from(std::size_t from, std::size_t max_entries,
                                      std::size_t max_slots, uint64_t now_ms,
                                      std::vector<ConnectionEntry>& out) const {
  std::size_t slot = std::min<std::size_t>(from, high_water_);
  const std::size_t last = slot + std::min<std::size_t>(max_slots, high_water_ - slot);
  for (std::size_t taken = 0; slot < last && taken < max_entries; ++slot) {
    const Conn6& c = pool_[slot];
    if (!c.live_) continue;
    ConnectionEntry e;
    e.proto = c.in.proto;
    e.expires_s = c.expires_ms > now_ms ? uint32_t((c.expires_ms - now_ms) / 1000) : 0;
    e.state = c.is_template()            ? (c.is_assured() ? "ASSURED" : "NONE")
              : c.in.proto == Proto::Tcp ? std::string(tcp_state_name(c.state))
              : c.in.proto == Proto::Udp ? "UDP"
                                         : "ICMP";
    e.any_protocol = c.in.kind == KeyKind6::FwmarkTemplate;
    e.client = {IpAddr::v6(c.in.from.addr), c.in.from.port};
    e.virtual_addr = {IpAddr::v6(c.in.to.addr), c.in.to.port};
    e.destination = {IpAddr::v6(c.destination.addr), c.destination.port};
    out.push_back(std::move(e));
    ++taken;
  }
  return slot >= high_water_ ? kListed : slot;
}

uint64_t Conn6Table::timeout_ms(const Conn6& c) const {
  const uint32_t seconds = c.is_template()            ? c.template_timeout_s_
                           : c.in.proto == Proto::Tcp ? timeouts_.tcp_s(c.state)
                           : c.in.proto == Proto::Udp ? timeouts_.udp_s()
                                                      : timeouts_.icmp_s();
  return uint64_t(seconds) * 1000;
}

void Conn6Table::expire(uint64_t now_ms) {
  if (now_ms < next_expiry_ms_) return;
  next_expiry_ms_ = now_ms + 1000;
  for (uint32_t index = 0; index < high_water_ && live_ != 0; ++index) {
    Conn6& c = pool_[index];
    if (!c.live_ || c.expires_ms > now_ms) continue;
    if (c.dependents() > 0) {
      c.template_timeout_s_ = kTemplateKeepAliveS;
      refresh(c, now_ms);
      continue;
    }
    remove(index);
    stats_.expired++;
  }
}

}  // namespace vsd
