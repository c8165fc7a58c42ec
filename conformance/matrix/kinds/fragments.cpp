// The fragments kind: a UDP datagram to a service arrives in fragments in order, out of order,
// and with a fragment that partly overlaps another. IPVS sees only whole datagrams: the director
// reassembles, schedules the datagram once and sends it on cut again at the size of the largest
// fragment that came in, in order; an overlap throws the whole datagram away (spec 3,
// "Fragments").
#include <fmt/format.h>

#include "matrix/kinds/steps.h"
#include "port/fragments.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// 1100 bytes of data: 1108 of IP payload cut at 420 bytes of IP makes 400 + 400 + 308, so the
// largest fragment is the first and the director's own cut repeats the client's.
constexpr std::size_t kData = 1100, kFragmentSize = 420;

// A datagram to VIP:vport without DF, its IP ID the client port (unique in the bed, so no
// datagram meets another's leftover fragments, which the director keeps for 30 s).
Tins::EthernetII datagram(MatrixBed& mb, uint16_t cport) {
  auto whole = mb.udp_from_client(cport, std::string(kData, char('a' + cport % 26)));
  auto& ip = whole.rfind_pdu<Tins::IP>();
  ip.flags(Tins::IP::Flags(0));
  ip.id(cport);
  return whole;
}

// The whole datagram as rs1 receives it (spec 2), before the director cuts it again; for TUN
// the IPIP packet around it.
Tins::EthernetII at_rs1(MatrixBed& mb, const Tins::EthernetII& whole) {
  auto& bed = mb.bed();
  Tins::EthernetII out = whole;
  auto& ip = out.rfind_pdu<Tins::IP>();
  ip.ttl(62);
  out.dst_addr(bed.rs(1).mac);
  switch (mb.mode()) {
    case Mode::Nat:
      out.src_addr(bed.mac("director", "eth1"));
      ip.dst_addr(bed.rs(1).ip);
      out.rfind_pdu<Tins::UDP>().dport(mb.rport());
      return out;
    case Mode::FullNat:
      out.src_addr(bed.mac("director", "eth1"));
      ip.src_addr(mb.lip());
      ip.dst_addr(bed.rs(1).ip);
      out.rfind_pdu<Tins::UDP>().dport(mb.rport());
      return out;
    case Mode::Dr:
      out.src_addr(bed.mac("director", "eth0"));
      return out;
    case Mode::Tun:
      break;
  }
  // Spec 2, TUN: outer TTL and TOS from the inner header, no DF, so a fresh ID; the router
  // before the real servers takes one off the outer TTL.
  std::string dip;
  for (const auto& a : bed.topology().find_role("director")->interfaces.front().addresses)
    if (!a.is_v6 && dip.empty()) dip = a.address;
  Tins::IP outer(bed.rs(1).ip, dip);
  outer.ttl(61);
  outer.tos(ip.tos());
  outer.flags(Tins::IP::Flags(0));
  outer.protocol(4);
  return Tins::EthernetII(bed.rs(1).mac, bed.mac("router", "eth2")) / outer / ip;
}

// What rs1 must receive for `whole`: its fragments at kFragmentSize, in order.
std::vector<FrameExpectation> expected_pieces(MatrixBed& mb, const Tins::EthernetII& whole) {
  std::vector<FrameExpectation> out;
  bool first = true;
  for (const auto& piece : port::fragments_of(at_rs1(mb, whole), kFragmentSize)) {
    FrameExpectation want(piece);
    // TUN's outer ID is the director's to choose (spec 2); FULLNAT's lport too, and the UDP
    // checksum covers it.
    if (mb.mode() == Mode::Tun) want.ignore(Field::IpId);
    if (mb.mode() == Mode::FullNat && first)
      want.in_range(Field::SrcPort, 1024, 65535).ignore(Field::L4Checksum);
    first = false;
    out.push_back(std::move(want));
  }
  return out;
}

void send_in(MatrixBed& mb, const std::vector<Tins::EthernetII>& pieces,
             const std::vector<std::size_t>& order) {
  for (auto i : order) mb.bed().client().port->send(pieces.at(i));
}

}  // namespace

void fragments(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, {100}));
  auto& rs1 = *bed.rs(1).port;

  for (const bool in_order : {true, false}) {
    const std::string what = in_order ? "fragments in order" : "fragments out of order";
    auto whole = datagram(mb, mb.next_client_port());
    auto pieces = port::fragments_of(whole, kFragmentSize);
    if (!f.require(pieces.size() == 3, what + ": the datagram did not cut in three")) return;
    send_in(mb, pieces,
            in_order ? std::vector<std::size_t>{0, 1, 2} : std::vector<std::size_t>{2, 0, 1});
    int n = 0;
    for (const auto& want : expected_pieces(mb, whole))
      f.check(bed.checker().expect_frame(rs1, want, 2s), fmt::format("{}: piece {}", what, ++n));
  }

  // A fragment that covers the end of the first and the start of the second (264..528 against
  // 0..400 and 400..800): RFC 5722, the datagram is thrown away; the two fragments after it
  // start one that never completes.
  auto whole = datagram(mb, mb.next_client_port());
  auto pieces = port::fragments_of(whole, kFragmentSize);
  auto other_cut = port::fragments_of(whole, 284);
  if (!f.require(pieces.size() == 3 && other_cut.size() > 1,
                 "overlapping fragments: the datagram did not cut as planned"))
    return;
  bed.client().port->send(pieces[0]);
  bed.client().port->send(other_cut[1]);
  send_in(mb, pieces, {1, 2});
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms),
          "overlapping fragments: real servers");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms),
          "overlapping fragments: client");
}

}  // namespace vslab::matrix::kinds
