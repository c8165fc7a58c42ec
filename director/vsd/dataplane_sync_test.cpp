// The backup's side of connection synchronization in the data plane (dataplane_sync.cpp): the
// entries a message makes or updates, as ip_vs_proc_conn does, over memory ports and a clock
// that stands still until the test moves it.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "conn/clock.h"
#include "ctl/apply.h"
#include "io/memory_port.h"
#include "sync/message.h"
#include "vsd/dataplane.h"
#include "vsd/memory_bed.h"

namespace vsd {
namespace {

namespace cf = sync::conn_flag;

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

class Backup : public testing::Test {
 protected:
  Backup() {
    ports_.push_back(std::make_unique<MemoryPort>("ext", Mac{{2, 0, 0, 0, 0, 1}}, 1500, 64, 2048));
    ports_.push_back(std::make_unique<MemoryPort>("int", Mac{{2, 0, 0, 0, 0, 2}}, 1500, 64, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, ConnTableConfig{4096, 64});
    RuleSet rules;
    EXPECT_EQ(ctl::apply_restore(rules,
                                 "-A -t 10.0.0.100:80 -s rr\n"
                                 "-a -t 10.0.0.100:80 -r 192.168.1.11:8080 -m\n"
                                 "-a -t 10.0.0.100:80 -r 192.168.1.12:8080 -m\n"
                                 "-A -u 10.0.0.100:53 -s rr -p 120\n"
                                 "-a -u 10.0.0.100:53 -r 192.168.1.11:53 -g\n"),
              std::nullopt);
    EXPECT_EQ(dp_->install(rules), "");
  }

  static sync::SyncConn tcp(uint16_t cport, const char* rs, uint16_t state, uint32_t flags) {
    sync::SyncConn s;
    s.protocol = 6;
    s.flags = flags;
    s.state = state;
    s.cport = cport;
    s.vport = 80;
    s.dport = 8080;
    s.timeout_s = state == 1 ? 900 : 60;
    s.caddr = sync::Address::v4(ip("10.9.0.2"));
    s.vaddr = sync::Address::v4(ip("10.0.0.100"));
    s.daddr = sync::Address::v4(ip(rs));
    return s;
  }
  std::vector<ConnectionEntry> listing() {
    std::vector<ConnectionEntry> out;
    for (std::size_t c = 0; c != ctl::kNoMoreConnections;) c = dp_->connections(c, out);
    return out;
  }
  // The destination of the service on that port.
  DestinationState dest(uint16_t vport, const char* addr) {
    for (const auto& svc : dp_->summary().services)
      if (svc.key.vip.port == vport)
        for (const auto& d : svc.destinations)
          if (d.addr.addr == ip(addr)) return d;
    ADD_FAILURE() << "no destination " << addr << " on port " << vport;
    return {};
  }
  uint64_t counter(const std::string& name) {
    for (const auto& [n, v] : dp_->counters())
      if (n == name) return v;
    return ~0ull;
  }

  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

TEST_F(Backup, MakesTheEntryWithTheMessagesStateAndTimeout) {
  const sync::SyncConn s = tcp(40000, "192.168.1.11", 1, cf::kMasq);
  dp_->apply_sync({&s, 1});
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].state, "ESTABLISHED");
  EXPECT_EQ(l[0].expires_s, 900u);
  EXPECT_EQ(l[0].client, (Endpoint{ip("10.9.0.2"), 40000}));
  EXPECT_EQ(l[0].destination, (Endpoint{ip("192.168.1.11"), 8080}));
  // Not INACTIVE: counted active on its destination.
  EXPECT_EQ(dest(80, "192.168.1.11").active, 1u);
  EXPECT_EQ(dest(80, "192.168.1.11").inactive, 0u);
  // Time passes; a later message restarts the timer with its timeout and moves the counters
  // by its INACTIVE flag.
  clock_.advance(100'000);
  dp_->tick();
  EXPECT_EQ(listing().at(0).expires_s, 800u);
  const sync::SyncConn closing = tcp(40000, "192.168.1.11", 7, cf::kMasq | cf::kInactive);
  dp_->apply_sync({&closing, 1});
  l = listing();
  EXPECT_EQ(l.at(0).state, "CLOSE_WAIT");
  EXPECT_EQ(l.at(0).expires_s, 60u);
  EXPECT_EQ(dest(80, "192.168.1.11").active, 0u);
  EXPECT_EQ(dest(80, "192.168.1.11").inactive, 1u);
  EXPECT_EQ(counter("sync_created"), 1u);
  EXPECT_EQ(counter("sync_updated"), 1u);
}

TEST_F(Backup, AnotherRealServerReplacesALiveEntryButNotForAnInactiveOne) {
  const sync::SyncConn first = tcp(40001, "192.168.1.11", 1, cf::kMasq);
  dp_->apply_sync({&first, 1});
  // The last word of a connection already replaced: ignored.
  const sync::SyncConn stale = tcp(40001, "192.168.1.12", 5, cf::kMasq | cf::kInactive);
  dp_->apply_sync({&stale, 1});
  EXPECT_EQ(listing().at(0).destination.addr, ip("192.168.1.11"));
  EXPECT_EQ(counter("sync_ignored"), 1u);
  // A live one elsewhere: the old entry goes, a new one is made.
  const sync::SyncConn moved = tcp(40001, "192.168.1.12", 1, cf::kMasq);
  dp_->apply_sync({&moved, 1});
  dp_->tick();
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].destination.addr, ip("192.168.1.12"));
}

TEST_F(Backup, PassesOverWhatItCannotServe) {
  std::vector<sync::SyncConn> bad;
  bad.push_back(tcp(1, "192.168.1.99", 1, cf::kMasq));   // no such real server
  bad.push_back(tcp(2, "192.168.1.11", 11, cf::kMasq));  // state past TCP's 11
  bad.push_back(tcp(3, "192.168.1.11", 1, cf::kMasq));
  bad.back().protocol = 132;  // SCTP
  bad.push_back(tcp(4, "192.168.1.11", 1, cf::kMasq));
  bad.back().pe_data = {1};  // engine data on a connection, not a template
  bad.back().pe_name = "sip";
  bad.push_back(tcp(5, "192.168.1.11", 1, cf::kMasq));
  bad.back().ipv6 = true;
  dp_->apply_sync(bad);
  EXPECT_TRUE(listing().empty());
  EXPECT_EQ(counter("sync_skipped"), 5u);
}

// A DR template of client 10.9.0.2 for the persistent UDP service on port 53, to .11.
sync::SyncConn udp_template() {
  sync::SyncConn t;
  t.protocol = 17;
  t.flags = cf::kTemplate | cf::kDroute | cf::kInactive | cf::kNoOutput;
  t.vport = 53;
  t.dport = 53;
  t.timeout_s = 120;
  t.caddr = sync::Address::v4(ip("10.9.0.2"));
  t.vaddr = sync::Address::v4(ip("10.0.0.100"));
  t.daddr = sync::Address::v4(ip("192.168.1.11"));
  return t;
}

TEST_F(Backup, TemplatesAndTheirConnections) {
  // A DR template for the persistent UDP service, then its connection (whose message says
  // MASQ: the entry takes its destination's method, DR, as the kernel's binding does).
  sync::SyncConn t = udp_template();
  t.state = sync::kTemplateAssured;
  sync::SyncConn c = t;
  c.flags = cf::kMasq | cf::kInactive;
  c.state = 0;
  c.cport = 5353;
  c.timeout_s = 300;
  const sync::SyncConn both[] = {t, c};
  dp_->apply_sync(both);
  auto l = listing();
  ASSERT_EQ(l.size(), 2u);
  const auto& tmpl = l[0].client.port == 0 ? l[0] : l[1];
  const auto& conn = l[0].client.port == 0 ? l[1] : l[0];
  EXPECT_EQ(tmpl.state, "ASSURED");
  EXPECT_EQ(tmpl.expires_s, 120u);
  EXPECT_EQ(conn.state, "UDP");
  EXPECT_EQ(conn.expires_s, 300u);
  EXPECT_EQ(dest(53, "192.168.1.11").persistent, 1u);
  EXPECT_EQ(dest(53, "192.168.1.11").inactive, 1u);
}

TEST_F(Backup, ASipTemplateKeepsItsCallIdAndAnotherEngineIsPassedOver) {
  sync::SyncConn t = udp_template();
  t.pe_name = "sip";
  const std::string call_id = "abc@host";
  t.pe_data.assign(call_id.begin(), call_id.end());
  sync::SyncConn other = t;
  other.pe_name = "nosuch";
  const sync::SyncConn both[] = {t, other};
  dp_->apply_sync(both);
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].pe_name, "sip");
  EXPECT_EQ(l[0].pe_data, "abc@host");
  // The same message again updates that template rather than making a second.
  dp_->apply_sync({&t, 1});
  EXPECT_EQ(listing().size(), 1u);
}

}  // namespace
}  // namespace vsd
