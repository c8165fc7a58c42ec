// The IPv6 connection table: found by the client's key and (NAT) by the reply's, TCP state and
// timeouts as the IPv4 table's, bounded, and expired.
#include "conn/table6.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "conn/table.h"

namespace vsd {
namespace {

Ip6 addr(uint8_t last) {
  return Ip6{0xfd, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
}

const FlowKey6 kFlow{Proto::Tcp, {addr(2), 40000}, {addr(0x64), 80}};
const Endpoint6 kServer{addr(0x11), 8080};

TEST(Conn6Table, NatEntriesAreFoundByTheirReply) {
  Conn6Table t;
  Conn6* c = t.insert(kFlow, kServer, Method::Nat, 3, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(t.find_in(kFlow), c);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, kFlow.from}), c);
  EXPECT_EQ(t.find_out({Proto::Udp, kServer, kFlow.from}), nullptr);
  EXPECT_EQ(c->dest, 3u);
}

TEST(Conn6Table, DrEntriesHaveNoReplyKey) {
  Conn6Table t;
  ASSERT_NE(t.insert(kFlow, kServer, Method::Dr, 0, 0), nullptr);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, kFlow.from}), nullptr);
}

TEST(Conn6Table, TcpFollowsTheStateMachineAndItsTimeouts) {
  Conn6Table t;
  Conn6* c = t.insert(kFlow, kServer, Method::Nat, 0, 0);
  t.on_packet(*c, true, tcp_flag::kSyn, 0);
  EXPECT_EQ(c->state, TcpState::SynRecv);
  t.on_packet(*c, false, tcp_flag::kSyn | tcp_flag::kAck, 10);
  t.on_packet(*c, true, tcp_flag::kAck, 20);
  EXPECT_EQ(c->state, TcpState::Established);
  EXPECT_EQ(c->expires_ms, 20 + 900 * 1000u);
  t.set_timeouts({60, 0, 0});
  t.on_packet(*c, true, tcp_flag::kAck, 30);
  EXPECT_EQ(c->expires_ms, 30 + 60 * 1000u);
}

TEST(Conn6Table, ExpiresEntriesAndTheirReplyKeys) {
  Conn6Table t;
  const FlowKey6 udp{Proto::Udp, kFlow.from, kFlow.to};
  t.insert(udp, kServer, Method::Nat, 0, 0);
  t.expire(299 * 1000);
  EXPECT_EQ(t.size(), 1u);
  t.expire(300 * 1000);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find_out({Proto::Udp, kServer, kFlow.from}), nullptr);
  EXPECT_EQ(t.stats().expired, 1u);
}

TEST(Conn6Table, RefusesPastItsCapacity) {
  Conn6Table t(2);
  for (uint16_t port = 1; port <= 3; ++port) {
    FlowKey6 k = kFlow;
    k.from.port = port;
    EXPECT_EQ(t.insert(k, kServer, Method::Nat, 0, 0) != nullptr, port <= 2);
  }
  EXPECT_EQ(t.stats().refused_full, 1u);
}

TEST(Conn6Table, FullNatEntriesAreFoundByTheReplyToTheirLocalEnd) {
  Conn6Table t;
  const Endpoint6 local{addr(0x20), 1024};
  Conn6* c = t.insert(kFlow, kServer, Method::FullNat, 1, 0, local);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, local}), c);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, kFlow.from}), nullptr);
  // Its TCP state follows both directions, as NAT's does.
  t.on_packet(*c, true, tcp_flag::kSyn, 0);
  t.on_packet(*c, false, tcp_flag::kSyn | tcp_flag::kAck, 1);
  t.on_packet(*c, true, tcp_flag::kAck, 2);
  EXPECT_EQ(c->state, TcpState::Established);
  t.expire(16 * 60 * 1000);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, local}), nullptr);
}

TEST(Conn6Table, ALocalPortInUseTowardsTheServerIsPassedOver) {
  Conn6Table t;
  const Ip6 lip = addr(0x20);
  for (uint16_t port = 1024; port <= 1030; ++port) {
    FlowKey6 k = kFlow;
    k.from.port = port;
    ASSERT_NE(t.insert(k, kServer, Method::FullNat, 1, 0, {lip, port}), nullptr);
  }
  EXPECT_EQ(t.pick_local_port(Proto::Tcp, lip, kServer), 1031);
  // Another protocol, server or local address does not collide.
  EXPECT_EQ(t.pick_local_port(Proto::Udp, addr(0x21), kServer), 1024);
  EXPECT_EQ(t.pick_local_port(Proto::Udp, lip, kServer), 1032);
}

// ActiveConn/InActConn as the IPv4 table counts them (ip_vs_bind_dest, set_tcp_state): a new
// entry inactive, ESTABLISHED active, and gone from its column when it expires.
TEST(Conn6Table, CountsEachEntryOnItsDestination) {
  ConnTableConfig config;
  config.capacity = 1024;
  config.max_destinations = 16;
  ConnTable loads(config);
  Conn6Table t;
  t.count_loads_on(&loads);
  Conn6* c = t.insert(kFlow, kServer, Method::Nat, 5, 0);
  FlowKey6 udp = kFlow;
  udp.proto = Proto::Udp;
  t.insert(udp, kServer, Method::Nat, 5, 0);
  EXPECT_EQ(loads.dest_load(5).inactive, 2u);
  EXPECT_EQ(loads.dest_load(5).active, 0u);
  t.on_packet(*c, true, tcp_flag::kSyn, 0);
  t.on_packet(*c, false, tcp_flag::kSyn | tcp_flag::kAck, 1);
  t.on_packet(*c, true, tcp_flag::kAck, 2);
  EXPECT_EQ(loads.dest_load(5).active, 1u);
  EXPECT_EQ(loads.dest_load(5).inactive, 1u);
  t.on_packet(*c, true, tcp_flag::kFin | tcp_flag::kAck, 3);
  EXPECT_EQ(loads.dest_load(5).active, 0u);
  EXPECT_EQ(loads.dest_load(5).inactive, 2u);
  t.expire(3600 * 1000);
  EXPECT_EQ(loads.dest_load(5).total(), 0u);
}

TEST(Conn6Table, ListsItsEntriesInChunks) {
  Conn6Table t;
  Conn6* c = t.insert(kFlow, kServer, Method::Nat, 0, 0);
  t.on_packet(*c, true, tcp_flag::kSyn, 0);
  FlowKey6 udp = kFlow;
  udp.proto = Proto::Udp;
  t.insert(udp, kServer, Method::Dr, 0, 0);
  std::vector<ConnectionEntry> out;
  constexpr std::size_t kSlots = 1024;
  const std::size_t next = t.describe_from(0, 1, kSlots, 500, out);
  ASSERT_NE(next, Conn6Table::kListed);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(t.describe_from(next, 1, kSlots, 500, out), Conn6Table::kListed);
  EXPECT_EQ(t.describe_from(next + 1, 1, kSlots, 500, out), Conn6Table::kListed);
  ASSERT_EQ(out.size(), 2u);
  const auto& tcp = out[0].proto == Proto::Tcp ? out[0] : out[1];
  const auto& datagram = out[0].proto == Proto::Tcp ? out[1] : out[0];
  EXPECT_EQ(tcp.state, "SYN_RECV");
  EXPECT_EQ(tcp.expires_s, 59u);  // 60 s from 0, read at 0.5 s
  EXPECT_EQ(tcp.client.str(), "[fd00:10::2]:40000");
  EXPECT_EQ(tcp.virtual_addr.str(), "[fd00:10::64]:80");
  EXPECT_EQ(tcp.destination.str(), "[fd00:10::11]:8080");
  EXPECT_EQ(datagram.state, "UDP");
  EXPECT_EQ(datagram.expires_s, 299u);
}

// A listing that goes on from where the last chunk stopped sees each entry once, also when
// entries before it went in between; and a chunk stops after max_slots slots.
TEST(Conn6Table, ListingGoesOnFromItsSlotPastEntriesThatWent) {
  Conn6Table t(16);
  std::vector<Conn6*> made;
  for (uint16_t port = 1; port <= 6; ++port) {
    FlowKey6 k = kFlow;
    k.proto = Proto::Udp;
    k.from.port = port;
    made.push_back(t.insert(k, kServer, Method::Nat, 0, port <= 2 ? 0 : 100 * 1000));
  }
  std::vector<ConnectionEntry> out;
  std::size_t at = t.describe_from(0, 3, 1024, 0, out);
  ASSERT_EQ(out.size(), 3u);
  t.expire(300 * 1000);  // the first two (made at 0) go
  EXPECT_EQ(t.size(), 4u);
  while (at != Conn6Table::kListed) at = t.describe_from(at, 1, 1, 300 * 1000, out);
  ASSERT_EQ(out.size(), 6u);
  std::vector<uint16_t> ports;
  for (const auto& e : out) ports.push_back(e.client.port);
  std::sort(ports.begin(), ports.end());
  EXPECT_EQ(ports, (std::vector<uint16_t>{1, 2, 3, 4, 5, 6}));
}

// The look-ahead's hint names a bucket for one key: the lookup it was made for finds the entry
// through it, and one of another key or side, or a hint made for no key, hashes as without.
TEST(Conn6Table, HintsSpeedTheirOwnLookupAndNoOther) {
  Conn6Table t;
  Conn6* c = t.insert(kFlow, kServer, Method::Nat, 0, 0);
  const FlowKey6 reply{Proto::Tcp, kServer, kFlow.from};
  FlowKey6 other = kFlow;
  other.from.port++;
  const Conn6Table::Hint in = t.prefetch_in(kFlow), out = t.prefetch_out(reply);
  t.prefetch_entry(in);
  t.prefetch_chain(in);
  t.prefetch_entry(out);
  t.prefetch_chain(out);
  EXPECT_EQ(t.find_in(kFlow, &in), c);
  EXPECT_EQ(t.find_out(reply, &out), c);
  EXPECT_EQ(t.find_in(kFlow, &out), c);
  EXPECT_EQ(t.find_out(reply, &in), c);
  EXPECT_EQ(t.find_in(other, &in), nullptr);
  const Conn6Table::Hint none;
  t.prefetch_entry(none);
  EXPECT_EQ(t.find_in(kFlow, &none), c);
  // A hint made before the entry was: the bucket is the key's, so it finds it.
  const Conn6Table::Hint early = t.prefetch_in(other);
  Conn6* d = t.insert(other, kServer, Method::Nat, 0, 0);
  EXPECT_EQ(t.find_in(other, &early), d);
}

// Inserting a key that is there already replaces its entry: one entry, counted once, found by
// the new reply key and not the old.
TEST(Conn6Table, InsertingAKeyAgainReplacesItsEntry) {
  ConnTableConfig config;
  config.capacity = 64;
  config.max_destinations = 4;
  ConnTable loads(config);
  Conn6Table t;
  t.count_loads_on(&loads);
  t.insert(kFlow, kServer, Method::Nat, 1, 0);
  const Endpoint6 other_server{addr(0x12), 8080};
  Conn6* c = t.insert(kFlow, other_server, Method::Nat, 2, 0);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find_in(kFlow), c);
  EXPECT_EQ(t.find_out({Proto::Tcp, kServer, kFlow.from}), nullptr);
  EXPECT_EQ(t.find_out({Proto::Tcp, other_server, kFlow.from}), c);
  EXPECT_EQ(loads.dest_load(1).total(), 0u);
  EXPECT_EQ(loads.dest_load(2).inactive, 1u);
}

// Many flows, far more than fit one chain each: every one is found from both sides, and each
// slot taken when one expires is given to the next.
TEST(Conn6Table, FindsEveryFlowOfAFullTable) {
  constexpr std::size_t kCapacity = 4096;
  Conn6Table t(kCapacity);
  auto flow = [](std::size_t i) {
    FlowKey6 k = kFlow;
    k.from.addr[14] = uint8_t(i >> 8);
    k.from.port = uint16_t(1024 + (i & 0xff));
    return k;
  };
  for (std::size_t i = 0; i < kCapacity; ++i)
    ASSERT_NE(t.insert(flow(i), kServer, Method::Nat, 0, 0), nullptr) << i;
  EXPECT_EQ(t.insert(flow(kCapacity), kServer, Method::Nat, 0, 0), nullptr);
  for (std::size_t i = 0; i < kCapacity; ++i) {
    Conn6* c = t.find_in(flow(i));
    ASSERT_NE(c, nullptr) << i;
    EXPECT_EQ(t.find_out({Proto::Tcp, kServer, flow(i).from}), c) << i;
  }
  t.expire(3600 * 1000);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_NE(t.insert(flow(kCapacity), kServer, Method::Nat, 0, 0), nullptr);
  EXPECT_EQ(t.find_in(flow(0)), nullptr);
}

TEST(Conn6Table, RefusesACapacityOfNothing) {
  EXPECT_THROW(Conn6Table(0), std::invalid_argument);
}

}  // namespace
}  // namespace vsd
