// One received frame through every per-packet function of director/fwd/ that may meet it, with
// the preconditions the data plane gives each (vsd/dataplane.cpp): classify() and the
// look-ahead's peek_ipv4(); ARP; every builder of the frames the director originates; the
// forwarders of fwd/forwarder.h (in, out, an ICMP error from either side) of every method;
// TOA; fragmentation. Besides memory errors (ASan) and undefined behaviour (UBSan), it checks
// what the data plane relies on: a frame a forwarder rewrote or built, and every reply, is a
// frame classify() accepts, and a transport checksum that verified before a rewrite verifies
// after it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "check.h"
#include "fwd/checksum.h"
#include "fwd/dr.h"
#include "fwd/forwarder.h"
#include "fwd/fragment.h"
#include "fwd/fullnat.h"
#include "fwd/nat.h"
#include "fwd/packet.h"
#include "fwd/reply.h"
#include "fwd/toa.h"
#include "fwd/tun.h"
#include "fwd/wire.h"

namespace {

using namespace vsd;
using namespace vsd::fwd;

const Mac kOwnMac{{0x02, 0, 0, 0, 0, 0xfe}};
const Mac kNextHopMac{{0x02, 0, 0, 0, 0, 0x0b}};
const Ipv4 kLinkAddress = Ipv4::from_host(0xc0a80101);  // 192.168.1.1
const Endpoint kRealServer{Ipv4::from_host(0xc0a8010b), 8080};
const Endpoint kLocal{Ipv4::from_host(0xc0a80102), 40000};
const Endpoint kVirtual{Ipv4::from_host(0x0a000064), 80};

struct Method {
  const char* name;
  const Forwarder& forwarder;
};
const std::array<Method, 4> kMethods = {
    {{"nat", kNatIpv4}, {"dr", kDrIpv4}, {"tun", kTunIpv4}, {"fullnat", kFullNatIpv4}}};

std::array<uint8_t, 65536 + 128> g_scratch;

// The transport checksum of a classified whole datagram verifies (false when it has none to
// verify: a UDP checksum of 0, a fragment, another protocol).
bool transport_checksum_ok(std::span<const uint8_t> frame, const PacketView& p) {
  if (!p.has_l4) return false;
  auto segment = frame.subspan(p.l4, p.l4_len());
  if (p.is_tcp())
    return checksum_verifies(segment,
                             pseudo_header_sum(p.src, p.dst, p.protocol, uint16_t(segment.size())));
  if (p.is_udp()) {
    if (load_be16(frame, p.l4 + wire::udp::kChecksum) == 0) return false;
    return checksum_verifies(segment,
                             pseudo_header_sum(p.src, p.dst, p.protocol, uint16_t(segment.size())));
  }
  if (p.is_icmp()) return icmp_checksum_ok(frame, p);
  return false;
}

// A frame vsd sends: classify() accepts it.
Classified expect_sendable(std::span<const uint8_t> frame, const char* what) {
  auto c = classify(frame);
  VSLAB_FUZZ_CHECK(c.verdict == Verdict::Ipv4, what);
  return c;
}

// What a forwarder said to send, checked; `checksum_was_ok`: the received frame's transport
// checksum verified.
void check_sent(Sent sent, std::span<uint8_t> frame, bool checksum_was_ok, const char* what) {
  switch (sent.what) {
    case Xmit::Frame: {
      auto c = expect_sendable(frame, what);
      if (checksum_was_ok && !c.packet.is_fragment())
        VSLAB_FUZZ_CHECK(transport_checksum_ok(frame, c.packet), what);
      break;
    }
    case Xmit::Scratch:
      VSLAB_FUZZ_CHECK(sent.length <= g_scratch.size(), what);
      expect_sendable(std::span(g_scratch.data(), sent.length), what);
      break;
    default:
      break;
  }
}

Link link_of(uint32_t mtu) {
  return {{kOwnMac, kNextHopMac}, mtu, kLinkAddress};
}

// The forwarders' per-packet entry points, each on its own copy of the frame.
void forward(std::span<const uint8_t> received, const PacketView& p, uint32_t mtu) {
  const bool checksum_ok = transport_checksum_ok(received, p);
  const Link link = link_of(mtu);
  uint16_t ip_id = 1;
  Workspace ws{g_scratch, ip_id};
  for (const auto& method : kMethods) {
    const Forwarder& f = method.forwarder;
    // Client -> real server: the packet is CIP:cport -> VIP:vport.
    ConnView in{{p.src, p.sport}, {p.dst, p.dport}, kLocal, kRealServer, true};
    std::vector<uint8_t> copy(received.begin(), received.end());
    check_sent(f.in(copy, p, in, link, ws), copy, checksum_ok, method.name);
    // The real server's reply: RIP:rport -> CIP:cport (FULLNAT: -> LIP:lport).
    ConnView out{{p.dst, p.dport}, kVirtual, {p.dst, p.dport}, {p.src, p.sport}, false};
    copy.assign(received.begin(), received.end());
    check_sent(f.out(copy, p, out, link, ws), copy, checksum_ok, method.name);
  }
}

// An ICMP error that passed the data plane's checks (a quote, the checksum), relayed as each
// method relays the errors of either side.
void relay_icmp_error(std::span<const uint8_t> received, const PacketView& p, uint32_t mtu) {
  const Link link = link_of(mtu);
  uint16_t ip_id = 1;
  Workspace ws{g_scratch, ip_id};
  const QuotedPacket& q = p.quoted;
  for (const auto& method : kMethods) {
    const Forwarder& f = method.forwarder;
    std::vector<uint8_t> copy(received.begin(), received.end());
    if (q.has_ports) {
      // From the client's side, quoting a reply VIP:vport -> CIP:cport.
      ConnView reply{{q.dst, q.dport}, {q.src, q.sport}, kLocal, kRealServer, false};
      if (!p.ttl_expires())
        check_sent(f.icmp_in(copy, p, reply, link, ws), copy, true, method.name);
      // From the real server's side, quoting CIP:cport -> RIP:rport (FULLNAT: LIP:lport).
      if (f.server_errors == ServerErrors::Quoting) {
        ConnView sent{{q.src, q.sport}, kVirtual, {q.src, q.sport}, {q.dst, q.dport}, false};
        copy.assign(received.begin(), received.end());
        f.server_error_to(p, sent);
        check_sent(f.server_error(copy, p, q, sent, link, ws), copy, true, method.name);
      }
    }
    if (q.protocol == wire::ip::kProtoIpip && f.server_errors == ServerErrors::Tunnelling) {
      auto inner = parse_quoted(received, q.l4, p.l3_end());
      if (!inner || !inner->has_ports) continue;
      ConnView tunnelled{{inner->src, inner->sport},
                         {inner->dst, inner->dport},
                         kLocal,
                         {q.dst, inner->dport},
                         false};
      copy.assign(received.begin(), received.end());
      f.server_error_to(p, tunnelled);
      check_sent(f.server_error(copy, p, *inner, tunnelled, link, ws), copy, true, method.name);
    }
  }
}

// The frames the director answers with, each a frame classify() accepts.
void answer(std::span<const uint8_t> frame, const PacketView& p) {
  const Responder me{kOwnMac, 7};
  auto sendable = [&](std::size_t n, const char* what) {
    VSLAB_FUZZ_CHECK(n <= g_scratch.size(), what);
    if (n) expect_sendable(std::span(g_scratch.data(), n), what);
  };
  sendable(build_tcp_reset(g_scratch, frame, p, me), "tcp reset");
  if (p.is_icmp() && icmp_checksum_ok(frame, p))
    sendable(build_echo_reply(g_scratch, frame, p, me), "echo reply");
  if (may_send_icmp_error(frame, p)) {
    sendable(build_time_exceeded(g_scratch, frame, p, kVirtual.addr, me), "time exceeded");
    sendable(build_port_unreachable(g_scratch, frame, p, kVirtual.addr, me), "port unreachable");
    sendable(build_frag_needed(g_scratch, frame, p, kVirtual.addr, 1280, me), "frag needed");
    IcmpError error{wire::icmp::kTimeExceeded, wire::icmp::kCodeFragmentReassemblyTime, 0, false};
    sendable(build_icmp_error(g_scratch, frame, p, error, kVirtual.addr, me), "icmp error");
  }
}

void add_toa_to(std::span<const uint8_t> frame, const PacketView& p, uint32_t mtu) {
  if (!p.is_tcp() || !p.has_l4) return;
  std::size_t n = add_toa(frame, p, {p.src, p.sport}, mtu, g_scratch);
  VSLAB_FUZZ_CHECK(n <= g_scratch.size(), "toa");
  if (n) expect_sendable(std::span(g_scratch.data(), n), "toa");
}

// Cut at a size derived from the frame, every piece a frame classify() accepts.
void fragment(std::span<const uint8_t> frame, const PacketView& p) {
  static std::vector<uint8_t> memory(48 * 2048);
  std::array<FragmentBuffer, 48> outs;
  for (std::size_t i = 0; i < outs.size(); ++i)
    outs[i] = {std::span(memory).subspan(i * 2048, 2048), 0};
  const uint16_t size = uint16_t(68 + (p.ip_id % 1500));
  std::size_t n = fragment_ipv4(frame, size, outs);
  VSLAB_FUZZ_CHECK(n <= outs.size(), "fragment count");
  for (std::size_t i = 0; i < n; ++i) {
    VSLAB_FUZZ_CHECK(outs[i].length <= outs[i].buffer.size(), "fragment length");
    expect_sendable(outs[i].buffer.first(outs[i].length), "fragment");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // A copy of exactly the frame's size, so that a read past its end is a heap overflow.
  std::vector<uint8_t> frame(data, data + size);
  peek_ipv4(frame);
  const auto c = classify(frame);
  if (c.verdict == Verdict::Arp) {
    if (auto arp = parse_arp(frame)) {
      std::size_t n = build_arp_reply(g_scratch, *arp, kOwnMac);
      VSLAB_FUZZ_CHECK(n <= g_scratch.size(), "arp reply");
      build_arp_request(g_scratch, kOwnMac, kLinkAddress, arp->sender_ip);
    }
    return 0;
  }
  if (c.verdict != Verdict::Ipv4) return 0;
  const PacketView& p = c.packet;
  VSLAB_FUZZ_CHECK(p.l3_end() <= frame.size() && p.l4 <= p.l3_end(), "view inside the frame");
  record_route_offset(frame, p);
  answer(frame, p);
  fragment(frame, p);
  if (p.is_fragment()) return 0;  // the data plane reassembles first (reassembly_fuzz)
  // The egress MTU: the usual one, and one the frame may well not fit.
  for (uint32_t mtu : {1500u, 576u}) {
    if (p.has_ports()) forward(frame, p, mtu);
    if (p.is_icmp() && p.is_icmp_error && p.has_quote && icmp_checksum_ok(frame, p))
      relay_icmp_error(frame, p, mtu);
    add_toa_to(frame, p, mtu);
  }
  return 0;
}
