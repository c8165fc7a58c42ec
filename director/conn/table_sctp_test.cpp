// SCTP connections in the table: the state each packet leaves, its timeout, the destination
// counters (only ESTABLISHED is active, as set_sctp_state keeps them), the listing's names,
// the assured template and the early drop of INIT states.
#include <gtest/gtest.h>

#include "conn/table.h"

namespace vsd {
namespace {

using namespace sctp_chunk;

Endpoint at(std::string_view text, uint16_t port) {
  return Endpoint{*Ipv4::parse(text), port};
}

NewConn sctp_conn(Method method, uint16_t client_port) {
  NewConn c;
  c.proto = Proto::Sctp;
  c.client = at("10.9.0.2", client_port);
  c.virtual_addr = at("192.168.1.100", 3868);
  c.destination = at("10.1.0.11", 3868);
  c.method = method;
  return c;
}

TEST(ConnTableSctp, NatAssociationWalksTheStatesAndCounts) {
  ConnTable table;
  Conn* c = table.insert(sctp_conn(Method::Nat, 40000), 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state_name(), "NONE");
  struct Step {
    PacketFrom from;
    uint8_t chunk;
    std::string_view state;
    uint64_t expires_ms;
    uint32_t active;
  };
  const Step steps[] = {
      {PacketFrom::Client, kInit, "INIT1", 4'000, 0},
      {PacketFrom::Server, kInitAck, "C-SENT", 61'000, 0},
      {PacketFrom::Client, kCookieEcho, "C-REPLIED", 61'000, 0},
      {PacketFrom::Server, kCookieAck, "ESTABLISHED", 900'000, 1},
      {PacketFrom::Client, kData, "ESTABLISHED", 900'000, 1},
      {PacketFrom::Client, kShutdown, "S-RECEIVED", 61'000, 0},
      {PacketFrom::Server, kShutdownAck, "S-ACK-SENT", 61'000, 0},
      {PacketFrom::Client, kShutdownComplete, "CLOSED", 61'000, 0},
  };
  uint64_t now = 0;
  for (const Step& step : steps) {
    now += 10;
    table.on_sctp_packet(*c, step.from, step.chunk, now);
    EXPECT_EQ(c->state_name(), step.state);
    EXPECT_EQ(table.expires_in_ms(*c, now), step.expires_ms) << step.state;
    EXPECT_EQ(table.dest_load(0).active, step.active) << step.state;
    EXPECT_EQ(table.dest_load(0).inactive, 1 - step.active) << step.state;
  }
}

TEST(ConnTableSctp, APacketWithoutAChunkKeepsTheStateAndRestartsItsTimeout) {
  ConnTable table;
  Conn* c = table.insert(sctp_conn(Method::Nat, 40000), 0);
  table.on_sctp_packet(*c, PacketFrom::Client, kInit, 0);
  table.on_sctp_packet(*c, PacketFrom::Client, std::nullopt, 3'000);
  EXPECT_EQ(c->state_name(), "INIT1");
  EXPECT_EQ(table.expires_in_ms(*c, 3'000), 4'000u);
}

TEST(ConnTableSctp, DirectRoutingUsesTheClientOnlyTable) {
  ConnTable table;
  Conn* c = table.insert(sctp_conn(Method::Dr, 40000), 0);
  table.on_sctp_packet(*c, PacketFrom::Client, kInit, 0);
  table.on_sctp_packet(*c, PacketFrom::Client, kCookieEcho, 1);
  EXPECT_EQ(c->state_name(), "ESTABLISHED");
  EXPECT_EQ(table.dest_load(0).active, 1u);
}

TEST(ConnTableSctp, EstablishingAssuresTheTemplate) {
  ConnTable table;
  NewTemplate t;
  t.key = TemplateKey::for_service(Proto::Sctp, *Ipv4::parse("10.9.0.2"),
                                   *Ipv4::parse("255.255.255.255"), at("192.168.1.100", 3868));
  t.destination = at("10.1.0.11", 3868);
  Conn* tmpl = table.insert_template(t, 0);
  Conn* c = table.insert(sctp_conn(Method::Nat, 40000), 0, tmpl);
  table.on_sctp_packet(*c, PacketFrom::Client, kInit, 0);
  EXPECT_EQ(tmpl->state_name(), "NONE");
  table.on_sctp_packet(*c, PacketFrom::Server, kInitAck, 0);
  table.on_sctp_packet(*c, PacketFrom::Client, kCookieEcho, 0);
  table.on_sctp_packet(*c, PacketFrom::Server, kCookieAck, 0);
  EXPECT_EQ(tmpl->state_name(), "ASSURED");
}

TEST(ConnTableSctp, InitStatesAreDroppedEarlyUnderPressure) {
  ConnTableConfig config;
  config.capacity = 2;
  config.pressure_at = 1;
  ConnTable table(config);
  Conn* half_open = table.insert(sctp_conn(Method::Nat, 40000), 0);
  table.on_sctp_packet(*half_open, PacketFrom::Client, kInit, 0);
  Conn* fresh = table.insert(sctp_conn(Method::Nat, 40001), 0);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(table.stats().early_dropped, 1u);
  EXPECT_EQ(table.find_in(Proto::Sctp, at("10.9.0.2", 40000), at("192.168.1.100", 3868)), nullptr);
}

}  // namespace
}  // namespace vsd
