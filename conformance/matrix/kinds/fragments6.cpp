// The fragments kind over IPv6 (udp6): IPVS sees only whole datagrams here too, as nf_defrag_ipv6
// gathers the fragments before it (docs/ipvs.md, "IPv6 fragments and extension headers"). A
// datagram sent in fragments of 1280 bytes, in order or not, reaches the real server cut again at
// its largest fragment (at least IPv6's 1280) behind a fragment header whose identification is
// the director's own; an overlap throws the whole datagram away (RFC 5722). A packet with
// hop-by-hop, destination options and a routing header with no segments left is forwarded with
// them, its UDP header found behind them. TUN wraps the whole datagram and cuts the outer packet.
#include <fmt/format.h>

#include "frames/frame_builder.h"
#include "matrix/kinds/steps.h"
#include "port/fragments.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// 2000 bytes of data: 2008 of UDP cut at 1280 bytes of IP makes 1232 + 776. 1280 is both the
// client's size and the least ip6_fragment cuts at, so the director's cut repeats the client's.
constexpr std::size_t kData = 2000, kFragmentSize = 1280;

// Each datagram's identification is its client port, unique in the bed: no datagram meets
// another's leftover fragments, which the director keeps for 60 s.
Tins::EthernetII datagram6(MatrixBed& mb, uint16_t cport) {
  return mb.udp6_from_client(cport, std::string(kData, char('a' + cport % 26)));
}

// The whole datagram as rs1 receives it before the director cuts it again; for TUN the
// ip6ip6 packet around it (from the director's address or the VIP, as at_real_server6 allows).
Tins::EthernetII at_rs1(MatrixBed& mb, const Tins::EthernetII& whole, const std::string& tun_src) {
  auto& bed = mb.bed();
  Tins::EthernetII out = whole;
  auto& ip = out.rfind_pdu<Tins::IPv6>();
  ip.hop_limit(62);
  out.dst_addr(bed.rs(1).mac);
  switch (mb.mode()) {
    case Mode::Nat:
      out.src_addr(bed.mac("director", "eth1"));
      ip.dst_addr(mb.ipv6_of("rs1"));
      out.rfind_pdu<Tins::UDP>().dport(mb.rport());
      return out;
    case Mode::FullNat:
      out.src_addr(bed.mac("director", "eth1"));
      ip.src_addr(mb.lip6());
      ip.dst_addr(mb.ipv6_of("rs1"));
      out.rfind_pdu<Tins::UDP>().dport(mb.rport());
      return out;
    case Mode::Dr:
      out.src_addr(bed.mac("director", "eth0"));
      return out;
    case Mode::Tun:
      break;
  }
  Tins::IPv6 outer(mb.ipv6_of("rs1"), tun_src);
  outer.hop_limit(61);
  outer.traffic_class(ip.traffic_class());
  return Tins::EthernetII(bed.rs(1).mac, bed.mac("router", "eth2")) / outer / ip;
}

// What rs1 must receive for `whole`: the datagram (TUN: the outer packet) cut at 1280, in order.
std::vector<FrameExpectation> expected_pieces(MatrixBed& mb, const Tins::EthernetII& whole) {
  std::vector<FrameExpectation> out;
  const auto tun_sources = std::vector<std::string>{mb.ipv6_of("director"), mb.vip6()};
  bool first = true;
  for (const auto& piece :
       port::fragments6_of(at_rs1(mb, whole, tun_sources.front()), kFragmentSize, 0)) {
    FrameExpectation want(piece);
    // ip6_fragment picks the identification (ipv6_select_ident).
    want.ignore(Field::IpId);
    if (mb.mode() == Mode::Tun) want.any_of(Field::IpSrc, tun_sources);
    // FULLNAT's lport is the director's to choose, and the UDP checksum covers it.
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

// The sent frame with hop-by-hop options, destination options (each one PadN) and a routing
// header of type 0 with no segments left between the fixed header and UDP. libtins would write
// the chain's next headers wrong, so the headers go in as raw bytes behind the fixed header.
Tins::EthernetII with_extension_headers(const Tins::EthernetII& frame) {
  const auto bytes = Tins::EthernetII(frame).serialize();
  const auto& ip = frame.rfind_pdu<Tins::IPv6>();
  const uint8_t upper = bytes.at(14 + 6);
  std::vector<uint8_t> body{60,    0, 1, 4, 0, 0, 0, 0,   // hop-by-hop, then destination options
                            43,    0, 1, 4, 0, 0, 0, 0,   // destination options, then routing
                            upper, 0, 0, 0, 0, 0, 0, 0};  // routing: type 0, segments left 0
  body.insert(body.end(), bytes.begin() + 14 + 40, bytes.end());
  Tins::IPv6 header(ip.dst_addr(), ip.src_addr());
  header.hop_limit(ip.hop_limit());
  header.next_header(0);
  return Tins::EthernetII(frame.dst_addr(), frame.src_addr()) / header /
         Tins::RawPDU(body.data(), uint32_t(body.size()));
}

}  // namespace

void fragments6(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, {100}, "", "", Family::Ipv6));
  auto& rs1 = *bed.rs(1).port;

  for (const bool in_order : {true, false}) {
    const std::string what = in_order ? "fragments in order" : "fragments out of order";
    const uint16_t cport = mb.next_client_port();
    auto whole = datagram6(mb, cport);
    auto pieces = port::fragments6_of(whole, kFragmentSize, cport);
    if (!f.require(pieces.size() == 2, what + ": the datagram did not cut in two")) return;
    send_in(mb, pieces, in_order ? std::vector<std::size_t>{0, 1} : std::vector<std::size_t>{1, 0});
    int n = 0;
    for (const auto& want : expected_pieces(mb, whole))
      f.check(bed.checker().expect_frame(rs1, want, 2s), fmt::format("{}: piece {}", what, ++n));
  }

  {
    const std::string what = "extension headers: to the real server, the headers kept";
    const auto plain = mb.udp6_from_client(mb.next_client_port(), "query");
    const auto sent = with_extension_headers(plain);
    if (mb.mode() == Mode::Dr || mb.mode() == Mode::Tun) {
      forwarded(mb, sent, f, what);
    } else {
      // NAT and FULLNAT rewrite the UDP header behind the chain: the packet rs1 gets is the
      // plain one's rewrite with the same headers spliced in (the pseudo-header leaves them out).
      FrameExpectation want(with_extension_headers(at_rs1(mb, plain, "")));
      if (mb.mode() == Mode::FullNat)
        want.in_range(Field::SrcPort, 1024, 65535).ignore(Field::L4Checksum);
      forwarded_as(
          mb, sent, [&](int) { return want; }, f, what);
    }
  }

  // A last fragment from inside the first (1152..2008 against 0..1232): RFC 5722, the datagram
  // is thrown away; the real second fragment after it starts one that never completes.
  const uint16_t cport = mb.next_client_port();
  auto whole = datagram6(mb, cport);
  auto pieces = port::fragments6_of(whole, kFragmentSize, cport);
  auto other_cut = port::fragments6_of(whole, 40 + 8 + 1152, cport);
  if (!f.require(pieces.size() == 2 && other_cut.size() == 2,
                 "overlapping fragments: the datagram did not cut as planned"))
    return;
  bed.client().port->send(pieces[0]);
  bed.client().port->send(other_cut[1]);
  bed.client().port->send(pieces[1]);
  mb.barrier(Family::Ipv6);
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms),
          "overlapping fragments: real servers");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms),
          "overlapping fragments: client");
}

}  // namespace vslab::matrix::kinds
