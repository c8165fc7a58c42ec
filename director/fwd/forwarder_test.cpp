// The forwarders' own decisions, beyond the rewrites each method's test checks: what TUN sends
// (spec section 2 "TUN": a fresh non-zero outer ID, frag-needed at MTU - 20, no address no
// tunnel), when FULLNAT's TOA is due (the client's handshake ACK, once), which ICMP errors from
// the real servers' side each method relays (spec section 3) and where they go.
#include "fwd/forwarder.h"

#include <gtest/gtest.h>

#include <vector>

#include "fwd/dr.h"
#include "fwd/fullnat.h"
#include "fwd/nat.h"
#include "fwd/test_frames.h"
#include "fwd/tun.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const ConnView kConn{{ip(kCip), 40000}, {ip(kVip), 80}, {ip(kLip), 5001}, {ip(kRip), 8080}, true};

Link link_to_real_server(uint32_t mtu = 1500) {
  return {{mac(kDirectorIntMac), mac(kRsMac)}, mtu, ip(kDip)};
}

Bytes client_tcp(uint16_t flags, std::size_t payload = 10, bool dont_fragment = false) {
  Tins::IP header = ipv4(kCip, kVip);
  header.flags(dont_fragment ? Tins::IP::DONT_FRAGMENT : Tins::IP::Flags(0));
  auto frame = ethernet(kClientMac, kDirectorExtMac) / header / tcp(40000, 80, flags) /
               Tins::RawPDU(payload_bytes(payload));
  return serialize(frame);
}

struct Bench {
  Bytes scratch = Bytes(4000);
  uint16_t next_ip_id = 0;
  Workspace workspace{span_of(scratch), next_ip_id};
};

TEST(TunForwarder, WrapsIntoTheWorkspaceWithAFreshNonZeroId) {
  Bench bench;  // the counter at 0: the ID after it is taken
  Bytes frame = client_tcp(Tins::TCP::ACK);
  Sent sent =
      kTunIpv4.in(span_of(frame), view_of(frame), kConn, link_to_real_server(), bench.workspace);
  ASSERT_EQ(sent.what, Xmit::Scratch);
  EXPECT_EQ(sent.length, frame.size() + 20);
  EXPECT_EQ(be16(bench.scratch, 14 + 4), 1);
  EXPECT_EQ(bench.next_ip_id, 2);
}

TEST(TunForwarder, ATooBigDfPacketIsAnsweredWithTheTunnelsMtu) {
  Bench bench;
  Bytes frame = client_tcp(Tins::TCP::ACK, 1500 - 40, /*dont_fragment=*/true);
  Sent sent =
      kTunIpv4.in(span_of(frame), view_of(frame), kConn, link_to_real_server(), bench.workspace);
  EXPECT_EQ(sent.what, Xmit::FragNeeded);
  EXPECT_EQ(sent.mtu, 1480);
}

TEST(TunForwarder, APortWithoutAnAddressHasNoRouteAndTakesNoId) {
  Bench bench;
  Link link = link_to_real_server();
  link.address.reset();
  Bytes frame = client_tcp(Tins::TCP::ACK);
  EXPECT_EQ(kTunIpv4.in(span_of(frame), view_of(frame), kConn, link, bench.workspace).what,
            Xmit::NoRoute);
  EXPECT_EQ(bench.next_ip_id, 0);
}

TEST(FullnatForwarder, TheHandshakeAckCarriesToaOnce) {
  Bench bench;
  Bytes syn = client_tcp(Tins::TCP::SYN, 0);
  Sent on_syn =
      kFullNatIpv4.in(span_of(syn), view_of(syn), kConn, link_to_real_server(), bench.workspace);
  EXPECT_EQ(on_syn.what, Xmit::Frame);
  EXPECT_FALSE(on_syn.toa_sent);

  Bytes ack = client_tcp(Tins::TCP::ACK, 0);
  Sent on_ack =
      kFullNatIpv4.in(span_of(ack), view_of(ack), kConn, link_to_real_server(), bench.workspace);
  EXPECT_EQ(on_ack.what, Xmit::Scratch);
  EXPECT_EQ(on_ack.length, ack.size() + 8);  // TOA: kind, length, port, address
  EXPECT_TRUE(on_ack.toa_sent);

  ConnView sent_already = kConn;
  sent_already.toa_pending = false;
  Bytes next = client_tcp(Tins::TCP::ACK, 0);
  Sent later = kFullNatIpv4.in(span_of(next), view_of(next), sent_already, link_to_real_server(),
                               bench.workspace);
  EXPECT_EQ(later.what, Xmit::Frame);
  EXPECT_FALSE(later.toa_sent);
}

TEST(Forwarders, RelayErrorsFromTheRealServersSideAsTheSpecSays) {
  // DR: the real server answers the client itself, the director relays nothing.
  EXPECT_EQ(kDrIpv4.server_errors, ServerErrors::None);
  EXPECT_EQ(kNatIpv4.server_errors, ServerErrors::Quoting);
  EXPECT_EQ(kFullNatIpv4.server_errors, ServerErrors::Quoting);
  EXPECT_EQ(kTunIpv4.server_errors, ServerErrors::Tunnelling);

  // NAT: to where the error was sent; FULLNAT (sent to the LIP) and TUN: to the client.
  PacketView error;
  error.dst = ip("10.0.0.77");
  EXPECT_EQ(kNatIpv4.server_error_to(error, kConn), ip("10.0.0.77"));
  EXPECT_EQ(kFullNatIpv4.server_error_to(error, kConn), ip(kCip));
  EXPECT_EQ(kTunIpv4.server_error_to(error, kConn), ip(kCip));
}

// A router's frag-needed about the IPIP packet (DIP -> RIP around the client's datagram),
// reporting `mtu`: what TUN's forwarder makes of it for the client.
Sent tunnel_frag_needed(Bench& bench, uint16_t mtu, bool client_df) {
  Bytes tunnelled = client_tcp(Tins::TCP::ACK, 10, client_df);
  Bytes wrapped(200);
  TunResult wrap =
      tun_encapsulate(span_of(tunnelled), view_of(tunnelled),
                      {ip(kDip), ip(kRip), 1500, 7, {mac(kRsMac), mac(kRsMac)}}, span_of(wrapped));
  EXPECT_EQ(wrap.verdict, TunVerdict::Ok);
  wrapped.resize(wrap.length);
  Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
  icmp.code(4);
  icmp.mtu(mtu);
  const Bytes quoted(wrapped.begin() + 14, wrapped.end());
  auto error_frame =
      ethernet(kRsMac, kDirectorIntMac) / ipv4("192.168.1.254", kDip) / icmp / Tins::RawPDU(quoted);
  Bytes error = serialize(error_frame);
  PacketView packet = view_of(error);
  auto inner = parse_quoted(span_of(error), packet.quoted.l4, packet.l3_end());
  EXPECT_TRUE(inner.has_value());
  if (!inner) return {};
  return kTunIpv4.server_error(span_of(error), packet, *inner, kConn, link_to_real_server(),
                               bench.workspace);
}

TEST(TunForwarder, FragNeededAboutTheTunnelReachesOnlyAClientThatSetDf) {
  Bench bench;
  // ip_vs_in_icmp: the MTU less the tunnel's 20 bytes, from the VIP.
  Sent told = tunnel_frag_needed(bench, 1400, true);
  ASSERT_EQ(told.what, Xmit::Scratch);
  auto at_client = parse(Bytes(bench.scratch.begin(), bench.scratch.begin() + told.length));
  EXPECT_EQ(at_client.rfind_pdu<Tins::IP>().src_addr().to_string(), kVip);
  EXPECT_EQ(at_client.rfind_pdu<Tins::IP>().dst_addr().to_string(), kCip);
  EXPECT_EQ(at_client.rfind_pdu<Tins::ICMP>().mtu(), 1380);
  // No more than 68 and the tunnel's 20: passed on as the router gave it.
  Sent tiny = tunnel_frag_needed(bench, 80, true);
  ASSERT_EQ(tiny.what, Xmit::Scratch);
  auto tiny_at_client = parse(Bytes(bench.scratch.begin(), bench.scratch.begin() + tiny.length));
  EXPECT_EQ(tiny_at_client.rfind_pdu<Tins::ICMP>().mtu(), 80);
  // Without DF the client does no PMTU discovery: it is told nothing.
  EXPECT_EQ(tunnel_frag_needed(bench, 1400, false).what, Xmit::Nothing);
}

// Every entry point a packet may reach is there: a forwarder that relays errors from the real
// server's side says where to and how.
TEST(Forwarders, EveryEntryPointAPacketMayReachIsThere) {
  for (const Forwarder* f : {&kNatIpv4, &kDrIpv4, &kTunIpv4, &kFullNatIpv4}) {
    const bool relays = f->server_errors != ServerErrors::None;
    EXPECT_NE(f->in, nullptr);
    EXPECT_NE(f->out, nullptr);
    EXPECT_NE(f->icmp_in, nullptr);
    EXPECT_EQ(relays, f->server_error_to != nullptr);
    EXPECT_EQ(relays, f->server_error != nullptr);
  }
}

TEST(Forwarders, OnlyFullnatNeedsALocalEnd) {
  EXPECT_TRUE(kFullNatIpv4.needs_local_end);
  EXPECT_FALSE(kNatIpv4.needs_local_end);
  EXPECT_FALSE(kDrIpv4.needs_local_end);
  EXPECT_FALSE(kTunIpv4.needs_local_end);
}

}  // namespace
}  // namespace vsd::fwd
