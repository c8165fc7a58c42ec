#include "conn/table6.h"

#include <iterator>

#include "conn/table.h"

namespace vsd {

std::size_t FlowKey6Hash::operator()(const FlowKey6& k) const noexcept {
  // FNV-1a over what tells flows apart; not exposed to a chosen-key flood more than the
  // bound on entries allows.
  uint64_t h = 0xcbf29ce484222325ull ^ uint8_t(k.proto);
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  for (const Endpoint6* e : {&k.from, &k.to}) {
    for (uint8_t b : e->addr) mix(b);
    mix(uint8_t(e->port >> 8));
    mix(uint8_t(e->port));
  }
  return std::size_t(h);
}

Conn6* Conn6Table::find_in(const FlowKey6& key) {
  auto it = in_.find(key);
  return it == in_.end() ? nullptr : &it->second;
}

Conn6* Conn6Table::find_out(const FlowKey6& key) {
  auto it = out_.find(key);
  return it == out_.end() ? nullptr : it->second;
}

std::size_t Ip6Hash::operator()(const Ip6& a) const noexcept {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : a) h = (h ^ b) * 0x100000001b3ull;
  return std::size_t(h);
}

Conn6* Conn6Table::insert(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest,
                          uint64_t now_ms, Endpoint6 local) {
  if (in_.size() >= capacity_) return stats_.refused_full++, nullptr;
  auto [it, fresh] = in_.try_emplace(in);
  Conn6& c = it->second;
  if (!fresh && replies_come_back(c.method)) out_.erase(reply_key(c));
  if (!fresh && loads_) loads_->count_ipv6_gone(c.dest, c.active);
  c = Conn6{in, destination, method, dest, TcpState::None, 0, local};
  if (loads_) loads_->count_ipv6_new(dest);
  c.expires_ms = now_ms + timeout_ms(c);
  // Only NAT's and FULLNAT's replies come back through the director (DR's and TUN's go
  // straight to the client), so only their entries are found by their reply.
  if (replies_come_back(method)) out_[reply_key(c)] = &c;
  stats_.inserted++;
  return &c;
}

void Conn6Table::on_packet(Conn6& conn, bool from_client, uint8_t tcp_flags, uint64_t now_ms) {
  if (conn.in.proto == Proto::Tcp) {
    const TcpDirection direction = !from_client                     ? TcpDirection::Output
                                   : replies_come_back(conn.method) ? TcpDirection::Input
                                                                    : TcpDirection::InputOnly;
    conn.state = next_tcp_state(conn.state, direction, tcp_flags);
    // ip_vs_proto_tcp.c set_tcp_state: the entry changes column as it enters or leaves
    // ESTABLISHED.
    if (const bool active = tcp_state_is_active(conn.state); active != conn.active) {
      conn.active = active;
      if (loads_) loads_->count_ipv6_change(conn.dest, active);
    }
  }
  conn.expires_ms = now_ms + timeout_ms(conn);
}

std::optional<uint16_t> Conn6Table::pick_local_port(Proto proto, const Ip6& local,
                                                    const Endpoint6& server) {
  constexpr uint16_t kFirst = 1024;
  constexpr int kProbes = 64;
  uint16_t& cursor = local_port_cursors_.try_emplace(local, kFirst).first->second;
  for (int probe = 0; probe < kProbes; ++probe) {
    const uint16_t port = cursor;
    cursor = port == 0xffff ? kFirst : uint16_t(port + 1);
    if (!out_.contains({proto, server, {local, port}})) return port;
  }
  stats_.local_ports_exhausted++;
  return std::nullopt;
}

std::size_t Conn6Table::describe_from(std::size_t skip, std::size_t max_entries, uint64_t now_ms,
                                      std::vector<ConnectionEntry>& out) const {
  if (skip >= in_.size()) return kListed;
  auto it = std::next(in_.begin(), std::ptrdiff_t(skip));
  std::size_t taken = 0;
  for (; it != in_.end() && taken < max_entries; ++it, ++taken) {
    const Conn6& c = it->second;
    ConnectionEntry e;
    e.proto = c.in.proto;
    e.expires_s = c.expires_ms > now_ms ? uint32_t((c.expires_ms - now_ms) / 1000) : 0;
    e.state = c.in.proto == Proto::Tcp   ? std::string(tcp_state_name(c.state))
              : c.in.proto == Proto::Udp ? "UDP"
                                         : "ICMP";
    e.client = {IpAddr::v6(c.in.from.addr), c.in.from.port};
    e.virtual_addr = {IpAddr::v6(c.in.to.addr), c.in.to.port};
    e.destination = {IpAddr::v6(c.destination.addr), c.destination.port};
    out.push_back(std::move(e));
  }
  return it == in_.end() ? kListed : skip + taken;
}

uint64_t Conn6Table::timeout_ms(const Conn6& c) const {
  const uint32_t seconds = c.in.proto == Proto::Tcp   ? timeouts_.tcp_s(c.state)
                           : c.in.proto == Proto::Udp ? timeouts_.udp_s()
                                                      : timeouts_.icmp_s();
  return uint64_t(seconds) * 1000;
}

void Conn6Table::expire(uint64_t now_ms) {
  if (now_ms < next_expiry_ms_) return;
  next_expiry_ms_ = now_ms + 1000;
  for (auto it = in_.begin(); it != in_.end();) {
    if (it->second.expires_ms > now_ms) {
      ++it;
      continue;
    }
    if (replies_come_back(it->second.method)) out_.erase(reply_key(it->second));
    if (loads_) loads_->count_ipv6_gone(it->second.dest, it->second.active);
    it = in_.erase(it);
    stats_.expired++;
  }
}

}  // namespace vsd
