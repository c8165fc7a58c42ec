// The rewrite kind: a client's first packet reaches a real server rewritten as the mode does
// (spec 2), the reply comes back from the VIP where the director sees it, and an echo to the
// VIP is the director's to answer (spec 3).
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

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

}  // namespace

void rewrite(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  if (c.proto == Proto::Icmp) {
    // Spec 3: echo to a VIP is the director's to answer, from the VIP (TTL 64, one hop).
    bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy));
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
  const bool tcp = c.proto == Proto::Tcp;
  bed.restore(mb.rules(c.proto, c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  auto sent = tcp ? mb.tcp_from_client(Tins::TCP::SYN, cport) : mb.udp_from_client(cport, "query");
  int rs = forwarded(mb, sent, f, "to the real server");
  if (rs == 0) return;
  if (replies_pass_director(mb.mode())) reply_comes_back(mb, rs, sent, tcp, f);
}

}  // namespace vslab::matrix::kinds
