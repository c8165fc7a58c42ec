#include "matrix/kinds/tcp_flow.h"

#include <chrono>

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using Tins::TCP;

bool TcpFlow::client_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what,
                           bool scheduled) {
  auto seg = mb_.tcp_in(family_, flags, cport_, "", seq, ack);
  last_sent_ = std::chrono::steady_clock::now();
  if (rs_ == 0 || scheduled) return (rs_ = forwarded(mb_, seg, f_, what)) != 0;
  mb_.bed().client().port->send(seg);
  return f_.check(
      mb_.bed().checker().expect_frame(*mb_.bed().rs(rs_).port, mb_.at_real_server(seg, rs_), 2s),
      what);
}

bool answer_reaches_client(MatrixBed& mb, const Tins::EthernetII& answer, uint16_t cport,
                           Findings& f, const std::string& what) {
  auto& bed = mb.bed();
  const bool v6 = answer.find_pdu<Tins::IPv6>() != nullptr;
  expect::FrameExpectation back(answer);
  back.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(v6 ? mb.vip6() : bed.vip())
      .ip_dst(v6 ? mb.ipv6_of("client") : bed.client().ip)
      .ttl(62)
      .sport(mb.vport())
      .dport(cport);
  return f.check(bed.checker().expect_frame(*bed.client().port, back, 2s), what);
}

Tins::EthernetII server_answer(const Tins::EthernetII& at_rs, const Tins::HWAddress<6>& rs_mac,
                               uint8_t flags, uint32_t seq, uint32_t ack) {
  const auto& tcp_in = at_rs.rfind_pdu<TCP>();
  TCP tcp(tcp_in.sport(), tcp_in.dport());
  tcp.flags(flags);
  tcp.seq(seq);
  tcp.ack_seq(ack);
  tcp.window(65160);
  auto answer = Tins::EthernetII(at_rs.src_addr(), rs_mac);
  if (const auto* ip6_in = at_rs.find_pdu<Tins::IPv6>()) {
    Tins::IPv6 ip6(ip6_in->src_addr(), ip6_in->dst_addr());
    ip6.hop_limit(64);
    answer /= ip6 / tcp;
  } else {
    const auto& ip_in = at_rs.rfind_pdu<Tins::IP>();
    Tins::IP ip(ip_in.src_addr(), ip_in.dst_addr());
    ip.ttl(64);
    answer /= ip / tcp;
  }
  return answer;
}

bool TcpFlow::server_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what) {
  auto& bed = mb_.bed();
  const port::CapturedFrame* got = last_claimed(mb_, rs_);
  if (!f_.require(got != nullptr, what + ": nothing reached the real server")) return false;
  Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
  auto answer = server_answer(at_rs, bed.rs(rs_).mac, flags, seq, ack);
  last_sent_ = std::chrono::steady_clock::now();
  bed.rs(rs_).port->send(answer);
  return answer_reaches_client(mb_, answer, cport_, f_, what);
}

bool TcpFlow::establish(const std::string& which) {
  if (!client_sends(TCP::SYN, 1000, 0, which + ": SYN")) return false;
  if (replies_pass_director(mb_.mode()) &&
      !server_sends(TCP::SYN | TCP::ACK, 5000, 1001, which + ": SYN+ACK"))
    return false;
  return client_sends(TCP::ACK, 1001, 5001, which + ": ACK");
}

bool TcpFlow::old_entry_ends(const std::string& state, const std::string& what) {
  auto& bed = mb_.bed();
  const std::string client = listed_client(mb_, family_);
  return f_.require(bed.wait_unlisted({state, client + ":" + std::to_string(cport_),
                                       mb_.service_address(family_)}),
                    what + ": the old " + state + " entry is still listed");
}

}  // namespace vslab::matrix::kinds
