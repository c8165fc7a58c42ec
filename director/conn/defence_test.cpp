// The defence modes as the kernel works them out (ip_vs_ctl.c update_defense_level, ip_vs.h
// ip_vs_todrop) and drop_entry's round (ip_vs_conn.c ip_vs_random_dropentry), on a fake clock
// and a seeded random source.
#include "conn/defence.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "conn/table.h"

namespace vsd {
namespace {

constexpr int64_t kPlenty = 1 << 30;

// Which of `count` new connections are dropped, numbered from 1.
std::vector<int> dropped_of(Defence& defence, int count) {
  std::vector<int> dropped;
  for (int i = 1; i <= count; ++i)
    if (defence.drop_new_connection()) dropped.push_back(i);
  return dropped;
}

TEST(Defence, AtTheDefaultsNothingIsOn) {
  Defence defence;
  Sysctls s;
  defence.update(s, 0);  // even with no memory at all
  EXPECT_FALSE(defence.drop_entry());
  EXPECT_FALSE(defence.secure_tcp());
  EXPECT_TRUE(dropped_of(defence, 50).empty());
  EXPECT_EQ(s, Sysctls{});
}

// drop_packet=3: rate am_droprate, and the counter starts at 0, so the first new connection
// goes, then one in N.
TEST(Defence, DropPacketThreeDropsTheFirstThenOneInAmDroprate) {
  Defence defence;
  Sysctls s;
  s.am_droprate = 3;
  s.drop_packet = 3;
  defence.update(s, kPlenty);
  EXPECT_EQ(dropped_of(defence, 10), (std::vector<int>{1, 4, 7, 10}));
  EXPECT_EQ(s.drop_packet, 3);
}

TEST(Defence, ANewAmDroprateTakesTheCounterFromWhereItIs) {
  Defence defence;
  Sysctls s;
  s.am_droprate = 3;
  s.drop_packet = 3;
  defence.update(s, kPlenty);
  EXPECT_EQ(dropped_of(defence, 2), (std::vector<int>{1}));  // the counter is at 2
  s.am_droprate = 10;
  defence.update(s, kPlenty);
  // 1 left of the old counter, then 10 by 10.
  EXPECT_EQ(dropped_of(defence, 22), (std::vector<int>{2, 12, 22}));
}

// Mode 1: memory short shows as 2, the rate is amemthresh / shortfall, and the counter starts
// there; memory back shows as 1 and nothing is dropped.
TEST(Defence, DropPacketOneFollowsTheMemory) {
  Defence defence;
  Sysctls s;
  s.drop_packet = 1;
  defence.update(s, kPlenty);
  EXPECT_EQ(s.drop_packet, 1);
  EXPECT_TRUE(dropped_of(defence, 20).empty());
  defence.update(s, 768);  // 1024 / (1024 - 768) = 4
  EXPECT_EQ(s.drop_packet, 2);
  EXPECT_EQ(defence.drop_rate(), 4);
  EXPECT_EQ(dropped_of(defence, 9), (std::vector<int>{4, 8}));
  defence.update(s, 1024);  // not below the threshold
  EXPECT_EQ(s.drop_packet, 1);
  EXPECT_TRUE(dropped_of(defence, 20).empty());
}

TEST(Defence, DropPacketTwoWithPlentyOfMemoryFallsBackToOne) {
  Defence defence;
  Sysctls s;
  s.drop_packet = 2;
  defence.update(s, kPlenty);
  EXPECT_EQ(s.drop_packet, 1);
  EXPECT_TRUE(dropped_of(defence, 20).empty());
}

TEST(Defence, SecureTcpSwitchesTheTablesWhenItsModeCrossesTwo) {
  Defence defence;
  Sysctls s;
  s.secure_tcp = 3;
  defence.update(s, kPlenty);
  EXPECT_TRUE(defence.secure_tcp());
  s.secure_tcp = 1;  // memory plentiful: off
  defence.update(s, kPlenty);
  EXPECT_FALSE(defence.secure_tcp());
  EXPECT_EQ(s.secure_tcp, 1);
  defence.update(s, 100);
  EXPECT_TRUE(defence.secure_tcp());
  EXPECT_EQ(s.secure_tcp, 2);
  defence.update(s, 100);
  EXPECT_TRUE(defence.secure_tcp());
  defence.update(s, kPlenty);
  EXPECT_FALSE(defence.secure_tcp());
  EXPECT_EQ(s.secure_tcp, 1);
  s.secure_tcp = 0;
  defence.update(s, 0);
  EXPECT_FALSE(defence.secure_tcp());
}

TEST(Defence, DropEntryIsOnAtThreeAndWhileMemoryIsShortAtOne) {
  Defence defence;
  Sysctls s;
  s.drop_entry = 1;
  defence.update(s, kPlenty);
  EXPECT_FALSE(defence.drop_entry());
  defence.update(s, 1023);
  EXPECT_TRUE(defence.drop_entry());
  EXPECT_EQ(s.drop_entry, 2);
  s.drop_entry = 3;
  defence.update(s, kPlenty);
  EXPECT_TRUE(defence.drop_entry());
  s.drop_entry = 0;
  defence.update(s, 0);
  EXPECT_FALSE(defence.drop_entry());
}

TEST(Defence, AvailableMemoryIsFreePlusBuffersInPages) {
  const std::string meminfo =
      "MemTotal:        8000000 kB\nMemFree:          400000 kB\nMemAvailable:    6000000 kB\n"
      "Buffers:           40000 kB\nCached:          3000000 kB\n";
  EXPECT_EQ(available_pages_from_meminfo(meminfo, 4096), (400000 + 40000) / 4);
  EXPECT_EQ(available_pages_from_meminfo("MemFree: 4 kB\n", 4096), std::nullopt);
  EXPECT_EQ(available_pages_from_meminfo("MemFree: x kB\nBuffers: 4 kB\n", 4096), std::nullopt);
  EXPECT_TRUE(available_pages().has_value()) << "/proc/meminfo unreadable";
}

// --- drop_entry's round ----------------------------------------------------------------------

const Endpoint kVip{*Ipv4::parse("192.168.1.100"), 80};
const Endpoint kRs{*Ipv4::parse("10.1.0.11"), 80};

class DropEntry : public ::testing::Test {
 protected:
  // One slot per group: each group drawn looks at exactly one entry.
  DropEntry()
      : table_(ConnTableConfig{.capacity = ConnTable::kDropEntryGroups, .defences = false}) {}

  Conn* add(Proto proto, uint32_t n) {
    NewConn c;
    c.proto = proto;
    c.client = Endpoint{Ipv4{0x0a000000u + n}, uint16_t(1024 + n % 60000)};
    c.virtual_addr = kVip;
    c.destination = kRs;
    Conn* conn = table_.insert(c, 0);
    EXPECT_NE(conn, nullptr);
    return conn;
  }
  // The groups the next round draws: the round's own rule, 128 draws masked to 4096.
  std::set<uint32_t> groups_drawn(std::mt19937 random) {
    std::set<uint32_t> groups;
    for (uint32_t i = 0; i < ConnTable::kDropEntryGroups / 32; ++i)
      groups.insert(static_cast<uint32_t>(random()) & (ConnTable::kDropEntryGroups - 1));
    return groups;
  }
  ConnTable table_;
};

TEST_F(DropEntry, HalfOpenConnectionsInTheGroupsDrawnGo) {
  std::vector<Conn*> conns;
  for (uint32_t n = 0; n < ConnTable::kDropEntryGroups; ++n) {
    conns.push_back(add(Proto::Tcp, n));
    table_.on_packet(*conns.back(), PacketFrom::Client, tcp_flag::kSyn, 0);  // SYN_RECV
  }
  std::mt19937 random(2024);
  const auto drawn = groups_drawn(random);
  ASSERT_GT(drawn.size(), 100u);  // a few drawn twice
  std::set<uint32_t> doomed;
  for (Conn* conn : conns)
    if (drawn.count(table_.slot_of(*conn) % ConnTable::kDropEntryGroups))
      doomed.insert(table_.slot_of(*conn));
  EXPECT_EQ(table_.drop_random_entries(random, 1000), drawn.size());
  EXPECT_EQ(table_.expire(1000), drawn.size());
  std::size_t left = 0;
  table_.for_each([&](const Conn& conn) {
    EXPECT_FALSE(doomed.count(table_.slot_of(conn))) << "slot " << table_.slot_of(conn);
    ++left;
  });
  EXPECT_EQ(left, ConnTable::kDropEntryGroups - drawn.size());
}

TEST_F(DropEntry, OtherTcpStatesAndFreshEntriesStay) {
  for (uint32_t n = 0; n < ConnTable::kDropEntryGroups; ++n) {
    Conn* conn = add(n % 2 ? Proto::Tcp : Proto::Udp, n);
    if (n % 2) {
      table_.on_packet(*conn, PacketFrom::Client, tcp_flag::kSyn, 0);
      table_.on_packet(*conn, PacketFrom::Server, tcp_flag::kSyn | tcp_flag::kAck, 0);
      table_.on_packet(*conn, PacketFrom::Client, tcp_flag::kFin, 0);  // not ESTABLISHED
    } else {
      table_.on_packet(*conn, PacketFrom::Client, 0, 0);  // UDP, 1 packet, idle too short
    }
  }
  std::mt19937 random(7);
  for (int second = 1; second <= 59; ++second)
    EXPECT_EQ(table_.drop_random_entries(random, uint64_t(second) * 1000), 0u) << second;
}

// Idle 60 s and n packets (1..8): one in n of those looked at goes, the first included (the
// counter of entries with n packets starts at 0). 9 packets or more never go.
TEST_F(DropEntry, IdleEntriesGoOneInTheirPacketCount) {
  std::vector<int> packets_at(ConnTable::kDropEntryGroups);
  for (uint32_t n = 0; n < ConnTable::kDropEntryGroups; ++n) {
    Conn* conn = add(Proto::Udp, n);
    const int packets = n % 2 ? 2 : 9;
    for (int i = 0; i < packets; ++i) table_.on_packet(*conn, PacketFrom::Client, 0, 0);
    EXPECT_EQ(ConnTable::client_packets(*conn), uint32_t(packets));
    packets_at[table_.slot_of(*conn)] = packets;
  }
  std::mt19937 random(99);
  // The draws in order: a 2-packet entry looked at goes when the counter says so (drop,
  // keep, drop, ...); one gone is not looked at again.
  std::mt19937 draws = random;
  std::set<uint32_t> gone;
  int counter = 0;
  for (uint32_t i = 0; i < ConnTable::kDropEntryGroups / 32; ++i) {
    const uint32_t slot = static_cast<uint32_t>(draws()) & (ConnTable::kDropEntryGroups - 1);
    if (packets_at[slot] != 2 || gone.count(slot)) continue;
    if (--counter > 0) continue;
    counter = 2;
    gone.insert(slot);
  }
  ASSERT_GT(gone.size(), 20u);
  std::mt19937 early = random;
  EXPECT_EQ(table_.drop_random_entries(early, 59'999), 0u) << "idle under 60 s";
  EXPECT_EQ(table_.drop_random_entries(random, 60'000), gone.size());
  table_.expire(60'000);
  table_.for_each([&](const Conn& conn) { EXPECT_FALSE(gone.count(table_.slot_of(conn))); });
  EXPECT_EQ(table_.size(), ConnTable::kDropEntryGroups - gone.size());
}

TEST_F(DropEntry, TemplatesGoWhenUnassuredAndUnused) {
  NewTemplate t;
  t.key = TemplateKey::for_service(Proto::Tcp, *Ipv4::parse("10.9.0.1"),
                                   *Ipv4::parse("255.255.255.255"), kVip);
  t.destination = kRs;
  Conn* unused = table_.insert_template(t, 0);
  t.key = TemplateKey::for_service(Proto::Tcp, *Ipv4::parse("10.9.0.2"),
                                   *Ipv4::parse("255.255.255.255"), kVip);
  Conn* used = table_.insert_template(t, 0);
  NewConn c;
  c.client = Endpoint{*Ipv4::parse("10.9.0.2"), 5000};
  c.virtual_addr = kVip;
  c.destination = kRs;
  Conn* child = table_.insert(c, 0, used);
  table_.on_packet(*child, PacketFrom::Client, tcp_flag::kSyn, 0);
  table_.on_packet(*child, PacketFrom::Client, tcp_flag::kAck, 0);  // ESTABLISHED, 2 packets
  ASSERT_EQ(table_.size(), 3u);
  std::mt19937 random(1);
  for (int second = 0; second < 400 && table_.size() == 3; ++second)
    table_.drop_random_entries(random, 1000), table_.expire(1000);
  // The unused one went; the one a connection depends on stays however often it is drawn.
  EXPECT_EQ(table_.find_template(TemplateKey::for_service(Proto::Tcp, *Ipv4::parse("10.9.0.1"),
                                                          *Ipv4::parse("255.255.255.255"), kVip)),
            nullptr);
  EXPECT_NE(table_.find_template(TemplateKey::for_service(Proto::Tcp, *Ipv4::parse("10.9.0.2"),
                                                          *Ipv4::parse("255.255.255.255"), kVip)),
            nullptr);
  (void)unused;
}

}  // namespace
}  // namespace vsd
