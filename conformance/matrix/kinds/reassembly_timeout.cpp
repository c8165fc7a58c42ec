// The reassembly-timeout kind: the first fragment of a datagram to VIP:vport, and nothing after
// it. The director reassembles datagrams for itself, so when `ipfrag_time` (30 s) has passed
// the sender hears "fragment reassembly time exceeded" (ICMP 11 code 1) from the VIP, quoting
// that first fragment, as the director's own errors are (spec 3, "Fragments" and "The
// director's own ICMP errors"). It waits the whole 30 s, so it runs in one cell: neither the
// forwarding method nor the scheduler has a part in it.
#include "matrix/kinds/steps.h"
#include "port/fragments.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void reassembly_timeout(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  const uint16_t cport = mb.next_client_port();
  auto whole = mb.udp_from_client(cport, std::string(600, 'r'));
  auto& ip = whole.rfind_pdu<Tins::IP>();
  ip.flags(Tins::IP::Flags(0));
  ip.id(cport);  // unique in the bed: no other datagram's fragments join it
  auto pieces = port::fragments_of(whole, 300);
  if (!f.require(pieces.size() > 1, "the datagram did not cut in fragments")) return;
  bed.client().port->send(pieces.front());
  // The first fragment as the director received it: one hop (the router) lowered its TTL.
  Tins::IP about = pieces.front().rfind_pdu<Tins::IP>();
  about.ttl(63);
  // ICMP type 11, code 1 (code 0 is "TTL exceeded in transit", a hop's answer).
  auto want = vip_icmp_error_at_client(mb, 11, 1, about);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 40s),
          "time exceeded, code 1 (fragment reassembly time), after ipfrag_time (30 s)");
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
}

}  // namespace vslab::matrix::kinds
