// The ttl-one kind: a SYN that reaches the director with TTL 1 is scheduled (the entry is
// made) but not forwarded; the client gets time exceeded from the VIP (spec 2, "Every
// method", and spec 3 for the error's header).
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void ttl_one(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return ttl_one6(mb, c, f);
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
  const uint16_t cport = mb.next_client_port();
  auto syn = mb.tcp_from_client(Tins::TCP::SYN, cport);
  syn.rfind_pdu<Tins::IP>().ttl(2);  // the router takes one
  bed.client().port->send(syn);
  Tins::IP about = syn.rfind_pdu<Tins::IP>();
  about.ttl(1);
  f.check(bed.checker().expect_frame(*bed.client().port, vip_icmp_error_at_client(mb, 11, 0, about),
                                     2s),
          "time exceeded from the VIP");
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms), "real servers");
  const std::string source = bed.client().ip + ":" + std::to_string(cport);
  auto listed = listed_connection(mb, source);
  f.require(listed && listed->state == "SYN_RECV",
            fmt::format("-L -n -c after the TTL-1 SYN: {} where the spec says {} in SYN_RECV",
                        listed ? source + " in " + listed->state : source + " not listed", source));
}

}  // namespace vslab::matrix::kinds
