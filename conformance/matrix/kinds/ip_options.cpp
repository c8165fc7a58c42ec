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

// `router`: the router's address towards the director, which it records as it forwards.
std::vector<OptionCase> option_cases(const std::string& vip, const std::string& router) {
  const uint8_t kNop = 1, kRecordRoute = 7, kTimestamp = 68, kRouterAlert = 148;
  // Type 30, not copied: RFC 4727's experiment number, which no stack knows.
  const uint8_t kUnknown = 30;
  std::vector<OptionCase> out;
  // Two empty slots, pointer at the first: the router fills one, the director the other.
  OptionCase rr{"record route", {kNop, kRecordRoute, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}, {}};
  rr.received = {kNop, kRecordRoute, 11, 12};
  for (const auto& address : {router, vip})
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

}  // namespace

void ip_options(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Udp, c.scheduler, {100}));
  std::string router;
  for (const auto& route : bed.topology().find_role("director")->routes)
    if (route.to == "default" && !route.is_v6 && route.via) router = *route.via;
  if (!f.require(!router.empty(), "the director has no IPv4 default route to name its router"))
    return;
  for (const auto& option : option_cases(bed.vip(), router)) {
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
