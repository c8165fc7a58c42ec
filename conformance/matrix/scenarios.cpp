#include "matrix/scenarios.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "listed_counts.h"
#include "matrix/failure_case.h"

namespace vslab::matrix {
namespace {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

// What a cell found: the first failed step with its report, and the pcaps of every failure.
struct Findings {
  std::string failure;
  std::vector<std::string> pcaps;

  bool check(const check::CheckResult& r, const std::string& step) {
    if (r.ok) return true;
    if (failure.empty()) failure = step + ": " + r.report;
    pcaps.insert(pcaps.end(), r.pcaps.begin(), r.pcaps.end());
    return false;
  }
  bool require(bool ok, const std::string& what) {
    if (!ok && failure.empty()) failure = what;
    return ok;
  }
};

using Scenario = std::function<void(MatrixBed&, const Cell&, Findings&)>;

// Weights for cells that are not about load: large enough that the cell's own connections never
// make a server overflow (ovf) or count as overloaded (lblc, lblcr).
const std::vector<int> kRoomy{100, 100, 100};

// Sends `sent` and expects it at some real server, rewritten as the mode does; returns which.
int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what) {
  mb.bed().client().port->send(sent);
  int rs = mb.server_reached(sent, 2s);
  if (rs != 0) return rs;
  // Nothing matched: show the diff against what a real server did receive, if one did (ARP
  // and IPv6 are the kernels' own chatter, not the director's forwarding).
  auto received = [&](int i) {
    const auto& frames = mb.bed().rs(i).port->captured();
    return std::any_of(frames.begin(), frames.end(), [](const port::CapturedFrame& c) {
      return !c.claimed && !check::is_arp_or_ipv6(c.bytes);
    });
  };
  for (int i = 1; i <= 3; ++i)
    if (received(i)) {
      f.check(
          mb.bed().checker().expect_frame(*mb.bed().rs(i).port, mb.at_real_server(sent, i), 10ms),
          what);
      return 0;
    }
  f.require(false, what + ": no real server received it");
  return 0;
}

// --- rewrite -------------------------------------------------------------------------------

// What the client receives for rs`rs`'s answer to the client's `sent` (NAT and FULLNAT: the
// director sees replies). `answer` is built from what rs`rs` actually received.
void reply_comes_back(MatrixBed& mb, int rs, const Tins::EthernetII& sent, bool tcp, Findings& f) {
  auto& bed = mb.bed();
  const port::CapturedFrame* got = nullptr;
  for (const auto& c : bed.rs(rs).port->captured())
    if (c.claimed) got = &c;
  if (!f.require(got != nullptr, "reply: the forwarded frame is gone")) return;
  Tins::EthernetII at_rs(got->bytes.data(), got->bytes.size());
  const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
  Tins::IP ip(in_ip.src_addr(), in_ip.dst_addr());
  ip.ttl(64);
  uint16_t dport = 0, sport = 0;
  Tins::EthernetII reply;
  if (tcp) {
    const auto& seg = at_rs.rfind_pdu<Tins::TCP>();
    sport = seg.sport();
    dport = seg.dport();
    Tins::TCP synack(sport, dport);
    synack.flags(Tins::TCP::SYN | Tins::TCP::ACK);
    synack.seq(5000);
    synack.ack_seq(seg.seq() + 1);
    reply = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / synack;
  } else {
    const auto& dgram = at_rs.rfind_pdu<Tins::UDP>();
    sport = dgram.sport();
    dport = dgram.dport();
    reply = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / Tins::UDP(sport, dport) /
            Tins::RawPDU("answer");
  }
  bed.rs(rs).port->send(reply);
  // Spec 2: VIP:vport -> CIP:cport, TTL - 1 at the director and the router.
  const auto& sent_ip = sent.rfind_pdu<Tins::IP>();
  uint16_t cport = tcp ? sent.rfind_pdu<Tins::TCP>().sport() : sent.rfind_pdu<Tins::UDP>().sport();
  FrameExpectation back(reply);
  back.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(bed.vip())
      .ip_dst(sent_ip.src_addr().to_string())
      .ttl(62)
      .sport(mb.vport())
      .dport(cport);
  f.check(bed.checker().expect_frame(*bed.client().port, back), "reply to the client");
}

void rewrite(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  if (c.proto == "icmp") {
    // Spec 3: echo to a VIP is the director's to answer, from the VIP (TTL 64, one hop).
    bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
    Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
    echo.id(mb.next_client_port());
    echo.sequence(7);
    bed.client().port->send(bed.from_client(echo / Tins::RawPDU("ping")));
    Tins::ICMP reply(Tins::ICMP::ECHO_REPLY);
    reply.id(echo.id());
    reply.sequence(7);
    Tins::IP ip(bed.client().ip, bed.vip());
    ip.ttl(63);
    FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                          reply / Tins::RawPDU("ping"));
    want.ignore(Field::IpId).ignore(Field::IpDf);
    f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "echo reply");
    f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
    return;
  }
  const bool tcp = c.proto == "tcp";
  bed.restore(mb.rules(c.proto, c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto sent = tcp ? mb.tcp_from_client(Tins::TCP::SYN, cport) : mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "to the real server");
  if (rs == 0) return;
  if (mb.mode() == "nat" || mb.mode() == "fullnat") reply_comes_back(mb, rs, sent, tcp, f);
}

// --- scheduler -----------------------------------------------------------------------------

// Deterministic schedulers: weights of rs1..rs3 and the servers successive new connections
// (SYN-only, so they stay active: spec 5) reach, derived from spec 6 (scan order rs3, rs2,
// rs1; the same derivations as conformance/scheduler_test.cpp, which shows the working).
struct Sequence {
  std::vector<int> weights;
  std::vector<int> servers;
};
const std::map<std::string, Sequence>& sequences() {
  static const std::map<std::string, Sequence> all{
      {"rr", {{1, 1, 1}, {3, 2, 1, 3, 2, 1}}},
      {"wrr", {{4, 3, 2}, {3, 2, 1, 1, 2, 1, 3, 2, 1}}},
      {"lc", {{1, 1, 1}, {3, 2, 1, 3, 2, 1}}},
      {"wlc", {{1, 2, 0}, {2, 1, 2, 2, 1, 2, 2, 1, 2}}},
      {"sed", {{3, 1, 0}, {1, 1, 2, 1, 1, 1, 2}}},
      {"nq", {{3, 1, 0}, {2, 1, 1, 1, 1, 1, 2}}},
      {"fo", {{3, 3, 1}, {2, 2, 2, 2}}},
      {"ovf", {{2, 2, 1}, {2, 2, 2, 1, 1, 1, 3, 3}}},
  };
  return all;
}

void scheduler(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  if (auto it = sequences().find(c.scheduler); it != sequences().end()) {
    // A weight of 0 here means "not added": wlc, sed and nq use two servers.
    std::vector<int> weights;
    for (int w : it->second.weights)
      if (w > 0) weights.push_back(w);
    bed.restore(mb.rules("tcp", c.scheduler, weights));
    const auto& want = it->second.servers;
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s, false);
      // The journal (a failure's case file) holds what the spec wants, met or not.
      bed.checker().record(*bed.rs(want[i]).port, mb.at_real_server(syn, want[i]), got == want[i]);
      if (!f.require(got == want[i],
                     fmt::format("connection {} reached rs{} where the spec says rs{}", i + 1, got,
                                 want[i])))
        return;
    }
    return;
  }
  // Hashing and locality schedulers: each key keeps its server (sh, mh: the client address;
  // dh, lblc, lblcr: the VIP), and every connection is scheduled somewhere (all weights 1).
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
  for (int client = 10; client < 16; ++client) {
    const std::string addr = fmt::format("10.10.0.{}", client);
    int first = 0;
    for (int k = 0; k < 2; ++k) {
      auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(), addr);
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s);
      if (!f.require(got != 0, addr + ": connection reached no real server")) return;
      if (k == 0) first = got;
      if (c.scheduler != "twos" &&
          !f.require(got == first, fmt::format("{}: rs{} then rs{}", addr, first, got)))
        return;
    }
  }
}

// --- a whole TCP connection: states and counters --------------------------------------------

// The state `-L -n -c` lists for the connection CIP:cport -> VIP:vport ("" when not listed).
std::string listed_state(MatrixBed& mb, const std::string& cip, uint16_t cport) {
  auto listing = mb.bed().admin({"-L", "-n", "-c"});
  const std::string source = cip + ":" + std::to_string(cport);
  const std::string virt = mb.bed().vip() + ":" + std::to_string(mb.vport());
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string proto, expire, state, src, vaddr;
    if (in >> proto >> expire >> state >> src >> vaddr && src == source && vaddr == virt)
      return state;
  }
  return {};
}

// The five counters of a `-L -n --stats --exact` line whose address is `address` (the service
// line "TCP  VIP:vport" or a destination line "  -> RIP:rport"), empty when there is none.
std::vector<uint64_t> listed_stats(const std::string& listing, const std::string& address) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string first, addr;
    if (!(in >> first >> addr) || addr != address) continue;
    std::vector<uint64_t> values(5);
    for (auto& v : values)
      if (!(in >> v)) return {};
    return values;
  }
  return {};
}

// Re-reads what `read` returns until it equals `want` or `patience` has passed (the kernel's
// totals come from an estimator that runs every 2 s: spec 9); the last reading.
template <typename T>
T read_until(const std::function<T()>& read, const T& want, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  T got = read();
  while (got != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);  // a polling interval, not a synchronisation
    got = read();
  }
  return got;
}

void connection(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
  const bool replies_seen = mb.mode() == "nat" || mb.mode() == "fullnat";
  const std::string cip = bed.client().ip;
  const uint16_t cport = mb.next_client_port();
  uint64_t in_packets = 0, in_bytes = 0, out_packets = 0, out_bytes = 0;

  auto state_is = [&](const std::string& want, const std::string& after) {
    auto got = read_until<std::string>([&] { return listed_state(mb, cip, cport); }, want,
                                       1s * bed.dut().slowness());
    return f.require(got == want, fmt::format("-L -n -c after {}: state {} where the spec says {}",
                                              after, got.empty() ? "(not listed)" : got, want));
  };
  auto counts_are = [&](int rs, int active, int inactive, const std::string& after) {
    const std::string dest = mb.rip(rs) + ":" + std::to_string(mb.rport());
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
    auto seg = mb.tcp_from_client(flags, cport, "", seq, ack);
    if (!data.empty()) seg.rfind_pdu<Tins::TCP>() /= Tins::RawPDU(data);
    ++in_packets;
    in_bytes += seg.rfind_pdu<Tins::IP>().size();
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
    const auto& ip_in = at_rs.rfind_pdu<Tins::IP>();
    const auto& tcp_in = at_rs.rfind_pdu<Tins::TCP>();
    Tins::IP ip(ip_in.src_addr(), ip_in.dst_addr());
    ip.ttl(64);
    Tins::TCP tcp(tcp_in.sport(), tcp_in.dport());
    tcp.flags(flags);
    tcp.seq(seq);
    tcp.ack_seq(ack);
    tcp.window(65160);
    auto answer = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / tcp;
    if (!data.empty()) answer /= Tins::RawPDU(data);
    ++out_packets;
    out_bytes += answer.rfind_pdu<Tins::IP>().size();
    bed.rs(rs).port->send(answer);
    // Spec 2: VIP:vport -> CIP:cport, TTL - 1 at the director and the router.
    FrameExpectation back(answer);
    back.eth_src(bed.client_gateway_mac())
        .eth_dst(bed.client().mac)
        .ip_src(bed.vip())
        .ip_dst(cip)
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
  const std::string service = bed.vip() + ":" + std::to_string(mb.vport());
  const std::string dest = mb.rip(rs) + ":" + std::to_string(mb.rport());
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

// --- persistence ---------------------------------------------------------------------------

void persistence(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy, "-p 60"));
  // Spec 7: a template (proto, CIP, VIP:vport) sends every new connection of the client to the
  // server of its first, whatever the scheduler would pick.
  int first = 0;
  for (int i = 0; i < 4; ++i) {
    auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
    int got = forwarded(mb, syn, f, fmt::format("connection {}", i + 1));
    if (got == 0) return;
    if (i == 0) first = got;
    if (!f.require(got == first, fmt::format("connection {} reached rs{}, the template says rs{}",
                                             i + 1, got, first)))
      return;
  }
}

// --- weight 0 and removal ------------------------------------------------------------------

void weight0(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto syn = mb.tcp_from_client(Tins::TCP::SYN, cport);
  int rs = forwarded(mb, syn, f, "first connection");
  if (rs == 0) return;
  const std::string service = "-t", vip = bed.vip() + ":" + std::to_string(mb.vport());
  std::vector<std::string> edit_args{"-e", service, vip};
  for (auto& a : mb.server_args(rs)) edit_args.push_back(a);
  edit_args.insert(edit_args.end(), {"-w", "0"});
  auto edit = bed.admin(edit_args);
  if (!f.require(edit.ok(),
                 fmt::format("vsadm {} refused: {}", fmt::join(edit_args, " "), edit.output)))
    return;
  // Spec 8: a weight-0 server keeps its connections and gets no new one.
  auto ack = mb.tcp_from_client(Tins::TCP::ACK, cport, "", 1001, 1);
  bed.client().port->send(ack);
  f.check(bed.checker().expect_frame(*bed.rs(rs).port, mb.at_real_server(ack, rs), 2s),
          "the quiesced server's own connection");
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 4; ++i) {
    syns.push_back(mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(),
                                      fmt::format("10.10.0.{}", 20 + i)));
    bed.client().port->send(syns.back());
  }
  mb.barrier();
  for (const auto& s : syns)
    if (!f.require(mb.server_reached(s, 0ms) != rs,
                   fmt::format("a new connection reached rs{} at weight 0", rs)))
      return;
  // Removed: nothing new reaches it either (spec 4).
  // -d names the server by address alone (ipvsadm refuses a method there).
  auto del = bed.admin({"-d", service, vip, "-r", mb.server_args(rs)[1]});
  if (!f.require(del.ok(), "-d refused: " + del.output)) return;
  auto s = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(), "10.10.0.30");
  bed.client().port->send(s);
  mb.barrier();
  f.require(mb.server_reached(s, 0ms) != rs,
            fmt::format("a new connection reached removed rs{}", rs));
}

// --- thresholds ----------------------------------------------------------------------------

void thresholds(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, {1, 1, 1}, "", "-x 1"));
  // Spec 8: with -x 1 a server holding one connection is overloaded; no scheduler may give it
  // a second while the first lasts (SYN-only connections stay).
  std::vector<Tins::EthernetII> syns;
  for (int i = 0; i < 6; ++i) {
    syns.push_back(mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(),
                                      fmt::format("10.10.0.{}", 40 + i)));
    bed.client().port->send(syns.back());
  }
  mb.barrier();
  std::map<int, int> per_server;
  for (const auto& s : syns) {
    int got = mb.server_reached(s, 0ms);
    if (got == 0) continue;
    if (!f.require(++per_server[got] <= 1,
                   fmt::format("rs{} got a second connection above its upper threshold 1", got)))
      return;
  }
  f.require(!per_server.empty(), "no connection was scheduled at all");
}

// --- ICMP errors about a connection --------------------------------------------------------

void icmp_error(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("udp", c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto sent = mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "datagram to the real server");
  if (rs == 0) return;
  const port::CapturedFrame* got = nullptr;
  for (const auto& fr : bed.rs(rs).port->captured())
    if (fr.claimed) got = &fr;
  if (!f.require(got != nullptr, "the forwarded datagram is gone")) return;
  // The real server's port unreachable about what it received, quoting it whole.
  Tins::EthernetII at_rs(got->bytes.data(), got->bytes.size());
  const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
  auto quoted = Tins::IP(in_ip).serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  Tins::IP ip(in_ip.src_addr(), in_ip.dst_addr());
  ip.ttl(64);
  auto error = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip / unreachable /
               Tins::RawPDU(quoted.data(), uint32_t(quoted.size()));
  bed.rs(rs).port->send(error);
  // Spec 3: the error travels with its connection: from the VIP to the client, TTL - 2, the
  // quoted header rewritten back to CIP:cport -> VIP:vport.
  FrameExpectation want(error);
  want.eth_src(bed.client_gateway_mac())
      .eth_dst(bed.client().mac)
      .ip_src(bed.vip())
      .ip_dst(bed.client().ip)
      .ttl(62)
      .expect_text(Field::QuotedIpSrc, bed.client().ip)
      .expect_text(Field::QuotedIpDst, bed.vip())
      .expect_text(Field::QuotedSrcPort, std::to_string(cport))
      .expect_text(Field::QuotedDstPort, std::to_string(mb.vport()))
      .ignore(Field::Payload)
      .ignore(Field::IpId);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "ICMP error to the client");
}

// --- unknown flows -------------------------------------------------------------------------

void unknown_flow(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
  // Spec 3: a non-SYN segment of no connection gets RST from VIP:vport, seq = its ack.
  uint16_t cport = mb.next_client_port();
  bed.client().port->send(mb.tcp_from_client(Tins::TCP::ACK, cport, "", 777, 999));
  Tins::TCP rst(cport, mb.vport());
  rst.flags(Tins::TCP::RST);
  rst.seq(999);
  rst.window(0);
  f.check(bed.checker().expect_frame(*bed.client().port,
                                     FrameExpectation(bed.vip_stack_segment_at_client(rst)), 2s),
          "RST from the VIP");
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 50ms), "real servers");
}

// --- PMTU (TUN) ----------------------------------------------------------------------------

void pmtu(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules("tcp", c.scheduler, kRoomy));
  Tins::TCP syn(mb.vport(), mb.next_client_port());
  syn.flags(Tins::TCP::SYN);
  // 1500 bytes of IP with DF: fits every link, not the tunnel (+20).
  auto s = bed.from_client(syn / Tins::RawPDU(std::string(1500 - 20 - 20, 'x')));
  bed.client().port->send(s);
  // Spec 2: fragmentation needed from the VIP, next-hop MTU 1480, quoting the packet with its
  // TTL decremented (62); TOS 0xc0; the router takes one off.
  Tins::IP quoted = s.rfind_pdu<Tins::IP>();
  quoted.ttl(62);
  auto quoted_bytes = Tins::IP(quoted).serialize();
  quoted_bytes.resize(576 - 20 - 8);  // an ICMP error fits in 576 bytes
  Tins::ICMP frag_needed(Tins::ICMP::DEST_UNREACHABLE);
  frag_needed.code(4);
  frag_needed.mtu(1480);
  Tins::IP ip(bed.client().ip, bed.vip());
  ip.ttl(63);
  ip.tos(0xc0);
  FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                        frag_needed /
                        Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.ignore(Field::IpId).ignore(Field::IpDf).ignore(Field::Payload);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), "fragmentation needed");
}

const std::map<std::string, Scenario>& scenarios() {
  static const std::map<std::string, Scenario> all{
      {"rewrite", rewrite},         {"scheduler", scheduler},       {"connection", connection},
      {"persistence", persistence}, {"weight0", weight0},           {"thresholds", thresholds},
      {"icmp-error", icmp_error},   {"unknown-flow", unknown_flow}, {"pmtu", pmtu},
  };
  return all;
}

}  // namespace

std::string not_applicable(const Cell& cell) {
  if (cell.kind == "pmtu" && cell.mode != "tun")
    return "not applicable: the tunnel's 20 bytes make PMTU a TUN matter";
  if (cell.kind == "icmp-error" && (cell.mode == "dr" || cell.mode == "tun"))
    return "not applicable: real servers answer the client directly in " + cell.mode;
  return {};
}

CellResult run_cell(MatrixBed& bed, const Cell& cell, const std::filesystem::path& pcap_dir) {
  CellResult result{cell, Outcome::Skip, not_applicable(cell), 0, {}, {}};
  if (!result.detail.empty()) return result;
  auto& dut = bed.bed().dut();
  if (!dut.claims_mode(cell.mode) || !dut.claims_scheduler(cell.scheduler)) {
    result.detail = "not claimed by the DUT (" + dut.name() + ")";
    return result;
  }
  auto start = std::chrono::steady_clock::now();
  Findings findings;
  try {
    bed.bed().begin_case(cell.id(), pcap_dir);
    bed.fresh_service();
    scenarios().at(cell.kind)(bed, cell, findings);
  } catch (const std::exception& e) {
    findings.require(false, std::string("error: ") + e.what());
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.outcome = findings.failure.empty() ? Outcome::Pass : Outcome::Fail;
  result.detail = findings.failure;
  result.pcaps = findings.pcaps;
  if (result.outcome == Outcome::Fail) {
    try {
      if (auto dir = write_failure_case(bed, cell, findings.failure)) {
        result.case_dir = dir->string();
        result.detail += "\nreplay: vslab replay " + result.case_dir;
      } else {
        result.detail +=
            "\n(no case written: no frame check failed; a listing, a count or the choice of "
            "server did, which a case of frames cannot show)";
      }
    } catch (const std::exception& e) {
      result.detail += std::string("\n(no case written: ") + e.what() + ")";
    }
  }
  return result;
}

}  // namespace vslab::matrix
