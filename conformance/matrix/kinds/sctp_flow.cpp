#include "matrix/kinds/sctp_flow.h"

#include "matrix/kinds/tcp_flow.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {
constexpr uint32_t kClientTag = 0x1000, kServerTag = 0x1100;
}  // namespace

bool SctpFlow::client_sends(uint8_t chunk_type, const std::string& what) {
  auto packet = mb_.sctp_from_client(cport_, chunk_type, kClientTag);
  last_sent_ = std::chrono::steady_clock::now();
  if (rs_ == 0) return (rs_ = forwarded(mb_, packet, f_, what)) != 0;
  mb_.bed().client().port->send(packet);
  return f_.check(mb_.bed().checker().expect_frame(*mb_.bed().rs(rs_).port,
                                                   mb_.at_real_server(packet, rs_), 2s),
                  what);
}

bool SctpFlow::server_sends(uint8_t chunk_type, const std::string& what) {
  auto& bed = mb_.bed();
  const port::CapturedFrame* got = last_claimed(mb_, rs_);
  if (!f_.require(got != nullptr, what + ": nothing reached the real server")) return false;
  Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
  const auto& ip_in = at_rs.rfind_pdu<Tins::IP>();
  const auto& raw = at_rs.rfind_pdu<Tins::RawPDU>().payload();
  if (!f_.require(raw.size() >= 12, what + ": the real server got no SCTP header")) return false;
  const uint16_t peer_port = uint16_t(raw[0] << 8 | raw[1]);
  const uint16_t own_port = uint16_t(raw[2] << 8 | raw[3]);
  Tins::IP ip(ip_in.src_addr(), ip_in.dst_addr());
  ip.ttl(64);
  // The client's initiate tag is what the server's packets carry, the INIT ACK included.
  auto answer = frames::sctp_frame(
      Tins::EthernetII(at_rs.src_addr(), bed.rs(rs_).mac), ip,
      frames::sctp_packet(own_port, peer_port, kClientTag,
                          {frames::sctp_chunk(chunk_type, kServerTag, "reply")}));
  last_sent_ = std::chrono::steady_clock::now();
  bed.rs(rs_).port->send(answer);
  return answer_reaches_client(mb_, answer, cport_, f_, what);
}

}  // namespace vslab::matrix::kinds
