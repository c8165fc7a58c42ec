// The ip-options kind: UDP datagrams to a service with each IPv4 option Linux acts on when a
// packet reaches it: record route, timestamp (full, and pre-specified for another host), router
// alert and an option it does not know. The director's stack handles the options on receipt,
// as for any packet to a local address (the VIP), before IPVS forwards the datagram: record
// route gets the VIP in its next slot, a full timestamp option its overflow count raised; the
// others pass untouched. The router before the director does the same as it forwards (its own
// address on the director's link in record route, one more overflow). The options go on in the
// header the real server receives, TUN's inner header included (spec 2, "IP options").
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

struct OptionCase {
  const char* what;
  std::vector<uint8_t> sent;      // a multiple of 4 bytes
  std::vector<uint8_t> received;  // as the director passes them on
};

std::vector<uint8_t> ipv4_bytes(const std::string& address) {
  const auto a = Tins::IPv4Address(address);
  const uint32_t host_order = Tins::Endian::be_to_host(uint32_t(a));
  return {uint8_t(host_order >> 24), uint8_t(host_order >> 16), uint8_t(host_order >> 8),
          uint8_t(host_order)};
}

// `first` and `second`: the addresses the two hosts on the way record, in their order.
std::vector<OptionCase> option_cases(const std::string& first, const std::string& second) {
  const uint8_t kNop = 1, kRecordRoute = 7, kTimestamp = 68, kRouterAlert = 148;
  // Type 30, not copied: RFC 4727's experiment number, which no stack knows.
  const uint8_t kUnknown = 30;
  std::vector<OptionCase> out;
  // Two empty slots, pointer at the first: the router fills one, the director the other.
  OptionCase rr{"record route", {kNop, kRecordRoute, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}, {}};
  rr.received = {kNop, kRecordRoute, 11, 12};
  for (const auto& address : {first, second})
    for (auto b : ipv4_bytes(address)) rr.received.push_back(b);
  out.push_back(rr);
  // Timestamps only, both slots used (pointer past the end), overflow 0: the router and the
  // director each count one.
  OptionCase full{"full timestamp", {kTimestamp, 12, 13, 0x00, 0, 0, 0, 1, 0, 0, 0, 2}, {}};
  full.received = full.sent;
  full.received[3] = 0x20;
  out.push_back(full);
  // Pre-specified addresses (flag 3) naming a host that is not the director: left alone.
  OptionCase prespec{"timestamp for another host", {kTimestamp, 12, 5, 0x03}, {}};
  for (auto b : ipv4_bytes("192.0.2.1")) prespec.sent.push_back(b);
  for (int i = 0; i < 4; ++i) prespec.sent.push_back(0);
  prespec.received = prespec.sent;
  out.push_back(prespec);
  out.push_back({"router alert", {kRouterAlert, 4, 0, 0}, {kRouterAlert, 4, 0, 0}});
  out.push_back({"unknown option", {kUnknown, 4, 0xab, 0xcd}, {kUnknown, 4, 0xab, 0xcd}});
  return out;
}

// The IPv4 gateway of the node with `role`, empty when it has none.
std::string gateway_of(MatrixBed& mb, const std::string& role) {
  for (const auto& route : mb.bed().topology().find_role(role)->routes)
    if (route.to == "default" && !route.is_v6 && route.via) return *route.via;
  return {};
}

}  // namespace

void ip_options(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, {100}));
  const std::string router = gateway_of(mb, "director");
  if (!f.require(!router.empty(), "the director has no IPv4 default route to name its router"))
    return;
  for (const auto& option : option_cases(router, bed.vip())) {
    const auto plain = mb.udp_from_client(mb.next_client_port(), "options");
    bed.client().port->send(with_options(Tins::EthernetII(plain).serialize(), option.sent));
    // The datagram as IPVS forwards it without options (spec 2), with the options as the
    // director's stack left them.
    const auto plain_want = mb.at_real_server(plain, 1);
    expect::FrameExpectation want(Tins::RawPDU(with_options(plain_want.bytes(), option.received)));
    // FULLNAT's lport is the director's choice, and the UDP checksum covers it.
    if (mb.mode() == Mode::FullNat)
      want.in_range(expect::Field::SrcPort, 1024, 65535).ignore(expect::Field::L4Checksum);
    f.check(bed.checker().expect_frame(*bed.rs(1).port, want, 2s), option.what);
  }
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
}

}  // namespace vslab::matrix::kinds

namespace vslab::matrix::kinds {

// The reply-options kind: the same options on a NAT real server's replies. The director
// forwards them: record route gets the address the director sends from, which after IPVS has
// put the VIP in as source is the VIP (ip_forward_options), a full timestamp its overflow
// raised on receipt; then the router records its own address on the client's link and counts
// one more overflow (spec 2, "IP options").
void reply_options(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, {100}));
  const std::string router = gateway_of(mb, "client");
  if (!f.require(!router.empty(), "the client has no IPv4 default route to name its router"))
    return;
  for (const auto& option : option_cases(bed.vip(), router)) {
    const std::string what = std::string("reply with ") + option.what;
    const uint16_t cport = mb.next_client_port();
    const int rs = forwarded(mb, mb.udp_from_client(cport, "query"), f, what + ": request");
    if (rs == 0) return;
    const port::CapturedFrame* got = last_claimed(mb, rs);
    if (!f.require(got != nullptr, what + ": the forwarded request is gone")) return;
    Tins::EthernetII at_rs(got->bytes.data(), uint32_t(got->bytes.size()));
    const auto& in_ip = at_rs.rfind_pdu<Tins::IP>();
    const auto& in_udp = at_rs.rfind_pdu<Tins::UDP>();
    Tins::IP ip(in_ip.src_addr(), in_ip.dst_addr());
    ip.ttl(64);
    Tins::EthernetII reply = Tins::EthernetII(at_rs.src_addr(), bed.rs(rs).mac) / ip /
                             Tins::UDP(in_udp.sport(), in_udp.dport()) / Tins::RawPDU("answer");
    bed.rs(rs).port->send(with_options(reply.serialize(), option.sent));
    // Spec 2, NAT: VIP:vport -> CIP:cport, one hop off the TTL at the director and the router.
    Tins::IP back_ip(bed.client().ip, bed.vip());
    back_ip.ttl(62);
    back_ip.id(ip.id());
    back_ip.flags(ip.flags());
    Tins::EthernetII back = Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / back_ip /
                            Tins::UDP(cport, mb.vport()) / Tins::RawPDU("answer");
    expect::FrameExpectation want(Tins::RawPDU(with_options(back.serialize(), option.received)));
    f.check(bed.checker().expect_frame(*bed.client().port, want, 2s), what);
  }
  mb.barrier();
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 10ms), "the client");
}

}  // namespace vslab::matrix::kinds
