// The connection kind: one whole TCP connection through the director, its states in
// `-L -n -c`, its destination's active and inactive counts and the --stats counters (spec 5, 9).
// Its IPv6 cell (tcp6) runs the connection over IPv6: addresses listed [addr]:port, and the
// bytes counted are the IPv6 packets' (the 40-byte header and what follows it).
#include <chrono>
#include <functional>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "listed_counts.h"
#include "matrix/kinds/tcp_flow.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::FrameExpectation;

namespace {

// The state `-L -n -c` lists for the connection CIP:cport -> VIP:vport ("" when not listed).
std::string listed_state(MatrixBed& mb, Family family, const std::string& cip, uint16_t cport) {
  auto listing = mb.bed().admin({"-L", "-n", "-c"});
  const std::string source = cip + ":" + std::to_string(cport);
  const std::string virt = mb.service_address(family);
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string proto, expire, state, src, vaddr;
    if (in >> proto >> expire >> state >> src >> vaddr && src == source && vaddr == virt)
      return state;
  }
  return {};
}

}  // namespace

void connection(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const Family family = c.family;
  const bool v6 = family == Family::Ipv6;
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", family));
  const bool replies_seen = replies_pass_director(mb.mode());
  // As -L -c lists the client's address.
  const std::string cip = listed_client(mb, family);
  // The size of a frame's IP packet, header included: what the director counts in bytes.
  auto ip_size = [](const Tins::EthernetII& frame) {
    if (const auto* ip6 = frame.find_pdu<Tins::IPv6>()) return uint64_t(ip6->size());
    return uint64_t(frame.rfind_pdu<Tins::IP>().size());
  };
  const uint16_t cport = mb.next_client_port();
  uint64_t in_packets = 0, in_bytes = 0, out_packets = 0, out_bytes = 0;

  auto state_is = [&](const std::string& want, const std::string& after) {
    auto got = read_until<std::string>([&] { return listed_state(mb, family, cip, cport); }, want,
                                       1s * bed.dut().slowness());
    return f.require(got == want, fmt::format("-L -n -c after {}: state {} where the spec says {}",
                                              after, got.empty() ? "(not listed)" : got, want));
  };
  auto counts_are = [&](int rs, int active, int inactive, const std::string& after) {
    const std::string dest = mb.server_args(rs, family)[1];
    auto read = [&] {
      auto c = conformance::listed_counts_of(bed.admin({"-L", "-n"}).output, dest);
      return std::pair{c.active, c.inactive};
    };
    auto got = read_until<std::pair<int, int>>(read, {active, inactive}, 1s * bed.dut().slowness());
    return f.require(got == std::pair{active, inactive},
                     fmt::format("-L -n after {}: rs{} ActiveConn {} InActConn {} where the spec "
                                 "says {} and {}",
                                 after, rs, got.first, got.second, active, inactive));
  };
  // The client's segment reaches rs`rs` (0: any), counted as the director's input.
  int rs = 0;
  auto client_sends = [&](uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data,
                          const std::string& what) {
    auto seg = mb.tcp_in(family, flags, cport, "", seq, ack);
    if (!data.empty()) seg.rfind_pdu<Tins::TCP>() /= Tins::RawPDU(data);
    ++in_packets;
    in_bytes += ip_size(seg);
    if (rs == 0) return (rs = forwarded(mb, seg, f, what)) != 0;
    bed.client().port->send(seg);
    return f.check(bed.checker().expect_frame(*bed.rs(rs).port, mb.at_real_server(seg, rs), 2s),
                   what);
  };
  // rs`rs` answers on the connection as it received it; the client gets it from VIP:vport.
  auto server_sends = [&](uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data,
                          const std::string& what) {
    const port::CapturedFrame* got = nullptr;
    for (const auto& fr : bed.rs(rs).port->captured())
      if (fr.claimed) got = &fr;
    if (!f.require(got != nullptr, what + ": nothing reached the real server")) return false;
    Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
    auto answer = server_answer(at_rs, bed.rs(rs).mac, flags, seq, ack);
    if (!data.empty()) answer /= Tins::RawPDU(data);
    ++out_packets;
    out_bytes += ip_size(answer);
    bed.rs(rs).port->send(answer);
    // Spec 2: VIP:vport -> CIP:cport, TTL - 1 at the director and the router.
    FrameExpectation back(answer);
    back.eth_src(bed.client_gateway_mac())
        .eth_dst(bed.client().mac)
        .ip_src(v6 ? mb.vip6() : bed.vip())
        .ip_dst(v6 ? mb.ipv6_of("client") : bed.client().ip)
        .ttl(62)
        .sport(mb.vport())
        .dport(cport);
    return f.check(bed.checker().expect_frame(*bed.client().port, back, 2s), what);
  };

  using Tins::TCP;
  const std::string request = "GET / HTTP/1.0\r\n\r\n", response = "HTTP/1.0 200 OK\r\n\r\n";
  // Spec 5: NONE + SYN (in) -> SYN_RECV, which counts as active.
  if (!client_sends(TCP::SYN, 1000, 0, "", "SYN")) return;
  if (!state_is("SYN_RECV", "the SYN") || !counts_are(rs, 1, 0, "the SYN")) return;
  if (replies_seen && !server_sends(TCP::SYN | TCP::ACK, 5000, 1001, "", "SYN-ACK")) return;
  // Spec 5: SYN_RECV + ACK (in) -> ESTABLISHED.
  if (!client_sends(TCP::ACK, 1001, 5001, "", "handshake ACK")) return;
  if (!state_is("ESTABLISHED", "the handshake ACK")) return;
  if (!client_sends(TCP::PSH | TCP::ACK, 1001, 5001, request, "request")) return;
  const uint32_t client_next = 1001 + uint32_t(request.size());
  if (replies_seen) {
    // Spec 5: "a full GET through NAT ends in TIME_WAIT" [run]: the server answers and closes,
    // the client closes, the server acknowledges.
    if (!server_sends(TCP::PSH | TCP::ACK, 5001, client_next, response, "response")) return;
    const uint32_t server_fin = 5001 + uint32_t(response.size());
    if (!server_sends(TCP::FIN | TCP::ACK, server_fin, client_next, "", "server's FIN")) return;
    if (!client_sends(TCP::FIN | TCP::ACK, client_next, server_fin + 1, "", "client's FIN")) return;
    if (!server_sends(TCP::ACK, server_fin + 1, client_next + 1, "", "last ACK")) return;
    if (!state_is("TIME_WAIT", "the close")) return;
  } else {
    // Spec 5: the director sees only the client: ESTABLISHED + FIN (in) -> FIN_WAIT.
    if (!client_sends(TCP::FIN | TCP::ACK, client_next, 5001, "", "client's FIN")) return;
    if (!state_is("FIN_WAIT", "the client's FIN")) return;
  }
  // Spec 5: only SYN_SENT, SYN_RECV and ESTABLISHED are active.
  if (!counts_are(rs, 0, 1, "the close")) return;
  // Spec 9: one connection; packets and bytes (IP datagrams, as the example's 40-byte SYNs)
  // in from the client and out from the real server, for the service and the destination.
  const std::vector<uint64_t> want{1, in_packets, out_packets, in_bytes, out_bytes};
  const std::string service = mb.service_address(family);
  const std::string dest = mb.server_args(rs, family)[1];
  using Both = std::pair<std::vector<uint64_t>, std::vector<uint64_t>>;
  auto got = read_until<Both>(
      [&] {
        auto listing = bed.admin({"-L", "-n", "--stats", "--exact"}).output;
        return Both{listed_stats(listing, service), listed_stats(listing, dest)};
      },
      Both{want, want}, 3s * bed.dut().slowness());
  for (const auto& [address, values] : {std::pair{service, got.first}, std::pair{dest, got.second}})
    if (!f.require(values == want,
                   fmt::format("--stats of {}: Conns InPkts OutPkts InBytes OutBytes {} where the "
                               "spec says {}",
                               address, values.empty() ? "(not listed)" : fmt::format("{}", values),
                               fmt::format("{}", want))))
      return;
}

}  // namespace vslab::matrix::kinds
