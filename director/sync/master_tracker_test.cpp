// The master's send rules against the kernel's (ip_vs_sync_conn_needed with the default
// sysctls, worked through by hand): which client packet of a connection is sent, and what.
#include "sync/master_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vsd::sync {
namespace {

Ipv4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Ipv4::from_octets(a, b, c, d);
}

const Endpoint kClient{ip(10, 0, 0, 2), 40000};
const Endpoint kVip{ip(10, 20, 0, 100), 80};
const Endpoint kRs{ip(10, 30, 0, 11), 8080};

struct Bed {
  ConnTable table{ConnTableConfig{1024, 16, 0, 5, false}};
  MasterTracker tracker{1024};
  std::vector<SyncConn> out;
  uint64_t now = 1'000'000;

  Conn* add(Proto proto, Method method, Conn* tmpl = nullptr, bool one_packet = false) {
    NewConn nc{proto, kClient, kVip, kRs, {}, method, 0, one_packet};
    Conn* c = table.insert(nc, now, tmpl);
    tracker.on_new(table.slot_of(*c));
    return c;
  }
  // One client packet; how many entries it had sent.
  std::size_t client(Conn& c, uint8_t flags = tcp_flag::kAck) {
    table.on_packet(c, PacketFrom::Client, flags, now);
    const std::size_t before = out.size();
    tracker.on_client_packet(table, c, 0, out);
    return out.size() - before;
  }
};

TEST(MasterTracker, TcpIsSentAtTheThirdClientPacketThenEveryFifty) {
  Bed b;
  Conn* c = b.add(Proto::Tcp, Method::Nat);
  EXPECT_EQ(b.client(*c, tcp_flag::kSyn), 0u);  // SYN_RECV: never sent
  b.table.on_packet(*c, PacketFrom::Server, tcp_flag::kSyn | tcp_flag::kAck, b.now);
  EXPECT_EQ(b.client(*c), 0u);  // ESTABLISHED at packet 2: a change, but not forced
  EXPECT_EQ(b.client(*c), 1u);  // packet 3: 3 % 50 == 3
  ASSERT_EQ(b.out.size(), 1u);
  EXPECT_EQ(b.out[0].state, 1);  // ESTABLISHED
  EXPECT_EQ(b.out[0].timeout_s, 900u);
  EXPECT_EQ(b.out[0].flags, conn_flag::kMasq);  // active, replies through the director
  EXPECT_EQ(b.out[0].cport, 40000);
  EXPECT_EQ(b.out[0].vport, 80);
  EXPECT_EQ(b.out[0].dport, 8080);
  EXPECT_EQ(b.out[0].daddr.as_v4(), kRs.addr);
  for (int pkt = 4; pkt < 53; ++pkt) EXPECT_EQ(b.client(*c), 0u) << pkt;
  EXPECT_EQ(b.client(*c), 1u);  // 53
  // The client's FIN (the input table: ESTABLISHED -> CLOSE_WAIT) is a change to a state
  // other than ESTABLISHED: sent at once.
  EXPECT_EQ(b.client(*c, tcp_flag::kFin | tcp_flag::kAck), 1u);
  EXPECT_EQ(b.out.back().state, uint16_t(TcpState::CloseWait));
  EXPECT_EQ(b.out.back().flags, conn_flag::kMasq | conn_flag::kInactive);
  EXPECT_EQ(b.out.back().timeout_s, 60u);
  // The same state again: not forced, and packet 55 is not 3 modulo 50.
  EXPECT_EQ(b.client(*c), 0u);
}

TEST(MasterTracker, UdpAndDirectRouting) {
  Bed b;
  Conn* c = b.add(Proto::Udp, Method::Dr);
  EXPECT_EQ(b.client(*c), 0u);
  EXPECT_EQ(b.client(*c), 0u);
  EXPECT_EQ(b.client(*c), 1u);
  EXPECT_EQ(b.out[0].protocol, 17);
  EXPECT_EQ(b.out[0].state, 0);
  EXPECT_EQ(b.out[0].timeout_s, 300u);
  EXPECT_EQ(b.out[0].flags, conn_flag::kDroute | conn_flag::kNoOutput | conn_flag::kInactive);
}

TEST(MasterTracker, OnePacketConnectionsAreNeverSent) {
  Bed b;
  Conn* c = b.add(Proto::Udp, Method::Nat, nullptr, /*one_packet=*/true);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.client(*c), 0u);
}

TEST(MasterTracker, ATemplateIsSentAtEveryClientPacketOfItsConnections) {
  Bed b;
  Conn* t = b.table.insert_template(
      {TemplateKey::for_service(Proto::Tcp, kClient.addr, Ipv4::from_host(0xffffff00), kVip), kRs,
       Method::Tun, 0, 360},
      b.now);
  b.tracker.on_new(b.table.slot_of(*t));
  Conn* c = b.add(Proto::Tcp, Method::Tun, t);
  EXPECT_EQ(b.client(*c, tcp_flag::kSyn), 1u);  // the template only
  ASSERT_EQ(b.out.size(), 1u);
  const SyncConn& s = b.out[0];
  EXPECT_EQ(s.flags, conn_flag::kTemplate | conn_flag::kTunnel | conn_flag::kInactive |
                         conn_flag::kNoOutput);
  EXPECT_EQ(s.state, kTemplateNone);
  EXPECT_EQ(s.cport, 0);
  EXPECT_EQ(s.caddr.as_v4(), ip(10, 0, 0, 0));
  EXPECT_EQ(s.timeout_s, 360u);
  EXPECT_EQ(b.client(*c), 1u);  // ESTABLISHED at packet 2 (DR/TUN: the client's ACK)
  EXPECT_EQ(b.out.back().state, kTemplateAssured);
  EXPECT_EQ(b.client(*c), 2u);  // packet 3: the connection, then its template
  EXPECT_EQ(b.out[b.out.size() - 2].flags & conn_flag::kTemplate, 0u);
}

TEST(MasterTracker, FullNatIsNotSent) {
  Bed b;
  Conn* c = b.add(Proto::Udp, Method::FullNat);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.client(*c), 0u);
}

// ip_vs_sync_conn sends a SIP template's engine name and Call-ID; other entries carry none.
TEST(MasterTracker, ASipTemplateCarriesItsCallId) {
  Bed b;
  NewTemplate t;
  t.key = TemplateKey::for_service(Proto::Udp, kClient.addr, ip(255, 255, 255, 255), kVip);
  t.key.pe_data = "call@host";
  t.destination = kRs;
  t.method = Method::Nat;
  t.timeout_s = 60;
  Conn* tmpl = b.table.insert_template(t, b.now);
  ASSERT_NE(tmpl, nullptr);
  auto s = to_sync_conn(b.table, *tmpl, 0);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->pe_name, "sip");
  EXPECT_EQ(std::string(s->pe_data.begin(), s->pe_data.end()), "call@host");
  auto c = to_sync_conn(b.table, *b.add(Proto::Udp, Method::Nat, tmpl), 0);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->pe_name.empty());
  EXPECT_TRUE(c->pe_data.empty());
}

}  // namespace
}  // namespace vsd::sync
