// The connection table: lookups from both sides, templates, expiry on a ManualClock, the
// destination counters as the kernel keeps them, the full-table policy and FULLNAT ports.
#include "conn/table.h"

#include <gtest/gtest.h>

#include <array>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "conn/clock.h"

namespace vsd {
namespace {

using namespace tcp_flag;

Ipv4 ip(std::string_view text) {
  return *Ipv4::parse(text);
}
Endpoint at(std::string_view text, uint16_t port) {
  return Endpoint{ip(text), port};
}

const Endpoint kVip = at("192.168.1.100", 80);
const Endpoint kRs1 = at("10.1.0.11", 8080);
const Endpoint kRs2 = at("10.1.0.12", 8080);
const Ipv4 kLip = ip("10.1.0.254");

NewConn tcp_conn(Method method, Endpoint client, Endpoint rs = kRs1, uint32_t dest = 0) {
  NewConn c;
  c.proto = Proto::Tcp;
  c.client = client;
  c.virtual_addr = kVip;
  c.destination = rs;
  c.method = method;
  c.dest = dest;
  return c;
}

NewConn udp_conn(Endpoint client, uint32_t dest = 0) {
  NewConn c = tcp_conn(Method::Nat, client, kRs1, dest);
  c.proto = Proto::Udp;
  c.virtual_addr = at("192.168.1.100", 53);
  return c;
}

NewTemplate tcp_template(std::string_view client, std::string_view mask, uint32_t timeout_s,
                         uint32_t dest = 0) {
  NewTemplate t;
  t.key = TemplateKey::for_service(Proto::Tcp, ip(client), ip(mask), kVip);
  t.destination = kRs1;
  t.dest = dest;
  t.timeout_s = timeout_s;
  return t;
}

class ConnTableTest : public testing::Test {
 protected:
  // Not at zero, and not on a 256-ms boundary: the wheel must start wherever time is.
  ManualClock clock{7'000'123};
  ConnTable table{ConnTableConfig{1024, 16}};

  uint64_t now() const { return clock.now_ms(); }
  // Moves time on and expires what is due, returning how many went.
  std::size_t advance_ms(uint64_t ms) {
    clock.advance(ms);
    return table.expire(now());
  }
  std::size_t advance_s(uint64_t s) { return advance_ms(s * 1000); }

  Conn* insert(const NewConn& c, Conn* tmpl = nullptr) { return table.insert(c, now(), tmpl); }
  void packet(Conn* c, PacketFrom from, uint8_t flags) { table.on_packet(*c, from, flags, now()); }
  const DestLoad& load(uint32_t dest = 0) const { return table.dest_load(dest); }
};

// --- lookups --------------------------------------------------------------------------------

TEST_F(ConnTableTest, NatConnectionIsFoundFromTheClientAndFromTheServer) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip), c);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", 40000)), c);
  EXPECT_EQ(c->destination(), kRs1);
  EXPECT_EQ(c->method(), Method::Nat);
}

TEST_F(ConnTableTest, LookupNeedsEveryFieldOfTheKey) {
  insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40001), kVip), nullptr);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.3", 40000), kVip), nullptr);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), at("192.168.1.100", 81)), nullptr);
  EXPECT_EQ(table.find_in(Proto::Udp, at("10.0.0.2", 40000), kVip), nullptr);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs2, at("10.0.0.2", 40000)), nullptr);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", 40001)), nullptr);
}

TEST_F(ConnTableTest, FullNatReplyIsFoundByTheLocalEndpoint) {
  NewConn fresh = tcp_conn(Method::FullNat, at("10.0.0.2", 40000));
  fresh.local = Endpoint{kLip, 5000};
  Conn* c = insert(fresh);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, Endpoint{kLip, 5000}), c);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", 40000)), nullptr);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip), c);
  EXPECT_EQ(c->local(), (Endpoint{kLip, 5000}));
}

// Replies of DR/TUN connections never pass the director; they are not indexed for them.
TEST_F(ConnTableTest, DirectRoutingConnectionHasNoReplyKey) {
  Conn* c = insert(tcp_conn(Method::Dr, at("10.0.0.2", 40000)));
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip), c);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", 40000)), nullptr);
  EXPECT_EQ(c->local(), Endpoint{});
}

TEST_F(ConnTableTest, ManyConnectionsAreEachFoundAgain) {
  std::vector<Conn*> conns;
  for (uint16_t port = 1; port <= 1000; ++port)
    conns.push_back(insert(tcp_conn(Method::Nat, at("10.0.0.2", port))));
  for (uint16_t port = 1; port <= 1000; ++port) {
    EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", port), kVip), conns[port - 1]);
    EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", port)), conns[port - 1]);
  }
}

// --- lookup hints ---------------------------------------------------------------------------

TEST_F(ConnTableTest, AHintMadeForTheKeyFindsTheEntryFromEitherSide) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  const ConnTable::Hint in = table.prefetch_in(Proto::Tcp, at("10.0.0.2", 40000), kVip);
  const ConnTable::Hint out = table.prefetch_out(Proto::Tcp, kRs1, at("10.0.0.2", 40000));
  table.prefetch_entry(in);
  table.prefetch_entry(out);
  table.prefetch_chain(in);
  table.prefetch_chain(out);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip, &in), c);
  EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, at("10.0.0.2", 40000), &out), c);
}

// A packet may be looked ahead for before the packet in front of it opens its connection.
TEST_F(ConnTableTest, AHintMadeBeforeTheEntryWasInsertedFindsIt) {
  const ConnTable::Hint in = table.prefetch_in(Proto::Udp, at("10.0.0.2", 40000), kVip);
  table.prefetch_entry(in);
  table.prefetch_chain(in);
  for (uint16_t port = 1; port <= 100; ++port) insert(tcp_conn(Method::Nat, at("10.0.0.3", port)));
  NewConn fresh = udp_conn(at("10.0.0.2", 40000));
  fresh.virtual_addr = kVip;
  Conn* c = insert(fresh);
  EXPECT_EQ(table.find_in(Proto::Udp, at("10.0.0.2", 40000), kVip, &in), c);
}

// Looked up with the hint of another key (a neighbour's, the other side's, the other
// protocol's, or none), every entry is found as without a hint, and an absent key is not.
TEST_F(ConnTableTest, AHintForAnotherKeyIsIgnored) {
  std::vector<Conn*> conns;
  for (uint16_t port = 1; port <= 300; ++port)
    conns.push_back(insert(tcp_conn(Method::Nat, at("10.0.0.2", port))));
  auto in_hint = [&](uint16_t port) {
    return table.prefetch_in(Proto::Tcp, at("10.0.0.2", port), kVip);
  };
  auto out_hint = [&](uint16_t port) {
    return table.prefetch_out(Proto::Tcp, kRs1, at("10.0.0.2", port));
  };
  for (uint16_t port = 1; port <= 300; ++port) {
    const Endpoint client = at("10.0.0.2", port);
    const uint16_t other = port % 300 + 1;
    const ConnTable::Hint others[] = {
        in_hint(other),
        out_hint(other),
        out_hint(port),
        table.prefetch_in(Proto::Udp, client, kVip),
        table.prefetch_in(Proto::Tcp, kRs1, client),
        ConnTable::Hint{},
    };
    for (const auto& hint : others) {
      table.prefetch_entry(hint);
      table.prefetch_chain(hint);
      EXPECT_EQ(table.find_in(Proto::Tcp, client, kVip, &hint), conns[port - 1]) << port;
      EXPECT_EQ(table.find_out(Proto::Tcp, kRs1, client, &hint), conns[port - 1]) << port;
    }
    // The lookup of an absent key given a present key's hint.
    const ConnTable::Hint in = in_hint(port), out = out_hint(port);
    EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.3", port), kVip, &in), nullptr);
    EXPECT_EQ(table.find_in(Proto::Udp, client, kVip, &in), nullptr);
    EXPECT_EQ(table.find_out(Proto::Tcp, kRs2, client, &out), nullptr);
  }
}

// --- templates -----------------------------------------------------------------------------

// Spec 7: clients 10.0.5.1 and 10.0.5.2 with -M 255.255.255.0 share one template, 10.0.5.0:0.
TEST_F(ConnTableTest, TemplateIsFoundByTheMaskedClient) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.0", 360), now());
  ASSERT_NE(t, nullptr);
  const Ipv4 mask = ip("255.255.255.0");
  EXPECT_EQ(table.find_template(TemplateKey::for_service(Proto::Tcp, ip("10.0.5.2"), mask, kVip)),
            t);
  EXPECT_EQ(table.find_template(TemplateKey::for_service(Proto::Tcp, ip("10.0.6.1"), mask, kVip)),
            nullptr);
  EXPECT_EQ(table.find_template(TemplateKey::for_service(Proto::Udp, ip("10.0.5.2"), mask, kVip)),
            nullptr);
  EXPECT_EQ(table.find_template(TemplateKey::for_service(Proto::Tcp, ip("10.0.5.2"), mask,
                                                         at("192.168.1.100", 443))),
            nullptr);
  EXPECT_EQ(t->client(), at("10.0.5.0", 0));
  EXPECT_TRUE(t->is_template());
}

TEST_F(ConnTableTest, TemplatesAndConnectionsDoNotFindEachOther) {
  table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.5.1", 0)));  // client port 0, same tuple
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.5.1", 0), kVip), c);
  EXPECT_NE(table.find_template(
                TemplateKey::for_service(Proto::Tcp, ip("10.0.5.1"), ip("255.255.255.255"), kVip)),
            c);
}

// The kernel keys fwmark templates with IPPROTO_IP: one per client for every protocol.
TEST_F(ConnTableTest, FwmarkTemplateIsSharedByProtocolsAndKeyedByMark) {
  const Ipv4 mask = ip("255.255.255.255");
  NewTemplate fresh;
  fresh.key = TemplateKey::for_fwmark(Proto::Tcp, ip("10.0.0.2"), mask, 7);
  fresh.destination = at("10.1.0.14", 0);
  fresh.timeout_s = 360;
  Conn* t = table.insert_template(fresh, now());
  EXPECT_EQ(table.find_template(TemplateKey::for_fwmark(Proto::Udp, ip("10.0.0.2"), mask, 7)), t);
  EXPECT_EQ(table.find_template(TemplateKey::for_fwmark(Proto::Tcp, ip("10.0.0.2"), mask, 8)),
            nullptr);
  EXPECT_EQ(t->fwmark(), 7u);
}

// --pe sip (ip_vs_pe_sip.c ct_match): the Call-ID is part of the key, compared whole; a key
// without one never finds a template with one, nor the other way round.
TEST_F(ConnTableTest, ASipTemplateIsFoundByItsCallIdToo) {
  const Ipv4 mask = ip("255.255.255.255");
  auto key = [&](std::string_view call_id) {
    TemplateKey k = TemplateKey::for_service(Proto::Udp, ip("10.0.0.2"), mask, kVip);
    k.pe_data = call_id;
    return k;
  };
  NewTemplate a;
  a.key = key("call-a@host");
  a.destination = kRs1;
  a.timeout_s = 60;
  const std::string call_id = "call-a@host";  // another buffer: compared by content
  Conn* t = table.insert_template(a, now());
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->has_pe_data());
  EXPECT_EQ(table.find_template(key(call_id)), t);
  EXPECT_EQ(table.find_template(key("call-a@hos")), nullptr);
  EXPECT_EQ(table.find_template(key("call-b@host")), nullptr);
  EXPECT_EQ(table.find_template(key("")), nullptr);
  EXPECT_EQ(table.pe_data(*t), "call-a@host");
  const ConnectionEntry listed = table.describe(*t, now());
  EXPECT_EQ(listed.pe_name, "sip");
  EXPECT_EQ(listed.pe_data, "call-a@host");
  EXPECT_EQ(listed.client, at("10.0.0.2", 0));

  NewTemplate plain = a;
  plain.key.pe_data = {};
  Conn* p = table.insert_template(plain, now());
  EXPECT_EQ(table.find_template(key("")), p);
  EXPECT_EQ(table.find_template(key("call-a@host")), t);
  EXPECT_FALSE(p->has_pe_data());
  EXPECT_TRUE(table.describe(*p, now()).pe_name.empty());
}

TEST_F(ConnTableTest, ASipTemplatesSlotReusedHoldsNoCallId) {
  NewTemplate a;
  a.key = TemplateKey::for_service(Proto::Udp, ip("10.0.0.2"), ip("255.255.255.255"), kVip);
  a.key.pe_data = "gone-call";
  a.destination = kRs1;
  a.timeout_s = 1;
  table.insert_template(a, now());
  advance_s(1);
  ASSERT_EQ(table.size(), 0u);
  NewTemplate plain = a;
  plain.key.pe_data = {};
  Conn* p = table.insert_template(plain, now());
  EXPECT_FALSE(p->has_pe_data());
  EXPECT_EQ(table.pe_data(*p), "");
  EXPECT_EQ(table.find_template(a.key), nullptr);
}

TEST_F(ConnTableTest, TemplateLivesItsTimeoutWithoutDependents) {
  table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 120), now());
  advance_ms(120'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

// Spec 7 and ip_vs_conn_expire: a due template with dependents is looked at again in 60 s.
TEST_F(ConnTableTest, TemplateIsKeptAliveByItsConnections) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 10), now());
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000)), t);
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Server, kSyn | kAck);
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(t->dependents(), 1u);

  advance_s(10);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.expires_in_ms(*t, now()), 60'000u);

  advance_s(10);  // t0 + 20 s: the connection is reset, CLOSE lives 10 s
  packet(c, PacketFrom::Client, kRst);
  advance_s(10);  // t0 + 30 s: the connection is gone, the template waits for its check
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(t->dependents(), 0u);

  advance_ms(40'000 - 1);  // t0 + 70 s - 1 ms
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(load().persistent, 0u);
}

// ip_vs_control_assure_ct: ESTABLISHED marks the template; ipvsadm lists it as ASSURED.
TEST_F(ConnTableTest, TemplateIsAssuredWhenAConnectionIsEstablished) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000)), t);
  packet(c, PacketFrom::Client, kSyn);
  EXPECT_EQ(t->state_name(), "NONE");
  packet(c, PacketFrom::Server, kSyn | kAck);
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(t->state_name(), "ASSURED");
}

TEST_F(ConnTableTest, RefreshRestartsATemplatesTimeout) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 100), now());
  clock.advance(90'000);
  table.refresh(*t, now());
  advance_s(99);
  EXPECT_EQ(table.size(), 1u);
  advance_s(1);
  EXPECT_EQ(table.size(), 0u);
}

// ip_vs_check_template is the caller's: when it rejects a template, the replacement it
// inserts under the same key is found, while the old one lives on for its connections.
TEST_F(ConnTableTest, ReplacementTemplateIsTheOneFound) {
  Conn* old_tmpl = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  NewTemplate fresh = tcp_template("10.0.5.1", "255.255.255.255", 360, 1);
  fresh.destination = kRs2;
  Conn* replacement = table.insert_template(fresh, now());
  const auto key =
      TemplateKey::for_service(Proto::Tcp, ip("10.0.5.1"), ip("255.255.255.255"), kVip);
  EXPECT_EQ(table.find_template(key), replacement);
  EXPECT_NE(old_tmpl, replacement);
  EXPECT_EQ(table.size(), 2u);
}

// --- removal on purpose -------------------------------------------------------------------

TEST_F(ConnTableTest, ExpireNowRemovesAtTheNextExpire) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  table.expire_now(*c, now());
  EXPECT_EQ(table.expire(now()), 1u);
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip), nullptr);
  EXPECT_EQ(load().active, 0u);
}

TEST_F(ConnTableTest, RemovedConnectionTakesItsUnassuredTemplateAlong) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000)), t);
  packet(c, PacketFrom::Client, kSyn);
  table.expire_now(*c, now());
  EXPECT_EQ(table.expire(now()), 2u);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ConnTableTest, RemovedConnectionLeavesAnAssuredTemplate) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000)), t);
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Client, kAck);
  table.expire_now(*c, now());
  EXPECT_EQ(table.expire(now()), 1u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_TRUE(t->is_template());
}

TEST_F(ConnTableTest, RemovedTemplateWithDependentsIsKeptAlive) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360), now());
  insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000)), t);
  table.expire_now(*t, now());
  EXPECT_EQ(table.expire(now()), 0u);
  EXPECT_EQ(table.expires_in_ms(*t, now()), 60'000u);
}

// --- expiry and timeouts ------------------------------------------------------------------

TEST_F(ConnTableTest, UdpConnectionExpiresAfterItsTimeoutAndIsReported) {
  insert(udp_conn(at("10.0.0.2", 4000)));
  clock.advance(300'000 - 1);
  EXPECT_EQ(table.expire(now()), 0u);
  std::vector<Endpoint> reported;
  clock.advance(1);
  table.expire(now(), [&](const Conn& c) { reported.push_back(c.client()); });
  EXPECT_EQ(reported, std::vector<Endpoint>{at("10.0.0.2", 4000)});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.stats().expired, 1u);
}

TEST_F(ConnTableTest, PacketRestartsTheTimeout) {
  Conn* c = insert(udp_conn(at("10.0.0.2", 4000)));
  advance_s(200);
  packet(c, PacketFrom::Client, 0);
  advance_ms(300'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ConnTableTest, ConnectionRefreshedForHoursStaysUntilQuiet) {
  Conn* c = insert(udp_conn(at("10.0.0.2", 4000)));
  for (int i = 0; i < 100; ++i) {
    advance_s(299);
    ASSERT_EQ(table.size(), 1u) << "after " << i << " refreshes";
    packet(c, PacketFrom::Server, 0);
  }
  advance_ms(300'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

// An ESTABLISHED entry (900 s) that is reset lives CLOSE's 10 s, not what was left of 900.
TEST_F(ConnTableTest, ShorterStateMovesTheExpiryEarlier) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Client, kAck);
  advance_s(100);
  packet(c, PacketFrom::Server, kRst);
  EXPECT_EQ(c->state_name(), "CLOSE");
  advance_ms(10'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ConnTableTest, SetTimeoutsAppliesFromTheNextPacket) {
  Conn* c = insert(udp_conn(at("10.0.0.2", 4000)));
  table.set_timeouts(Timeouts{0, 0, 30});
  packet(c, PacketFrom::Client, 0);
  advance_ms(30'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ConnTableTest, EstablishedUsesTheSetTcpTimeout) {
  table.set_timeouts(Timeouts{100, 20, 0});
  Conn* c = insert(tcp_conn(Method::Dr, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(table.expires_in_ms(*c, now()), 100'000u);
  packet(c, PacketFrom::Client, kFin | kAck);  // DR: FIN_WAIT
  EXPECT_EQ(table.expires_in_ms(*c, now()), 20'000u);
}

TEST_F(ConnTableTest, TcpEntryTimeoutFollowsItsState) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  EXPECT_EQ(table.expires_in_ms(*c, now()), 2'000u);  // NONE
  packet(c, PacketFrom::Client, kSyn);
  EXPECT_EQ(table.expires_in_ms(*c, now()), 60'000u);  // SYN_RECV
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(table.expires_in_ms(*c, now()), 900'000u);  // ESTABLISHED
  packet(c, PacketFrom::Server, kFin | kAck);
  EXPECT_EQ(table.expires_in_ms(*c, now()), 120'000u);  // FIN_WAIT
}

TEST_F(ConnTableTest, SynOnlyConnectionGoesAfterSixtySeconds) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  advance_ms(60'000 - 1);
  EXPECT_EQ(table.size(), 1u);
  advance_ms(1);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ConnTableTest, OnePacketConnectionIsNeverFoundAndGoesAtOnce) {
  NewConn fresh = udp_conn(at("10.0.0.2", 4000));
  fresh.one_packet = true;
  Conn* c = insert(fresh);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_one_packet());
  EXPECT_EQ(table.find_in(Proto::Udp, at("10.0.0.2", 4000), fresh.virtual_addr), nullptr);
  EXPECT_EQ(table.find_out(Proto::Udp, kRs1, at("10.0.0.2", 4000)), nullptr);
  EXPECT_EQ(load().inactive, 1u);
  EXPECT_EQ(table.expire(now()), 1u);
  EXPECT_EQ(load().inactive, 0u);
}

// -o applies to UDP only (ip_vs_bind_dest).
TEST_F(ConnTableTest, OnePacketIsIgnoredForTcp) {
  NewConn fresh = tcp_conn(Method::Nat, at("10.0.0.2", 40000));
  fresh.one_packet = true;
  Conn* c = insert(fresh);
  EXPECT_FALSE(c->is_one_packet());
  EXPECT_EQ(table.find_in(Proto::Tcp, at("10.0.0.2", 40000), kVip), c);
}

// TOA is a TCP option and only FULLNAT hides the client: only those entries wait for it.
TEST_F(ConnTableTest, ToaIsPendingForFullnatTcpOnlyUntilSent) {
  NewConn fullnat = tcp_conn(Method::FullNat, at("10.0.0.2", 40000));
  fullnat.local = at("192.168.1.2", 5001);
  fullnat.toa = true;
  Conn* c = insert(fullnat);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->toa_pending());
  c->toa_sent();
  EXPECT_FALSE(c->toa_pending());

  NewConn nat = tcp_conn(Method::Nat, at("10.0.0.2", 40001));
  nat.toa = true;
  EXPECT_FALSE(insert(nat)->toa_pending());
  NewConn udp = udp_conn(at("10.0.0.2", 40002));
  udp.method = Method::FullNat;
  udp.local = at("192.168.1.2", 5002);
  udp.toa = true;
  EXPECT_FALSE(insert(udp)->toa_pending());
}

TEST_F(ConnTableTest, IcmpEntryHasItsOwnTimeoutAndName) {
  NewConn fresh = udp_conn(at("10.0.0.2", 0));
  fresh.proto = Proto::Icmp;
  Conn* c = insert(fresh);
  EXPECT_EQ(c->state_name(), "ICMP");
  EXPECT_EQ(table.expires_in_ms(*c, now()), 60'000u);
}

// --- destination counters -----------------------------------------------------------------

TEST_F(ConnTableTest, NatConnectionCountsActiveFromSynUntilTheFirstFin) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  auto counts = [&] { return std::pair{load().active, load().inactive}; };
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(counts(), (P{0, 1}));  // new connections start inactive
  packet(c, PacketFrom::Client, kSyn);
  EXPECT_EQ(counts(), (P{1, 0}));  // SYN_RECV is active
  packet(c, PacketFrom::Server, kSyn | kAck);
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(c->state_name(), "ESTABLISHED");
  EXPECT_EQ(counts(), (P{1, 0}));
  packet(c, PacketFrom::Server, kFin | kAck);
  EXPECT_EQ(c->state_name(), "FIN_WAIT");
  EXPECT_EQ(counts(), (P{0, 1}));
  packet(c, PacketFrom::Client, kAck);
  packet(c, PacketFrom::Client, kFin | kAck);
  packet(c, PacketFrom::Server, kAck);
  EXPECT_EQ(c->state_name(), "TIME_WAIT");
  EXPECT_EQ(counts(), (P{0, 1}));
  advance_s(120);
  EXPECT_EQ(counts(), (P{0, 0}));
}

TEST_F(ConnTableTest, DirectRoutingUsesTheInputOnlyTable) {
  Conn* c = insert(tcp_conn(Method::Dr, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Client, kAck);
  EXPECT_EQ(load().active, 1u);
  packet(c, PacketFrom::Client, kFin | kAck);
  EXPECT_EQ(c->state_name(), "FIN_WAIT");  // NAT would say CLOSE_WAIT
  EXPECT_EQ(load().active, 0u);
  EXPECT_EQ(load().inactive, 1u);
}

TEST_F(ConnTableTest, NatUsesTheInputTable) {
  Conn* c = insert(tcp_conn(Method::Nat, at("10.0.0.2", 40000)));
  packet(c, PacketFrom::Client, kSyn);
  packet(c, PacketFrom::Client, kAck);
  packet(c, PacketFrom::Client, kFin | kAck);
  EXPECT_EQ(c->state_name(), "CLOSE_WAIT");
}

TEST_F(ConnTableTest, UdpIsAlwaysInactive) {
  Conn* c = insert(udp_conn(at("10.0.0.2", 4000)));
  packet(c, PacketFrom::Client, 0);
  packet(c, PacketFrom::Server, 0);
  EXPECT_EQ(load().active, 0u);
  EXPECT_EQ(load().inactive, 1u);
  EXPECT_EQ(c->state_name(), "UDP");
}

TEST_F(ConnTableTest, TemplatesCountAsPersistentOnly) {
  Conn* t = table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 360, 3), now());
  insert(tcp_conn(Method::Nat, at("10.0.5.1", 40000), kRs1, 3), t);
  EXPECT_EQ(load(3).persistent, 1u);
  EXPECT_EQ(load(3).inactive, 1u);
  EXPECT_EQ(load(3).active, 0u);
  EXPECT_EQ(load(0).persistent, 0u);
}

TEST_F(ConnTableTest, CountersArePerDestination) {
  Conn* a = insert(tcp_conn(Method::Nat, at("10.0.0.2", 1), kRs1, 1));
  insert(tcp_conn(Method::Nat, at("10.0.0.2", 2), kRs2, 2));
  packet(a, PacketFrom::Client, kSyn);
  EXPECT_EQ(load(1).active, 1u);
  EXPECT_EQ(load(2).inactive, 1u);
  EXPECT_EQ(load(2).active, 0u);
}

// Spec 8: OVERLOADED at active + inactive >= -x; without -y it clears below 3/4 of -x.
TEST_F(ConnTableTest, UpperThresholdOverloadsAndThreeQuartersClears) {
  table.set_dest_thresholds(0, 4, 0);
  std::vector<Conn*> conns;
  for (uint16_t p = 1; p <= 4; ++p) conns.push_back(insert(udp_conn(at("10.0.0.2", p))));
  EXPECT_TRUE(load().overloaded);
  table.expire_now(*conns[0], now());
  table.expire(now());
  EXPECT_TRUE(load().overloaded);  // 3 * 4 < 4 * 3 is false
  table.expire_now(*conns[1], now());
  table.expire(now());
  EXPECT_FALSE(load().overloaded);  // 2 * 4 < 12
}

TEST_F(ConnTableTest, LowerThresholdClearsOverload) {
  table.set_dest_thresholds(0, 2, 1);
  Conn* a = insert(udp_conn(at("10.0.0.2", 1)));
  Conn* b = insert(udp_conn(at("10.0.0.2", 2)));
  EXPECT_TRUE(load().overloaded);
  table.expire_now(*a, now());
  table.expire(now());
  EXPECT_TRUE(load().overloaded);  // 1 is not below 1
  table.expire_now(*b, now());
  table.expire(now());
  EXPECT_FALSE(load().overloaded);
}

TEST_F(ConnTableTest, RaisingTheUpperThresholdClearsOverload) {
  table.set_dest_thresholds(0, 1, 0);
  insert(udp_conn(at("10.0.0.2", 1)));
  EXPECT_TRUE(load().overloaded);
  table.set_dest_thresholds(0, 5, 0);
  EXPECT_FALSE(load().overloaded);
}

// --- capacity -----------------------------------------------------------------------------

TEST(ConnTableCapacity, FullTableRefusesAndCounts) {
  ManualClock clock(1000);
  ConnTableConfig config{4, 1};
  config.defences = false;
  ConnTable table(config);
  for (uint16_t p = 1; p <= 3; ++p)
    ASSERT_NE(table.insert(udp_conn(at("10.0.0.2", p)), clock.now_ms()), nullptr);
  ASSERT_NE(table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 60), 1000), nullptr);
  EXPECT_EQ(table.insert(udp_conn(at("10.0.0.2", 9)), clock.now_ms()), nullptr);
  EXPECT_EQ(table.insert_template(tcp_template("10.0.5.2", "255.255.255.255", 60), 1000), nullptr);
  EXPECT_EQ(table.stats().refused_full, 2u);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.dest_load(0).inactive, 3u);  // refused entries are not counted

  clock.advance(60'000);
  table.expire(clock.now_ms());
  EXPECT_NE(table.insert(udp_conn(at("10.0.0.2", 9)), clock.now_ms()), nullptr);
}

TEST(ConnTableCapacity, UnknownDestinationHandleIsRefused) {
  ConnTable table(ConnTableConfig{4, 2});
  EXPECT_EQ(table.insert(udp_conn(at("10.0.0.2", 1), 2), 0), nullptr);
  EXPECT_EQ(table.stats().refused_bad_dest, 1u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(ConnTableCapacity, ZeroCapacityIsRejected) {
  EXPECT_THROW(ConnTable(ConnTableConfig{0, 1}), std::invalid_argument);
}

TEST(ConnTableCapacity, EntryWithIndexesFitsInSixtyFourBytes) {
  ConnTable table(ConnTableConfig{1u << 16, 1});
  EXPECT_LE(table.bytes_per_entry(), 64.0);
  EXPECT_EQ(sizeof(Conn), 56u);
}

// Capacities that are no power of two (vslab bench's 1M, conn_table_bench's 100k) get no
// bucket array rounded up: still 64 bytes, and every entry found from both sides.
TEST(ConnTableCapacity, AnyCapacityFitsInSixtyFourBytes) {
  ConnTable table(ConnTableConfig{100'000, 1});
  EXPECT_LE(table.bytes_per_entry(), 64.0);
  for (uint16_t port = 1; port <= 1000; ++port) {
    NewConn fresh;
    fresh.proto = Proto::Tcp;
    fresh.client = Endpoint{Ipv4{0x0a000002}, port};
    fresh.virtual_addr = Endpoint{Ipv4{0xc0a80164}, 80};
    fresh.destination = Endpoint{Ipv4{0x0a010001}, 8080};
    ASSERT_NE(table.insert(fresh, 0), nullptr);
  }
  for (uint16_t port = 1; port <= 1000; ++port) {
    const Endpoint client{Ipv4{0x0a000002}, port};
    Conn* in = table.find_in(Proto::Tcp, client, Endpoint{Ipv4{0xc0a80164}, 80});
    ASSERT_NE(in, nullptr);
    EXPECT_EQ(in, table.find_out(Proto::Tcp, Endpoint{Ipv4{0x0a010001}, 8080}, client));
  }
}

// --- FULLNAT local ports ------------------------------------------------------------------

class LocalPorts : public ConnTableTest {
 protected:
  Conn* insert_fullnat(uint16_t cport, uint16_t lport, Endpoint rs = kRs1) {
    NewConn fresh = tcp_conn(Method::FullNat, at("10.0.0.2", cport), rs);
    fresh.local = Endpoint{kLip, lport};
    return insert(fresh);
  }
};

TEST_F(LocalPorts, PickedPortsAreUniquePerServer) {
  std::set<uint16_t> ports;
  for (uint16_t cport = 1; cport <= 500; ++cport) {
    auto port = table.pick_local_port(Proto::Tcp, kLip, kRs1);
    ASSERT_TRUE(port);
    EXPECT_GE(*port, 1024);
    EXPECT_TRUE(ports.insert(*port).second);
    insert_fullnat(cport, *port);
  }
}

TEST_F(LocalPorts, PortsInUseAreSkipped) {
  for (uint16_t lport = 1024; lport <= 1060; ++lport) insert_fullnat(lport, lport);
  EXPECT_EQ(table.pick_local_port(Proto::Tcp, kLip, kRs1), 1061);
}

TEST_F(LocalPorts, PortInUseTowardsOneServerIsFreeTowardsAnother) {
  insert_fullnat(1, 1024, kRs1);
  EXPECT_EQ(table.pick_local_port(Proto::Tcp, kLip, kRs2), 1024);
}

TEST_F(LocalPorts, SearchIsBoundedAndCounted) {
  for (uint16_t i = 0; i < ConnTable::kLocalPortProbes; ++i) insert_fullnat(i + 1, 1024 + i);
  EXPECT_EQ(table.pick_local_port(Proto::Tcp, kLip, kRs1), std::nullopt);
  EXPECT_EQ(table.stats().local_ports_exhausted, 1u);
  EXPECT_EQ(table.pick_local_port(Proto::Tcp, kLip, kRs1), 1024 + ConnTable::kLocalPortProbes);
}

// vsd --workers 3: worker 2 picks 1025, 1028, ... and wraps to 1025, never a port of another
// worker's class (the kernel steers a reply to lport % 3).
TEST(LocalPortRange, AWorkersPortsAreOfItsClass) {
  ConnTable table(ConnTableConfig{1u << 16, 1});
  table.set_local_port_class(2, 3);
  EXPECT_EQ(table.pick_local_port(Proto::Udp, kLip, kRs1), 1025);
  EXPECT_EQ(table.pick_local_port(Proto::Udp, kLip, kRs1), 1028);
  // 1025 to 65534, the last of the class: a whole round brings the cursor back to 1028.
  constexpr int kClassPorts = (65534 - 1025) / 3 + 1;
  uint16_t last = 0;
  for (int i = 0; i < kClassPorts; ++i) {
    last = *table.pick_local_port(Proto::Udp, kLip, kRs1);
    ASSERT_EQ(last % 3, 2) << last;
    ASSERT_GE(last, 1025);
  }
  EXPECT_EQ(last, 1028);
}

TEST(LocalPortRange, CursorWrapsToTheFirstUnprivilegedPort) {
  ConnTable table(ConnTableConfig{1u << 16, 1});
  uint16_t last = 0;
  for (int i = 0; i < 65536 - 1024 + 1; ++i) last = *table.pick_local_port(Proto::Udp, kLip, kRs1);
  EXPECT_EQ(last, 1024);
}

// --- listing ------------------------------------------------------------------------------

TEST_F(ConnTableTest, ForEachVisitsEveryLiveEntryOnce) {
  for (uint16_t p = 1; p <= 100; ++p) insert(udp_conn(at("10.0.0.2", p)));
  table.insert_template(tcp_template("10.0.5.1", "255.255.255.255", 10), now());
  advance_s(10);  // the template goes
  std::multiset<uint16_t> seen;
  table.for_each([&](const Conn& c) { seen.insert(c.client().port); });
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(std::set<uint16_t>(seen.begin(), seen.end()).size(), 100u);
}

// The listing in chunks: every entry once, no chunk past its bounds, and an entry that lives
// throughout is listed even when others come and go between two chunks.
TEST_F(ConnTableTest, DescribeFromListsEveryEntryOnceInBoundedChunks) {
  for (uint16_t p = 1; p <= 600; ++p) insert(udp_conn(at("10.0.0.2", p)));
  std::multiset<uint16_t> seen;
  std::size_t calls = 0;
  for (std::size_t cursor = 0; cursor < table.capacity(); ++calls) {
    std::vector<ConnectionEntry> chunk;
    const std::size_t next = table.describe_from(cursor, 64, 256, now(), chunk);
    EXPECT_LE(chunk.size(), 64u);
    EXPECT_GT(next, cursor);
    EXPECT_LE(next - cursor, 256u);
    for (const auto& e : chunk) {
      EXPECT_EQ(e.client.addr, ip("10.0.0.2"));
      seen.insert(e.client.port);
    }
    // Churn between two chunks: an entry of another client comes and goes in a free slot.
    Conn* passing = insert(udp_conn(at("10.0.0.3", uint16_t(calls + 1))));
    ASSERT_NE(passing, nullptr);
    table.expire_now(*passing, now());
    table.expire(now());
    cursor = next;
  }
  EXPECT_EQ(seen.size(), 600u);
  EXPECT_EQ(std::set<uint16_t>(seen.begin(), seen.end()).size(), 600u);
  EXPECT_GE(calls, 600u / 64);
  std::vector<ConnectionEntry> none;
  EXPECT_EQ(table.describe_from(table.capacity(), 64, 256, now(), none), table.capacity());
  EXPECT_TRUE(none.empty());
}

// Spec 9: "TCP 01:55  NONE  10.0.0.2:0  192.168.1.100:80  192.168.1.12:80".
TEST_F(ConnTableTest, DescribeGivesTheIpvsadmLine) {
  NewTemplate fresh = tcp_template("10.0.0.2", "255.255.255.255", 120);
  fresh.destination = at("192.168.1.12", 80);
  Conn* t = table.insert_template(fresh, now());
  clock.advance(5'000);
  ConnectionEntry want;
  want.proto = Proto::Tcp;
  want.expires_s = 115;
  want.state = "NONE";
  want.client = at("10.0.0.2", 0);
  want.virtual_addr = kVip;
  want.destination = at("192.168.1.12", 80);
  EXPECT_EQ(table.describe(*t, now()), want);
}

// --- the timer wheel ----------------------------------------------------------------------

// Deadlines on every level of the wheel (256 ms, 65.5 s, 4.7 h and beyond) and at odd
// milliseconds: each entry is present 1 ms before its deadline and gone at it.
TEST(ConnTableWheel, EveryDeadlineIsMetToTheMillisecond) {
  ManualClock clock(123'456'789);
  ConnTable table(ConnTableConfig{256, 1});
  const std::vector<uint32_t> timeouts_s = {1,     2,     3,     10,         65,        66,
                                            67,    255,   256,   300,        3600,      16777,
                                            16778, 86400, 86401, 10 * 86400, 19 * 86400};
  std::map<uint64_t, int> due;  // deadline -> how many
  for (std::size_t i = 0; i < timeouts_s.size(); ++i) {
    clock.advance(37);  // stagger the starts
    NewTemplate t = tcp_template("10.0.0.1", "255.255.255.255", timeouts_s[i]);
    t.key.client_net = Ipv4{static_cast<uint32_t>(0x0a000000 + i)};
    ASSERT_NE(table.insert_template(t, clock.now_ms()), nullptr);
    ++due[clock.now_ms() + uint64_t{timeouts_s[i]} * 1000];
  }
  std::size_t left = timeouts_s.size();
  for (auto [deadline, count] : due) {
    clock.advance(deadline - 1 - clock.now_ms());
    EXPECT_EQ(table.expire(clock.now_ms()), 0u) << "early at " << deadline;
    clock.advance(1);
    EXPECT_EQ(table.expire(clock.now_ms()), static_cast<std::size_t>(count))
        << "late at " << deadline;
    left -= count;
    EXPECT_EQ(table.size(), left);
  }
}

// The same deadlines reached by many small steps instead of jumps.
TEST(ConnTableWheel, SmallStepsMeetDeadlinesToo) {
  ManualClock clock(999);
  ConnTable table(ConnTableConfig{64, 1}, Timeouts{0, 0, 1});
  std::map<uint64_t, int> due;
  for (int i = 0; i < 40; ++i) {
    clock.advance(61);
    NewConn c = udp_conn(at("10.0.0.2", static_cast<uint16_t>(i + 1)));
    ASSERT_NE(table.insert(c, clock.now_ms()), nullptr);
    ++due[clock.now_ms() + 1000];
  }
  std::map<uint64_t, int> gone;
  const uint64_t end = clock.now_ms() + 2000;
  while (clock.now_ms() < end) {
    clock.advance(7);
    table.expire(clock.now_ms(), [&](const Conn&) { ++gone[clock.now_ms()]; });
  }
  // Each goes at the first step at or after its deadline.
  std::map<uint64_t, int> want;
  for (auto [deadline, count] : due) {
    uint64_t step = 999 + 40 * 61 + 7;  // the first expire()
    while (step < deadline) step += 7;
    want[step] += count;
  }
  EXPECT_EQ(gone, want);
}

// Templates with random timeouts from 1 s to 12 days, refreshed at random, and time moving in
// steps from 1 ms to hours: each goes at the first expire() at or after its deadline.
TEST(ConnTableWheel, RandomTimeoutsAndStepsAreNeverEarlyOrLate) {
  ManualClock clock(987'654'321);
  ConnTable table(ConnTableConfig{1u << 10, 1});
  std::mt19937 rng(3);
  std::map<uint32_t, uint64_t> deadline;  // client_net -> deadline
  std::map<uint32_t, Conn*> entries;
  std::map<uint32_t, uint32_t> timeout_s;
  uint64_t previous_expire = clock.now_ms();
  auto random_timeout_s = [&] {
    const uint32_t scales[] = {5, 70, 5000, 20000, 1'000'000};
    return 1 + static_cast<uint32_t>(rng() % scales[rng() % std::size(scales)]);
  };
  for (int step = 0; step < 20000; ++step) {
    const uint64_t now = clock.now_ms();
    const int action = static_cast<int>(rng() % 8);
    if (action < 3) {
      const uint32_t net = 0x0a000000u + static_cast<uint32_t>(rng() % 2000);
      if (entries.count(net)) continue;
      NewTemplate fresh = tcp_template("10.0.0.1", "255.255.255.255", random_timeout_s());
      fresh.key.client_net = Ipv4{net};
      if (Conn* t = table.insert_template(fresh, now)) {
        entries[net] = t;
        timeout_s[net] = fresh.timeout_s;
        deadline[net] = now + uint64_t{fresh.timeout_s} * 1000;
      }
    } else if (action < 5 && !entries.empty()) {
      auto it = std::next(entries.begin(), static_cast<long>(rng() % entries.size()));
      table.refresh(*it->second, now);
      deadline[it->first] = now + uint64_t{timeout_s[it->first]} * 1000;
    } else {
      const uint64_t steps[] = {1, 250, 3000, 70'000, 5'000'000};
      clock.advance(rng() % steps[rng() % std::size(steps)]);
      const uint64_t later = clock.now_ms();
      table.expire(later, [&](const Conn& c) {
        const uint32_t net = c.client().addr.value;
        ASSERT_TRUE(deadline.count(net));
        EXPECT_LE(deadline[net], later) << "early";
        EXPECT_GT(deadline[net], previous_expire) << "late";
        deadline.erase(net);
        entries.erase(net);
        timeout_s.erase(net);
      });
      previous_expire = later;
      for (auto& [net, when] : deadline) ASSERT_GT(when, later) << "kept past its deadline";
    }
  }
  EXPECT_GT(table.stats().expired, 1000u);
}

// --- churn ----------------------------------------------------------------------------------

// Random UDP traffic against a model of what should be live: every expiry is on time, no
// entry is lost or kept, and the counters match.
TEST(ConnTableChurn, AgreesWithAModelUnderRandomTraffic) {
  ManualClock clock(5'000'123);
  constexpr uint32_t kCapacity = 1u << 12;
  ConnTableConfig config{kCapacity, 4};
  config.defences = false;  // the model knows nothing of early drops
  ConnTable table(config, Timeouts{0, 0, 7});
  const Endpoint vip = at("192.168.1.100", 53);
  std::map<std::pair<uint32_t, uint16_t>, uint64_t> model;  // client -> expiry
  std::mt19937 rng(42);

  for (int step = 0; step < 40000; ++step) {
    const uint64_t now = clock.now_ms();
    if (rng() % 4 != 0) {
      const Endpoint client{Ipv4{0x0a000000 + static_cast<uint32_t>(rng() % 3000)},
                            static_cast<uint16_t>(1024 + rng() % 4)};
      const auto key = std::pair{client.addr.value, client.port};
      if (Conn* c = table.find_in(Proto::Udp, client, vip)) {
        ASSERT_TRUE(model.count(key));
        table.on_packet(*c, PacketFrom::Client, 0, now);
        model[key] = now + 7000;
      } else {
        ASSERT_FALSE(model.count(key)) << "lost " << client.str();
        NewConn fresh = udp_conn(client, static_cast<uint32_t>(rng() % 4));
        fresh.virtual_addr = vip;
        if (table.insert(fresh, now)) {
          model[key] = now + 7000;
        } else {
          ASSERT_EQ(model.size(), kCapacity);
        }
      }
    } else {
      clock.advance(rng() % 700);
      const uint64_t later = clock.now_ms();
      table.expire(later, [&](const Conn& c) {
        auto it = model.find(std::pair{c.client().addr.value, c.client().port});
        ASSERT_NE(it, model.end());
        EXPECT_LE(it->second, later) << "early";
        model.erase(it);
      });
      for (auto& [key, expiry] : model) ASSERT_GT(expiry, later) << "late";
      ASSERT_EQ(table.size(), model.size());
    }
  }
  uint32_t inactive = 0;
  for (uint32_t d = 0; d < 4; ++d) {
    inactive += table.dest_load(d).inactive;
    EXPECT_EQ(table.dest_load(d).active, 0u);
  }
  EXPECT_EQ(inactive, model.size());
  std::size_t listed = 0;
  table.for_each([&](const Conn&) { ++listed; });
  EXPECT_EQ(listed, model.size());
}

// TCP connections with templates on several destinations, random segments and time: the
// counters always add up to what the entries say, and everything drains in the end.
TEST(ConnTableChurn, CountersAddUpUnderRandomTcpTraffic) {
  ManualClock clock(77);
  constexpr uint32_t kDests = 5;
  ConnTable table(ConnTableConfig{1u << 11, kDests});
  std::mt19937 rng(7);
  const uint8_t kSegments[] = {kSyn, kSyn | kAck, kAck, kFin | kAck, kRst, kPsh | kAck};

  auto check_counters = [&] {
    std::array<DestLoad, kDests> want{};
    table.for_each([&](const Conn& c) {
      DestLoad& w = want[c.dest()];
      if (c.is_template()) {
        ++w.persistent;
      } else if (c.is_active()) {
        ++w.active;
      } else {
        ++w.inactive;
      }
      if (!c.is_template() && c.proto() == Proto::Tcp) {
        EXPECT_EQ(c.is_active(), tcp_state_is_active(c.tcp_state()));
      }
    });
    for (uint32_t d = 0; d < kDests; ++d) {
      EXPECT_EQ(table.dest_load(d).active, want[d].active);
      EXPECT_EQ(table.dest_load(d).inactive, want[d].inactive);
      EXPECT_EQ(table.dest_load(d).persistent, want[d].persistent);
    }
  };

  std::vector<Endpoint> clients;
  for (int step = 0; step < 30000; ++step) {
    const uint64_t now = clock.now_ms();
    const int action = static_cast<int>(rng() % 10);
    if (action < 3) {
      const Endpoint client{Ipv4{0x0a000000 + static_cast<uint32_t>(rng() % 64)},
                            static_cast<uint16_t>(1 + rng() % 64)};
      if (table.find_in(Proto::Tcp, client, kVip)) continue;
      const uint32_t dest = rng() % kDests;
      auto key = TemplateKey::for_service(Proto::Tcp, client.addr, ip("255.255.255.0"), kVip);
      Conn* tmpl = table.find_template(key);
      if (!tmpl && rng() % 2) {
        NewTemplate fresh;
        fresh.key = key;
        fresh.dest = dest;
        fresh.timeout_s = 1 + rng() % 30;
        tmpl = table.insert_template(fresh, now);
      }
      const Method method = rng() % 2 ? Method::Nat : Method::Dr;
      Conn* c = table.insert(tcp_conn(method, client, kRs1, tmpl ? tmpl->dest() : dest), now, tmpl);
      if (c) {
        table.on_packet(*c, PacketFrom::Client, kSyn, now);
        clients.push_back(client);
      }
    } else if (action < 8 && !clients.empty()) {
      const Endpoint client = clients[rng() % clients.size()];
      if (Conn* c = table.find_in(Proto::Tcp, client, kVip)) {
        const auto from = rng() % 2 ? PacketFrom::Client : PacketFrom::Server;
        table.on_packet(*c, from, kSegments[rng() % std::size(kSegments)], now);
      }
    } else if (action < 9 && !clients.empty()) {
      if (Conn* c = table.find_in(Proto::Tcp, clients[rng() % clients.size()], kVip))
        table.expire_now(*c, now);
    } else {
      clock.advance(rng() % 20'000);
      table.expire(clock.now_ms());
    }
    if (step % 1000 == 0) check_counters();
  }
  check_counters();
  clock.advance(3'600'000);  // an hour: everything has timed out, templates too
  table.expire(clock.now_ms());
  EXPECT_EQ(table.size(), 0u);
  for (uint32_t d = 0; d < kDests; ++d) {
    EXPECT_EQ(table.dest_load(d).active, 0u);
    EXPECT_EQ(table.dest_load(d).inactive, 0u);
    EXPECT_EQ(table.dest_load(d).persistent, 0u);
  }
}

}  // namespace
}  // namespace vsd
