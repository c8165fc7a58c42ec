// The tcp-flags kind: the segments IPVS's TCP state machine treats specially, each forwarded
// as any segment of its connection (spec 5): a SYN on the ports of a connection that closed
// (TIME_WAIT through NAT, where the director sees both sides; FIN_WAIT in DR and TUN), a
// retransmitted FIN+ACK, a RST in SYN_RECV followed by a new SYN, a RST from either side of an
// established connection. With conn_reuse_mode 1 (the default) a SYN that meets a TIME_WAIT
// entry ends it and is scheduled as a new connection; one that meets FIN_WAIT goes on in the
// old entry [src: ip_vs_core.c, is_new_conn_expected].
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::FrameExpectation;
using Tins::TCP;

namespace {

// One connection of the cell: the client's segments to the real server that has it, and (NAT,
// FULLNAT) the server's back to the client.
class Flow {
 public:
  Flow(MatrixBed& mb, Findings& f) : mb_(mb), f_(f), cport_(mb.next_client_port()) {}

  int rs() const { return rs_; }

  // After a SYN rescheduled the connection: its old entry, in `state`, is gone from `-L -n -c`.
  // The director ends it at its next timer tick, not at once: until then it still counts on
  // its server, and a connection scheduled in between by lc, wlc ... depends on how long that
  // tick is (Linux: a jiffy, after ip_vs_conn_expire_now). Later connections wait for it.
  bool old_entry_ends(const std::string& state, const std::string& what) {
    auto& bed = mb_.bed();
    return f_.require(bed.wait_unlisted({state, bed.client().ip + ":" + std::to_string(cport_),
                                         bed.vip() + ":" + std::to_string(mb_.vport())}),
                      what + ": the old " + state + " entry is still listed");
  }

  // The segment reaches the connection's real server, or any when `scheduled` (a new
  // connection); false when it did not.
  bool client_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what,
                    bool scheduled = false) {
    auto seg = mb_.tcp_from_client(flags, cport_, "", seq, ack);
    if (rs_ == 0 || scheduled) return (rs_ = forwarded(mb_, seg, f_, what)) != 0;
    mb_.bed().client().port->send(seg);
    return f_.check(
        mb_.bed().checker().expect_frame(*mb_.bed().rs(rs_).port, mb_.at_real_server(seg, rs_), 2s),
        what);
  }

  // The real server answers on the connection as it received it; the client gets it from
  // VIP:vport (spec 2).
  bool server_sends(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& what) {
    auto& bed = mb_.bed();
    const port::CapturedFrame* got = nullptr;
    for (const auto& fr : bed.rs(rs_).port->captured())
      if (fr.claimed) got = &fr;
    if (!f_.require(got != nullptr, what + ": nothing reached the real server")) return false;
    Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
    const auto& ip_in = at_rs.rfind_pdu<Tins::IP>();
    const auto& tcp_in = at_rs.rfind_pdu<Tins::TCP>();
    Tins::IP ip(ip_in.src_addr(), ip_in.dst_addr());
    ip.ttl(64);
    TCP tcp(tcp_in.sport(), tcp_in.dport());
    tcp.flags(flags);
    tcp.seq(seq);
    tcp.ack_seq(ack);
    tcp.window(65160);
    auto answer = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs_).mac) / ip / tcp;
    bed.rs(rs_).port->send(answer);
    FrameExpectation back(answer);
    back.eth_src(bed.client_gateway_mac())
        .eth_dst(bed.client().mac)
        .ip_src(bed.vip())
        .ip_dst(bed.client().ip)
        .ttl(62)
        .sport(mb_.vport())
        .dport(cport_);
    return f_.check(bed.checker().expect_frame(*bed.client().port, back, 2s), what);
  }

  // SYN, (NAT, FULLNAT) SYN+ACK, ACK: ESTABLISHED, client at 1001, server at 5001.
  bool establish(const std::string& which) {
    if (!client_sends(TCP::SYN, 1000, 0, which + ": SYN")) return false;
    if (replies_pass_director(mb_.mode()) &&
        !server_sends(TCP::SYN | TCP::ACK, 5000, 1001, which + ": SYN+ACK"))
      return false;
    return client_sends(TCP::ACK, 1001, 5001, which + ": ACK");
  }

 private:
  MatrixBed& mb_;
  Findings& f_;
  uint16_t cport_;
  int rs_ = 0;
};

// The service's Conns in `-L -n --stats --exact` reads `want` (the kernel's after its estimator).
bool connections_are(MatrixBed& mb, uint64_t want, Findings& f, const std::string& after) {
  auto& bed = mb.bed();
  const std::string service = bed.vip() + ":" + std::to_string(mb.vport());
  auto got = read_until<uint64_t>(
      [&] {
        auto values = listed_stats(bed.admin({"-L", "-n", "--stats", "--exact"}).output, service);
        return values.empty() ? uint64_t(0) : values[0];
      },
      want, 3s * bed.dut().slowness());
  return f.require(got == want, fmt::format("--stats after {}: {} connections where the spec "
                                            "says {}",
                                            after, got, want));
}

}  // namespace

void tcp_flags(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  const bool both_sides = replies_pass_director(mb.mode());

  // A connection closed, its FIN+ACKs sent twice, then a SYN on the same ports.
  Flow closed(mb, f);
  if (!closed.establish("close")) return;
  if (!closed.client_sends(TCP::FIN | TCP::ACK, 1001, 5001, "client's FIN+ACK") ||
      !closed.client_sends(TCP::FIN | TCP::ACK, 1001, 5001, "client's FIN+ACK again"))
    return;
  if (both_sides) {
    if (!closed.server_sends(TCP::FIN | TCP::ACK, 5001, 1002, "server's FIN+ACK") ||
        !closed.client_sends(TCP::ACK, 1002, 5002, "last ACK") ||
        !closed.server_sends(TCP::FIN | TCP::ACK, 5001, 1002, "server's FIN+ACK again") ||
        !closed.client_sends(TCP::ACK, 1002, 5002, "last ACK again"))
      return;
  }
  const int first_rs = closed.rs();
  // TIME_WAIT (NAT, FULLNAT): a new connection, scheduled afresh; FIN_WAIT: the old one.
  if (!closed.client_sends(TCP::SYN, 9000, 0, "SYN after the close", both_sides)) return;
  if (!both_sides && !f.require(closed.rs() == first_rs, "SYN after the close: another server"))
    return;
  if (both_sides && !closed.old_entry_ends("TIME_WAIT", "SYN after the close")) return;
  if (!connections_are(mb, both_sides ? 2 : 1, f, "the SYN after the close")) return;

  // A RST in SYN_RECV, then a SYN on the same ports.
  Flow reset_early(mb, f);
  if (!reset_early.client_sends(TCP::SYN, 1000, 0, "SYN before a RST") ||
      !reset_early.client_sends(TCP::RST, 1001, 0, "RST in SYN_RECV") ||
      !reset_early.client_sends(TCP::SYN, 3000, 0, "SYN after the RST", true))
    return;

  // A RST from the client in ESTABLISHED; (NAT, FULLNAT) one from the server.
  Flow reset_by_client(mb, f);
  if (!reset_by_client.establish("client's reset") ||
      !reset_by_client.client_sends(TCP::RST | TCP::ACK, 1001, 5001, "client's RST"))
    return;
  if (both_sides) {
    Flow reset_by_server(mb, f);
    if (!reset_by_server.establish("server's reset") ||
        !reset_by_server.server_sends(TCP::RST | TCP::ACK, 5001, 1001, "server's RST"))
      return;
  }
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms), "client");
}

}  // namespace vslab::matrix::kinds
