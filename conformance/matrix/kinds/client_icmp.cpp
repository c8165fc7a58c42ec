// The client-icmp kind: an ICMP error from the client about a connection (its port
// unreachable about an answer that came from VIP:vport) reaches the connection's real server
// as its other packets do (spec 3, "ICMP errors about a connection"); one with a bad ICMP
// checksum is dropped.
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// NAT and FULLNAT: the error's destination and the quoted source become the connection's
// real server (ip_vs_nat_icmp); FULLNAT also puts its local address in for the client's, as its
// datagram to rs`rs` (`at_rs`) had it.
FrameExpectation translated(MatrixBed& mb, const Tins::EthernetII& error,
                            const Tins::EthernetII& at_rs, int rs) {
  auto& bed = mb.bed();
  FrameExpectation want(error);
  want.eth_src(bed.mac("director", "eth1"))
      .eth_dst(bed.rs(rs).mac)
      .ip_dst(bed.rs(rs).ip)
      .ttl(62)
      .expect_text(Field::QuotedIpSrc, bed.rs(rs).ip)
      .expect_text(Field::QuotedSrcPort, std::to_string(mb.rport()))
      .ignore(Field::Payload);
  if (mb.mode() == Mode::FullNat) {
    const auto& ip = at_rs.rfind_pdu<Tins::IP>();
    const auto lport = at_rs.rfind_pdu<Tins::UDP>().sport();
    want.ip_src(ip.src_addr().to_string())
        .expect_text(Field::QuotedIpDst, ip.src_addr().to_string())
        .expect_text(Field::QuotedDstPort, std::to_string(lport));
  }
  return want;
}

}  // namespace

void client_icmp(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return client_icmp6(mb, c, f);
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, kRoomy));
  uint16_t cport = mb.next_client_port();
  int rs = forwarded(mb, mb.udp_from_client(cport, "query"), f, "datagram to the real server");
  if (rs == 0) return;
  const port::CapturedFrame* got = last_claimed(mb, rs);
  if (!f.require(got != nullptr, "the forwarded datagram is gone")) return;
  Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
  // The answer as the client received it, VIP:vport -> CIP:cport, quoted whole.
  Tins::IP answer(bed.client().ip, bed.vip());
  answer.ttl(62);
  const auto answer_bytes =
      Tins::IP(answer / Tins::UDP(cport, mb.vport()) / Tins::RawPDU("answer")).serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  auto error = bed.from_client(unreachable /
                               Tins::RawPDU(answer_bytes.data(), uint32_t(answer_bytes.size())));
  const std::string bad_checksum = send_with_bad_icmp_checksum(*bed.client().port, error);
  bed.client().port->send(error);
  if (replies_pass_director(mb.mode())) {
    // NAT and FULLNAT translate it, and drop the one with the bad checksum (spec 3).
    f.check(bed.checker().expect_frame(*bed.rs(rs).port, translated(mb, error, at_rs, rs), 2s),
            "ICMP error to the real server");
    f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 20ms),
            "the same error with a bad ICMP checksum (to be dropped)");
    return;
  }
  // DR and TUN send it on as any packet of the connection (spec 3: DR rewrites the MACs, TUN
  // wraps it), and Linux 6.1 sends the one with the bad checksum on too, as it came
  // (docs/ipvs.md): it arrives first.
  auto as_sent = mb.at_real_server(error, rs);
  f.check(bed.checker().expect_frame(
              *bed.rs(rs).port,
              FrameExpectation(as_sent).expect_text(Field::L4Checksum, bad_checksum), 2s),
          "the error with a bad ICMP checksum, sent on as it came");
  f.check(bed.checker().expect_frame(*bed.rs(rs).port, as_sent, 2s),
          "ICMP error to the real server");
}

}  // namespace vslab::matrix::kinds
