// The tcp-flags kind: the segments IPVS's TCP state machine treats specially, each forwarded
// as any segment of its connection (spec 5): a SYN on the ports of a connection that closed
// (TIME_WAIT through NAT, where the director sees both sides; FIN_WAIT in DR and TUN), a
// retransmitted FIN+ACK, a RST in SYN_RECV followed by a new SYN, a RST from either side of an
// established connection. With conn_reuse_mode 1 (the default) a SYN that meets a TIME_WAIT
// entry ends it and is scheduled as a new connection; one that meets FIN_WAIT goes on in the
// old entry [src: ip_vs_core.c, is_new_conn_expected]. Its IPv6 cell (tcp6) does the same
// over IPv6.
#include <fmt/format.h>

#include "matrix/kinds/tcp_flow.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using Tins::TCP;

namespace {

// The service's Conns in `-L -n --stats --exact` reads `want` (the kernel's after its estimator).
bool connections_are(MatrixBed& mb, Family family, uint64_t want, Findings& f,
                     const std::string& after) {
  auto& bed = mb.bed();
  const std::string service = mb.service_address(family);
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
  const Family family = c.family;
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "", "", family));
  const bool both_sides = replies_pass_director(mb.mode());

  // A connection closed, its FIN+ACKs sent twice, then a SYN on the same ports.
  TcpFlow closed(mb, f, family);
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
  if (!connections_are(mb, family, both_sides ? 2 : 1, f, "the SYN after the close")) return;

  // A RST in SYN_RECV, then a SYN on the same ports.
  TcpFlow reset_early(mb, f, family);
  if (!reset_early.client_sends(TCP::SYN, 1000, 0, "SYN before a RST") ||
      !reset_early.client_sends(TCP::RST, 1001, 0, "RST in SYN_RECV") ||
      !reset_early.client_sends(TCP::SYN, 3000, 0, "SYN after the RST", true))
    return;

  // A RST from the client in ESTABLISHED; (NAT, FULLNAT) one from the server.
  TcpFlow reset_by_client(mb, f, family);
  if (!reset_by_client.establish("client's reset") ||
      !reset_by_client.client_sends(TCP::RST | TCP::ACK, 1001, 5001, "client's RST"))
    return;
  if (both_sides) {
    TcpFlow reset_by_server(mb, f, family);
    if (!reset_by_server.establish("server's reset") ||
        !reset_by_server.server_sends(TCP::RST | TCP::ACK, 5001, 1001, "server's RST"))
      return;
  }
  mb.barrier(family);
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms), "client");
}

}  // namespace vslab::matrix::kinds
