// The states kind: connections walked through the TCP state machine with segments from each
// side, and a UDP flow, reading after every step the state and the expire column of
// `-L -n -c`. Each packet restarts an entry's timer with its new state's timeout, so the
// column shows that timeout less the moment the listing takes: the defaults of spec 5's table,
// then those `--set tcp tcpfin udp` changes (ESTABLISHED, FIN_WAIT, UDP) and only those. Its
// sctp cell walks an SCTP association through the kernel's SCTP states (`-L --timeout` keeps
// showing tcp, tcpfin and udp only). The walks are the scheduler's no matter; rr's cells run
// them. The IPv6 cells (tcp6, udp6) walk the same over IPv6, the entries listed
// [CIP6]:cport.
#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/kinds/sctp_flow.h"
#include "matrix/kinds/tcp_flow.h"
#include "matrix/kinds/timeouts_kept.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using Tins::TCP;

namespace {

// Spec 5, "Timeouts": the defaults.
constexpr int kSynRecv = 60, kEstablished = 900, kFinWait = 120, kTimeWait = 120;
constexpr int kCloseWait = 60, kUdp = 300;
// What the cell's --set makes of ESTABLISHED, FIN_WAIT and UDP: unlike any default.
constexpr int kSetTcp = 600, kSetTcpFin = 50, kSetUdp = 200;

std::string mm_ss(int seconds) {
  return fmt::format("{:02}:{:02}", seconds / 60, seconds % 60);
}

// `-L -n -c` lists the entry from the client's port `cport` in `state`, with `timeout_s` on
// its clock less the seconds since `sent` (the packet that set it left the sender then), and a
// second for the listing's rounding down and the director's clock ticking.
bool listed_as(MatrixBed& mb, Family family, uint16_t cport, const std::string& state,
               int timeout_s, std::chrono::steady_clock::time_point sent, Findings& f,
               const std::string& after) {
  auto& bed = mb.bed();
  const std::string client = listed_client(mb, family);
  const std::string source = client + ":" + std::to_string(cport);
  std::optional<ListedConn> got;
  int least = timeout_s;
  auto fits = [&] {
    return got && got->state == state && got->expire_s <= timeout_s && got->expire_s >= least;
  };
  read_until<bool>(
      [&] {
        got = listed_connection(mb, source);
        const auto elapsed = std::chrono::steady_clock::now() - sent;
        least = timeout_s - 1 - int(std::chrono::ceil<std::chrono::seconds>(elapsed).count());
        return fits();
      },
      true, 1s * bed.dut().slowness());
  return f.require(
      fits(), fmt::format("-L -n -c after {}: state {} expire {} where the spec says "
                          "{} with its timeout, {} (down to {} by the listing)",
                          after, got ? got->state : "(not listed)", got ? got->expire : "-", state,
                          mm_ss(timeout_s), mm_ss(std::max(least, 0))));
}

bool set_timeouts(MatrixBed& mb, int tcp, int tcp_fin, int udp, const std::vector<int>& before,
                  Findings& f) {
  auto r =
      mb.bed().admin({"--set", std::to_string(tcp), std::to_string(tcp_fin), std::to_string(udp)});
  if (!f.require(r.ok(), "--set: " + r.output)) return false;
  // A 0 leaves its value as it was (spec 5).
  std::vector<int> want{tcp, tcp_fin, udp};
  for (std::size_t i = 0; i < want.size() && i < before.size(); ++i)
    if (want[i] == 0) want[i] = before[i];
  auto got = listed_timeouts(mb);
  return f.require(got == want,
                   fmt::format("-L --timeout after --set {} {} {}: {} where the "
                               "spec says {}",
                               tcp, tcp_fin, udp, fmt::join(got, " "), fmt::join(want, " ")));
}

// Spec 5's tables: the client closes first, then (NAT, FULLNAT) the server; the entry ends in
// TIME_WAIT, or in FIN_WAIT where the director sees the client alone.
bool client_closes(MatrixBed& mb, Family family, Findings& f) {
  TcpFlow flow(mb, f, family);
  auto listed = [&](const std::string& state, int timeout_s, const std::string& after) {
    return listed_as(mb, family, flow.cport(), state, timeout_s, flow.last_sent(), f, after);
  };
  if (!flow.establish("client closes") ||
      !listed("ESTABLISHED", kEstablished, "the handshake's ACK") ||
      !flow.client_sends(TCP::FIN | TCP::ACK, 1001, 5001, "client's FIN"))
    return false;
  if (!replies_pass_director(mb.mode()))
    return listed("FIN_WAIT", kFinWait, "the client's FIN (input-only)") &&
           flow.client_sends(TCP::ACK, 1002, 5001, "client's ACK after its FIN") &&
           listed("FIN_WAIT", kFinWait, "the client's ACK after its FIN");
  return listed("CLOSE_WAIT", kCloseWait, "the client's FIN (input)") &&
         flow.server_sends(TCP::FIN | TCP::ACK, 5001, 1002, "server's FIN") &&
         listed("TIME_WAIT", kTimeWait, "the server's FIN in CLOSE_WAIT") &&
         flow.client_sends(TCP::ACK, 1002, 5002, "last ACK") &&
         listed("TIME_WAIT", kTimeWait, "the last ACK");
}

// NAT, FULLNAT: the server closes first (output), the client acknowledges and closes.
bool server_closes(MatrixBed& mb, Family family, int fin_wait_s, Findings& f) {
  TcpFlow flow(mb, f, family);
  auto listed = [&](const std::string& state, int timeout_s, const std::string& after) {
    return listed_as(mb, family, flow.cport(), state, timeout_s, flow.last_sent(), f, after);
  };
  return flow.establish("server closes") &&
         flow.server_sends(TCP::FIN | TCP::ACK, 5001, 1001, "server's FIN") &&
         listed("FIN_WAIT", fin_wait_s, "the server's FIN (output)") &&
         flow.client_sends(TCP::ACK, 1001, 5002, "client's ACK of the server's FIN") &&
         listed("FIN_WAIT", fin_wait_s, "the client's ACK in FIN_WAIT") &&
         flow.client_sends(TCP::FIN | TCP::ACK, 1001, 5002, "client's FIN") &&
         listed("TIME_WAIT", kTimeWait, "the client's FIN in FIN_WAIT");
}

void tcp_walk(MatrixBed& mb, Family family, const std::vector<int>& before, Findings& f) {
  const bool both_sides = replies_pass_director(mb.mode());
  // A half-open connection: the client's RST leaves SYN_RECV as it is.
  TcpFlow half_open(mb, f, family);
  if (!half_open.client_sends(TCP::SYN, 1000, 0, "SYN") ||
      !listed_as(mb, family, half_open.cport(), "SYN_RECV", kSynRecv, half_open.last_sent(), f,
                 "the SYN") ||
      !half_open.client_sends(TCP::RST, 1001, 0, "client's RST in SYN_RECV") ||
      !listed_as(mb, family, half_open.cport(), "SYN_RECV", kSynRecv, half_open.last_sent(), f,
                 "the client's RST in SYN_RECV"))
    return;
  if (!client_closes(mb, family, f)) return;
  if (both_sides && !server_closes(mb, family, kFinWait, f)) return;

  // --set changes ESTABLISHED and FIN_WAIT; SYN_RECV and TIME_WAIT keep theirs.
  if (!set_timeouts(mb, kSetTcp, kSetTcpFin, 0, before, f)) return;
  TcpFlow after_set(mb, f, family);
  auto listed = [&](const std::string& state, int timeout_s, const std::string& after) {
    return listed_as(mb, family, after_set.cport(), state, timeout_s, after_set.last_sent(), f,
                     after + " (after --set)");
  };
  if (!after_set.client_sends(TCP::SYN, 1000, 0, "SYN after --set") ||
      !listed("SYN_RECV", kSynRecv, "the SYN") ||
      !(both_sides ? after_set.server_sends(TCP::SYN | TCP::ACK, 5000, 1001, "SYN+ACK after --set")
                   : true) ||
      !after_set.client_sends(TCP::ACK, 1001, 5001, "ACK after --set") ||
      !listed("ESTABLISHED", kSetTcp, "the handshake's ACK"))
    return;
  if (!both_sides) {
    if (after_set.client_sends(TCP::FIN | TCP::ACK, 1001, 5001, "client's FIN after --set"))
      listed("FIN_WAIT", kSetTcpFin, "the client's FIN");
    return;
  }
  server_closes(mb, family, kSetTcpFin, f);
}

// A UDP flow is listed in state UDP; its next datagram after --set gets the new timeout.
void udp_walk(MatrixBed& mb, Family family, const std::vector<int>& before, Findings& f) {
  const uint16_t cport = mb.next_client_port();
  auto sends = [&](const std::string& payload, const std::string& what, int timeout_s) {
    const auto sent = std::chrono::steady_clock::now();
    const auto dgram = family == Family::Ipv6 ? mb.udp6_from_client(cport, payload)
                                              : mb.udp_from_client(cport, payload);
    return forwarded(mb, dgram, f, what) &&
           listed_as(mb, family, cport, "UDP", timeout_s, sent, f, "the " + what);
  };
  if (sends("first", "first datagram", kUdp) && set_timeouts(mb, 0, 0, kSetUdp, before, f))
    sends("second", "datagram after --set", kSetUdp);
}

// docs/ipvs.md, "SCTP": the kernel's states as -L -c names them, with their timeouts (which
// ipvsadm cannot change): INIT1 and REJECTED 4 s, ESTABLISHED 15 min, the rest 61 s.
constexpr int kSctpInit1 = 4, kSctpEstablished = 900, kSctpRto = 61;

// An association set up and shut down, the client's side first. NAT and FULLNAT see both
// sides (the input and output tables); DR and TUN the client's alone (input-only), where the
// client's COOKIE ECHO stands for the whole handshake.
void sctp_walk(MatrixBed& mb, Findings& f) {
  namespace chunk = frames::sctp;
  SctpFlow flow(mb, f);
  auto step = [&](bool from_client, uint8_t type, const std::string& what, const std::string& state,
                  int timeout_s) {
    const bool sent = from_client ? flow.client_sends(type, what) : flow.server_sends(type, what);
    return sent && listed_as(mb, Family::Ipv4, flow.cport(), state, timeout_s, flow.last_sent(), f,
                             "the " + what);
  };
  if (!step(true, chunk::kInit, "client's INIT", "INIT1", kSctpInit1)) return;
  if (!replies_pass_director(mb.mode())) {
    step(true, chunk::kCookieEcho, "client's COOKIE ECHO (input-only)", "ESTABLISHED",
         kSctpEstablished) &&
        step(true, chunk::kData, "client's DATA", "ESTABLISHED", kSctpEstablished) &&
        step(true, chunk::kShutdownAck, "client's SHUTDOWN ACK", "CLOSED", kSctpRto);
    return;
  }
  step(false, chunk::kInitAck, "server's INIT ACK", "C-SENT", kSctpRto) &&
      step(true, chunk::kCookieEcho, "client's COOKIE ECHO", "C-REPLIED", kSctpRto) &&
      step(false, chunk::kCookieAck, "server's COOKIE ACK", "ESTABLISHED", kSctpEstablished) &&
      step(true, chunk::kData, "client's DATA", "ESTABLISHED", kSctpEstablished) &&
      step(false, chunk::kSack, "server's SACK", "ESTABLISHED", kSctpEstablished) &&
      step(true, chunk::kShutdown, "client's SHUTDOWN", "S-RECEIVED", kSctpRto) &&
      step(false, chunk::kShutdownAck, "server's SHUTDOWN ACK", "S-ACK-SENT", kSctpRto) &&
      step(true, chunk::kShutdownComplete, "client's SHUTDOWN COMPLETE", "CLOSED", kSctpRto);
}

}  // namespace

void states(MatrixBed& mb, const Cell& c, Findings& f) {
  mb.bed().restore(mb.rules(c.proto, c.scheduler, kRoomy, "", "", c.family));
  TimeoutsKept kept(mb);
  const std::vector<int> defaults{kEstablished, kFinWait, kUdp};
  // The walks expect the defaults; a director left otherwise is a finding of its own.
  if (!f.require(kept.found() == defaults,
                 fmt::format("-L --timeout before the walk: {} where the spec's defaults are {}",
                             fmt::join(kept.found(), " "), fmt::join(defaults, " "))))
    return;
  if (c.proto == Proto::Udp)
    udp_walk(mb, c.family, kept.found(), f);
  else if (c.proto == Proto::Sctp)
    sctp_walk(mb, f);
  else
    tcp_walk(mb, c.family, kept.found(), f);
  // A frame after the last command: a case made of the cell (vslab diff, a failure case)
  // replays every command before one of its frames, the put-back too.
  kept.put_back();
  mb.barrier(c.family);
}

}  // namespace vslab::matrix::kinds
