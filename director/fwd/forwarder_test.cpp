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
