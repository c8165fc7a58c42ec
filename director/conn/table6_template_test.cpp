// The IPv6 table's persistence templates: keyed by the client's prefix (-M as a prefix length)
// and the service, or the fwmark; counted in PersistConn; kept while connections depend on
// them; assured by an established connection; set aside by ip_vs_check_template's verdict.
#include <gtest/gtest.h>

#include <vector>

#include "conn/table.h"
#include "conn/table6.h"

namespace vsd {
namespace {

// fd00:10:0:<byte7>::<last>: byte 7 is the last of the first 64 bits.
Ip6 addr(uint8_t last, uint8_t byte7 = 0) {
  return Ip6{0xfd, 0, 0, 0x10, 0, 0, 0, byte7, 0, 0, 0, 0, 0, 0, 0, last};
}

const Endpoint6 kVip{addr(0x64), 80};
const Endpoint6 kServer{addr(0x11), 8080};

ConnTableConfig small_loads() {
  ConnTableConfig config;
  config.capacity = 1024;
  config.max_destinations = 16;
  return config;
}

// An hour on, and the 60 s a template with dependents is kept past its own due time: nothing
// is left, in the table or on the destination's counters.
void expect_everything_expires(Conn6Table& t, const ConnTable& loads, uint32_t dest) {
  t.expire(3600 * 1000);
  t.expire(3660 * 1000);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(loads.dest_load(dest).has_entries());
}

TEST(Conn6Template, KeyIsTheClientsPrefixAndTheService) {
  // fd00:10::2 and fd00:10::3 share their first 64 bits; fd00:10:0:80::2 does not.
  const auto a = Conn6Table::service_template_key(Proto::Tcp, addr(2), 64, kVip);
  EXPECT_EQ(a, Conn6Table::service_template_key(Proto::Tcp, addr(3), 64, kVip));
  EXPECT_NE(a, Conn6Table::service_template_key(Proto::Tcp, addr(2, 0x80), 64, kVip));
  EXPECT_NE(a, Conn6Table::service_template_key(Proto::Udp, addr(2), 64, kVip));
  EXPECT_EQ(a.from.port, 0);
  EXPECT_EQ(a.from.addr, (Ip6{0xfd, 0, 0, 0x10}));
  // A /57 keeps the top bit of the eighth byte, as ipv6_addr_prefix cuts it.
  EXPECT_EQ(Conn6Table::service_template_key(Proto::Tcp, addr(2, 0xc0), 57, kVip).from.addr,
            (Ip6{0xfd, 0, 0, 0x10, 0, 0, 0, 0x80}));
  // 128, the IPv6 default: the client alone.
  EXPECT_NE(Conn6Table::service_template_key(Proto::Tcp, addr(2), 128, kVip),
            Conn6Table::service_template_key(Proto::Tcp, addr(3), 128, kVip));
}

TEST(Conn6Template, IsFoundByItsKeyAndNeverAsAConnection) {
  Conn6Table t;
  const auto key = Conn6Table::service_template_key(Proto::Tcp, addr(2), 128, kVip);
  Conn6* tmpl = t.insert_template(key, kServer, Method::Nat, 1, 300, 0);
  ASSERT_NE(tmpl, nullptr);
  EXPECT_TRUE(tmpl->is_template());
  EXPECT_EQ(t.find_template(key), tmpl);
  // A connection from the client's port 0 to the service is another key.
  EXPECT_EQ(t.find_in({Proto::Tcp, {addr(2), 0}, kVip}), nullptr);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, {addr(2), 0}}), nullptr);
}

TEST(Conn6Template, FwmarkTemplatesServeEveryProtocolAndHoldTheMarkAsTheirVip) {
  const auto key = Conn6Table::fwmark_template_key(addr(2), 128, 0x01020307);
  // The kernel's nf_inet_addr with .ip = htonl(mark): listed as [102:307::].
  EXPECT_EQ(key.to.addr, (Ip6{1, 2, 3, 7}));
  EXPECT_EQ(key.to.port, 0);
  EXPECT_EQ(key.kind, KeyKind6::FwmarkTemplate);
  EXPECT_NE(key, Conn6Table::service_template_key(key.proto, addr(2), 128, key.to));
  Conn6Table t;
  t.insert_template(key, {addr(0x11), 0}, Method::Dr, 0, 60, 0);
  std::vector<ConnectionEntry> out;
  t.describe_from(0, 8, 8, 0, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].any_protocol);
  EXPECT_EQ(out[0].state, "NONE");
}

// A table whose entries are counted on their destinations, and the client fd00:10::2's TCP
// template for the service.
class CountedConn6Template : public testing::Test {
 protected:
  CountedConn6Template() { t.count_loads_on(&loads); }
  // The client's template to dest, and a connection from port 40000 through it.
  Conn6* template_with_a_connection(uint32_t dest, uint32_t timeout_s) {
    Conn6* tmpl = t.insert_template(key, kServer, Method::Nat, dest, timeout_s, 0);
    conn = t.insert({Proto::Tcp, {addr(2), 40000}, kVip}, kServer, Method::Nat, dest, 0, {}, tmpl);
    return tmpl;
  }
  ConnTable loads{small_loads()};
  Conn6Table t;
  const FlowKey6 key = Conn6Table::service_template_key(Proto::Tcp, addr(2), 128, kVip);
  Conn6* conn = nullptr;
};

TEST_F(CountedConn6Template, IsCountedInPersistConnAndItsConnectionsAsUsual) {
  Conn6* tmpl = template_with_a_connection(4, 10);
  EXPECT_EQ(loads.dest_load(4).persistent, 1u);
  EXPECT_EQ(loads.dest_load(4).inactive, 1u);
  EXPECT_EQ(tmpl->dependents(), 1u);
  // The template is looked at first (its slot), while its connection still lives: 60 s more.
  t.expire(3600 * 1000);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(loads.dest_load(4).total(), 0u);
  expect_everything_expires(t, loads, 4);
}

TEST(Conn6Template, LivesWhileAConnectionDependsOnItThenSixtySecondsAtATime) {
  Conn6Table t;
  const auto key = Conn6Table::service_template_key(Proto::Udp, addr(2), 128, kVip);
  Conn6* tmpl = t.insert_template(key, kServer, Method::Nat, 0, 10, 0);
  EXPECT_EQ(tmpl->expires_ms, 10'000u);
  // UDP: 300 s.
  Conn6* c = t.insert({Proto::Udp, {addr(2), 5000}, kVip}, kServer, Method::Nat, 0, 0, {}, tmpl);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(t.template_of(*c), tmpl);
  t.expire(10'000);
  ASSERT_EQ(t.find_template(key), tmpl);
  EXPECT_EQ(tmpl->expires_ms, 70'000u);  // expire_later: 60 s more, and 60 s is its timeout now
  t.refresh(*tmpl, 20'000);
  EXPECT_EQ(tmpl->expires_ms, 80'000u);
  // Due at 80 s, looked at before its connection (its slot comes first): 60 s more, then the
  // connection goes.
  t.expire(300'000);
  EXPECT_EQ(t.find_in(c->in), nullptr);
  EXPECT_EQ(t.find_template(key), tmpl);
  EXPECT_EQ(tmpl->dependents(), 0u);
  t.expire(360'000);
  EXPECT_EQ(t.find_template(key), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(Conn6Template, IsAssuredWhenOneOfItsConnectionsIsEstablished) {
  Conn6Table t;
  const auto key = Conn6Table::service_template_key(Proto::Tcp, addr(2), 128, kVip);
  Conn6* tmpl = t.insert_template(key, kServer, Method::Nat, 0, 300, 0);
  Conn6* c = t.insert({Proto::Tcp, {addr(2), 40000}, kVip}, kServer, Method::Nat, 0, 0, {}, tmpl);
  t.on_packet(*c, true, tcp_flag::kSyn, 0);
  EXPECT_FALSE(tmpl->is_assured());
  t.on_packet(*c, false, tcp_flag::kSyn | tcp_flag::kAck, 1);
  t.on_packet(*c, true, tcp_flag::kAck, 2);
  EXPECT_TRUE(tmpl->is_assured());
  std::vector<ConnectionEntry> out;
  t.describe_from(0, 8, 8, 2, out);
  ASSERT_EQ(out.size(), 2u);
  const auto& listed = out[0].client.port == 0 ? out[0] : out[1];
  EXPECT_EQ(listed.state, "ASSURED");
  EXPECT_EQ(listed.expires_s, 299u);
  EXPECT_EQ(listed.destination.port, 8080);
}

TEST_F(CountedConn6Template, AnInvalidatedTemplateStepsAsideForANewOneAndKeepsItsConnections) {
  Conn6* old = template_with_a_connection(1, 300);
  t.invalidate_template(*old);
  EXPECT_EQ(t.find_template(key), nullptr);
  // ip_vs_check_template rehashes it with vport and dport 65535.
  EXPECT_EQ(old->in.to.port, 0xffff);
  EXPECT_EQ(old->destination.port, 0xffff);
  Conn6* fresh = t.insert_template(key, {addr(0x12), 8080}, Method::Nat, 2, 300, 1);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(t.find_template(key), fresh);
  EXPECT_EQ(t.template_of(*conn), old);
  EXPECT_EQ(loads.dest_load(1).persistent, 1u);
  EXPECT_EQ(loads.dest_load(2).persistent, 1u);
  expect_everything_expires(t, loads, 1);
}

TEST(Conn6Template, ReplacingAConnectionLeavesItsTemplateCounted) {
  Conn6Table t;
  const auto key = Conn6Table::service_template_key(Proto::Tcp, addr(2), 128, kVip);
  Conn6* tmpl = t.insert_template(key, kServer, Method::Nat, 0, 300, 0);
  const FlowKey6 flow{Proto::Tcp, {addr(2), 40000}, kVip};
  t.insert(flow, kServer, Method::Nat, 0, 0, {}, tmpl);
  t.insert(flow, kServer, Method::Nat, 0, 1, {}, tmpl);
  EXPECT_EQ(tmpl->dependents(), 1u);
}

}  // namespace
}  // namespace vsd
