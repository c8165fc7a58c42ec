// The fragments kind: a UDP datagram to a service arrives in fragments in order, out of order,
// with IP options, and with a fragment that partly overlaps another. IPVS sees only whole
// datagrams: the director reassembles, schedules the datagram once and sends it on cut again at
// the size of the largest fragment that came in, in order, options without the copy flag only
// in the first fragment; an overlap throws the whole datagram away (spec 3, "Fragments"). TUN:
// fragments with DF make a datagram with DF, which the tunnel's MTU then turns back. Its IPv6
// cells (udp6) are fragments6.cpp.
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

// Two options no stack acts on (RFC 4727's experiment numbers): 30 without the copy flag, 158
// with it. A fragment after the first keeps only the copied one, the other overwritten by NOPs
// so that every fragment's header has the same length (RFC 791 3.1; spec 2, "IP options").
const std::vector<uint8_t> kOptions{30, 4, 0xab, 0xcd, 158, 4, 0x12, 0x34};
const std::vector<uint8_t> kOptionsAfterFirst{1, 1, 1, 1, 158, 4, 0x12, 0x34};

// `frame` cut at kFragmentSize, each fragment with `options` in its header (the first with all
// of them, the others with what RFC 791 copies); none: as port::fragments_of cuts it.
std::vector<Tins::EthernetII> cut(const Tins::EthernetII& frame, bool options) {
  if (!options) return port::fragments_of(frame, kFragmentSize);
  std::vector<Tins::EthernetII> out;
  for (const auto& piece : port::fragments_of(frame, kFragmentSize - kOptions.size())) {
    auto bytes = with_options(Tins::EthernetII(piece).serialize(),
                              out.empty() ? kOptions : kOptionsAfterFirst);
    out.emplace_back(bytes.data(), uint32_t(bytes.size()));
  }
  return out;
}

// What rs1 must receive for `whole`: its fragments at kFragmentSize, in order.
std::vector<FrameExpectation> expected_pieces(MatrixBed& mb, const Tins::EthernetII& whole,
                                              bool options = false) {
  std::vector<FrameExpectation> out;
  bool first = true;
  for (const auto& piece : cut(at_rs1(mb, whole), options)) {
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

// Two fragments with DF, 756 and 752 bytes of IP, of a 1488-byte datagram: each fits every
// link, the whole datagram not the tunnel (+20). The reassembled datagram carries DF as its
// largest fragment did (spec 3, "Fragments"), so the tunnel's MTU test turns it back as it
// does a DF packet that came whole: fragmentation needed from the VIP, next-hop MTU 1480,
// quoting the datagram with DF and its TTL lowered (spec 2, TUN "PMTU").
void too_big_for_the_tunnel(MatrixBed& mb, Findings& f) {
  auto& bed = mb.bed();
  const std::string what = "fragments with DF of a datagram too big for the tunnel";
  const uint16_t cport = mb.next_client_port();
  auto whole = mb.udp_from_client(cport, std::string(1460, 'd'));
  auto& whole_ip = whole.rfind_pdu<Tins::IP>();
  whole_ip.flags(Tins::IP::DONT_FRAGMENT);
  whole_ip.id(cport);
  auto pieces = port::fragments_of(whole, 760);
  if (!f.require(pieces.size() == 2, what + ": the datagram did not cut in two")) return;
  for (auto& piece : pieces) {
    auto& ip = piece.rfind_pdu<Tins::IP>();
    ip.flags(Tins::IP::Flags(ip.flags() | Tins::IP::DONT_FRAGMENT));
  }
  send_in(mb, pieces, {0, 1});
  auto want = tunnel_frag_needed_at_client(mb, whole_ip);
  f.check(bed.checker().expect_frame(*bed.client().port, want, 2s),
          what + ": fragmentation needed to the client (the reassembled datagram keeps DF)");
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms),
          what + ": real servers (a datagram with DF is not cut to fit the tunnel)");
}

}  // namespace

void fragments(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return fragments6(mb, c, f);
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

  if (mb.mode() != Mode::Tun) {
    // TUN cuts the outer packet, whose header has no options; the others cut the datagram.
    const std::string what = "fragments with IP options";
    auto whole = datagram(mb, mb.next_client_port());
    auto pieces = cut(whole, true);
    if (!f.require(pieces.size() == 3, what + ": the datagram did not cut in three")) return;
    send_in(mb, pieces, {0, 1, 2});
    int n = 0;
    for (const auto& want : expected_pieces(mb, whole, true))
      f.check(
          bed.checker().expect_frame(rs1, want, 2s),
          fmt::format("{}: piece {} (options without the copy flag only in the first)", what, ++n));
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
  if (mb.mode() == Mode::Tun) too_big_for_the_tunnel(mb, f);
}

}  // namespace vslab::matrix::kinds
