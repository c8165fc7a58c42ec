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
    tracker.on_new(table.slot_of(*c), now);
    return c;
  }
  // One client packet; how many entries it had sent.
  std::size_t client(Conn& c, uint8_t flags = tcp_flag::kAck) {
    table.on_packet(c, PacketFrom::Client, flags, now);
    const std::size_t before = out.size();
    tracker.on_client_packet(table, c, 0, out, now);
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

// ip_vs_sync_conn for an AF_INET6 connection: the same rules, the 72-byte form.
TEST(MasterTracker, Ipv6ConnectionsAreSentByTheSameRulesInTheirOwnForm) {
  const Ip6 cip{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const Ip6 vip{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
  const Ip6 rip{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
  Conn6Table table(64);
  MasterTracker tracker(16, {}, 64);
  std::vector<SyncConn> out;
  const uint64_t now = 1'000'000;
  Conn6* c = table.insert({Proto::Tcp, {cip, 40000}, {vip, 80}}, {rip, 8080}, Method::Dr, 0, now);
  ASSERT_NE(c, nullptr);
  tracker.on_new6(table.slot_of(*c), now);
  auto client = [&](uint8_t flags) {
    table.on_packet(*c, true, flags, now);
    const std::size_t before = out.size();
    tracker.on_client_packet6(table, *c, 0, out, now);
    return out.size() - before;
  };
  EXPECT_EQ(client(tcp_flag::kSyn), 0u);
  EXPECT_EQ(client(tcp_flag::kAck), 0u);  // ESTABLISHED (DR: the client's ACK), packet 2
  EXPECT_EQ(client(tcp_flag::kAck), 1u);  // packet 3
  const SyncConn& s = out.at(0);
  EXPECT_TRUE(s.ipv6);
  EXPECT_EQ(s.wire_size(), kEntryV6Size);
  EXPECT_EQ(s.protocol, 6);
  EXPECT_EQ(s.flags, conn_flag::kDroute | conn_flag::kNoOutput);  // active: no INACTIVE
  EXPECT_EQ(s.state, 1);
  EXPECT_EQ(s.timeout_s, 900u);
  EXPECT_EQ(s.caddr.bytes, cip);
  EXPECT_EQ(s.vaddr.bytes, vip);
  EXPECT_EQ(s.daddr.bytes, rip);
  EXPECT_EQ(s.cport, 40000);
  EXPECT_EQ(s.vport, 80);
  EXPECT_EQ(s.dport, 8080);
  // The client's FIN leaves ESTABLISHED: sent at once, INACTIVE.
  EXPECT_EQ(client(tcp_flag::kFin | tcp_flag::kAck), 1u);
  EXPECT_NE(out.back().state, 1);
  EXPECT_EQ(out.back().flags & conn_flag::kInactive, conn_flag::kInactive);
  // sync_version=0: ip_vs_sync_conn_v0 passes over every IPv6 connection.
  SendRules v0;
  v0.version = 0;
  tracker.set_rules(v0);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(client(tcp_flag::kAck), 0u);
}

// sync_refresh_period 20 s, sync_retries 2, sync_threshold "3 0", a UDP flow (timeout 300 s):
// sent on its first packet (its end moved 300 s from its creation), then twice again, each
// an eighth of the period (2.5 s) after the send before, then not until its end has moved 20 s
// from the last send (at 6 s: 25 s is too early, 40 s is not).
TEST(MasterTracker, RefreshPeriodAndRetriesSendByTimeNotByCount) {
  Bed b;
  SendRules r;
  r.threshold = 3;
  r.period = 0;
  r.refresh_period_ms = 20'000;
  r.retries = 2;
  b.tracker.set_rules(r);
  const uint64_t start = b.now;
  Conn* c = b.add(Proto::Udp, Method::Nat);
  std::vector<uint64_t> sent_at;
  for (uint64_t at : {0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 9000, 15000, 25000, 40000}) {
    b.now = start + at;
    if (b.client(*c)) sent_at.push_back(at);
  }
  EXPECT_EQ(sent_at, (std::vector<uint64_t>{0, 3000, 6000, 40000}));
  // No retries: only when the end moved.
  Bed once;
  r.retries = 0;
  once.tracker.set_rules(r);
  Conn* d = once.add(Proto::Udp, Method::Nat);
  sent_at.clear();
  for (uint64_t at : {0, 3000, 6000, 19000, 21000}) {
    once.now = start + at;
    if (once.client(*d)) sent_at.push_back(at);
  }
  EXPECT_EQ(sent_at, (std::vector<uint64_t>{0, 21000}));
}

// sync_persist_mode 1: a connection under a template is never sent, its template still is.
TEST(MasterTracker, PersistModeSendsTemplatesOnly) {
  Bed b;
  SendRules r;
  r.persist_mode = true;
  b.tracker.set_rules(r);
  Conn* t = b.table.insert_template(
      {TemplateKey::for_service(Proto::Udp, kClient.addr, Ipv4::from_host(0xffffffff), kVip), kRs,
       Method::Nat, 0, 360},
      b.now);
  b.tracker.on_new(b.table.slot_of(*t), b.now);
  Conn* c = b.add(Proto::Udp, Method::Nat, t);
  Conn* alone = b.add(Proto::Tcp, Method::Nat);  // no template: sent as ever
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.client(*c), 1u) << i;
  for (const auto& s : b.out) EXPECT_NE(s.flags & conn_flag::kTemplate, 0u);
  EXPECT_EQ(b.client(*alone, tcp_flag::kSyn), 0u);
  b.table.on_packet(*alone, PacketFrom::Server, tcp_flag::kSyn | tcp_flag::kAck, b.now);
  EXPECT_EQ(b.client(*alone), 0u);
  EXPECT_EQ(b.client(*alone), 1u);  // 3rd client packet
}

// sync_version 0: a one-packet connection's template is not sent either (ip_vs_sync_conn_v0
// returns before its template), where version 1 sends the template.
TEST(MasterTracker, Version0SkipsAOnePacketConnectionsTemplate) {
  for (uint8_t version : {0, 1}) {
    Bed b;
    SendRules r;
    r.version = version;
    b.tracker.set_rules(r);
    Conn* t = b.table.insert_template(
        {TemplateKey::for_service(Proto::Udp, kClient.addr, Ipv4::from_host(0xffffffff), kVip), kRs,
         Method::Nat, 0, 360},
        b.now);
    b.tracker.on_new(b.table.slot_of(*t), b.now);
    Conn* c = b.add(Proto::Udp, Method::Nat, t, /*one_packet=*/true);
    EXPECT_EQ(b.client(*c), version == 0 ? 0u : 1u) << int(version);
  }
}

}  // namespace
}  // namespace vsd::sync
