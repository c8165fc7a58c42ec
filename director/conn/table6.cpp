#include "conn/table6.h"

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

Conn6* Conn6Table::insert(const FlowKey6& in, Endpoint6 destination, Method method, uint32_t dest,
                          uint64_t now_ms) {
  if (in_.size() >= capacity_) return stats_.refused_full++, nullptr;
  auto [it, fresh] = in_.try_emplace(in);
  Conn6& c = it->second;
  if (!fresh) out_.erase(reply_key(c));
  c = Conn6{in, destination, method, dest, TcpState::None, 0};
  c.expires_ms = now_ms + timeout_ms(c);
  // Only NAT's replies come back through the director (DR's and TUN's go straight to the
  // client), so only its entries are found by their reply.
  if (method == Method::Nat) out_[reply_key(c)] = &c;
  stats_.inserted++;
  return &c;
}

void Conn6Table::on_packet(Conn6& conn, bool from_client, uint8_t tcp_flags, uint64_t now_ms) {
  if (conn.in.proto == Proto::Tcp) {
    const TcpDirection direction = !from_client                 ? TcpDirection::Output
                                   : conn.method == Method::Nat ? TcpDirection::Input
                                                                : TcpDirection::InputOnly;
    conn.state = next_tcp_state(conn.state, direction, tcp_flags);
  }
  conn.expires_ms = now_ms + timeout_ms(conn);
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
    if (it->second.method == Method::Nat) out_.erase(reply_key(it->second));
    it = in_.erase(it);
    stats_.expired++;
  }
}

}  // namespace vsd
