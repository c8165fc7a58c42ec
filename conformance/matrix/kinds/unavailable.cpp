// The unavailable kind: a service with no available destination makes no entry and answers
// the client with port unreachable from the VIP, for TCP, UDP and an SCTP INIT alike (spec 3,
// ip_vs_leave: sctp_conn_schedule leaves an INIT it cannot schedule as tcp and udp do). The tcp
// and sctp cells' servers are all at weight 0, the udp cell's service has none at all. Its IPv6
// cells (tcp6, udp6) are unavailable6 (kinds/icmp6.cpp).
#include "frames/sctp.h"
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

void unavailable(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return unavailable6(mb, c, f);
  auto& bed = mb.bed();
  const bool udp = c.proto == Proto::Udp;
  bed.restore(mb.rules(c.proto, c.scheduler, udp ? std::vector<int>{} : std::vector<int>{0, 0, 0}));
  const uint16_t cport = mb.next_client_port();
  auto sent = c.proto == Proto::Tcp    ? mb.tcp_from_client(Tins::TCP::SYN, cport)
              : c.proto == Proto::Sctp ? mb.sctp_from_client(cport, frames::sctp::kInit)
                                       : mb.udp_from_client(cport, "query");
  expect_vip_icmp_error_for(mb, sent, 3, 3, f, "port unreachable from the VIP");
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms), "real servers");
  f.require(!listed_connection(mb, bed.client().ip + ":" + std::to_string(cport)),
            "-L -n -c lists an entry for a packet no destination took");
}

}  // namespace vslab::matrix::kinds
