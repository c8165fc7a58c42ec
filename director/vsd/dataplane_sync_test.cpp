// The backup's side of connection synchronization in the data plane (dataplane_sync.cpp): the
// entries a message makes or updates, as ip_vs_proc_conn does, over memory ports and a clock
// that stands still until the test moves it.
#include <gtest/gtest.h>
#include <tins/tins.h>

#include <memory>
#include <vector>

#include "conn/clock.h"
#include "ctl/apply.h"
#include "fwd/test_frames.h"
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

// --- IPv6 ------------------------------------------------------------------------------------

IpEndpoint ep6(const char* addr, uint16_t port) {
  return {*IpAddr::parse(addr), port};
}

sync::Address addr6(const char* text) {
  sync::Address a;
  a.bytes = IpAddr::parse(text)->bytes;
  return a;
}

// An IPv6 service beside the IPv4 ones: the backup's entries go in the IPv6 table, found and
// counted as ip_vs_proc_conn finds them; the master's come from IPv6 client packets.
class Sync6 : public Backup {
 protected:
  Sync6() {
    RuleSet rules;
    EXPECT_EQ(ctl::apply_restore(rules,
                                 "-A -t [2001:db8::100]:80 -s rr\n"
                                 "-a -t [2001:db8::100]:80 -r [2001:db8:1::11]:8080 -m\n"
                                 "-a -t [2001:db8::100]:80 -r [2001:db8:1::12]:8080 -m\n"
                                 "-A -u [2001:db8::100]:53 -s rr\n"
                                 "-a -u [2001:db8::100]:53 -r [2001:db8:1::11]:53 -g\n"
                                 "-A -t [2001:db8::100]:443 -s rr -p 300 -M 64\n"
                                 "-a -t [2001:db8::100]:443 -r [2001:db8:1::11]:443 -g\n"
                                 "-a -t [2001:db8::100]:443 -r [2001:db8:1::12]:443 -g\n"),
              std::nullopt);
    EXPECT_EQ(dp_->install(rules), "");
  }
  static sync::SyncConn tcp6(uint16_t cport, const char* rs, uint16_t state, uint32_t flags) {
    sync::SyncConn s;
    s.ipv6 = true;
    s.protocol = 6;
    s.flags = flags;
    s.state = state;
    s.cport = cport;
    s.vport = 80;
    s.dport = 8080;
    s.timeout_s = state == 1 ? 900 : 60;
    s.caddr = addr6("2001:db8:9::2");
    s.vaddr = addr6("2001:db8::100");
    s.daddr = addr6(rs);
    return s;
  }
  // The first destination at addr, or at [addr]:port where port is given.
  DestinationState dest6(const char* addr, uint16_t port = 0) {
    for (const auto& svc : dp_->summary().services)
      for (const auto& d : svc.destinations)
        if (d.addr.addr == *IpAddr::parse(addr) && (port == 0 || d.addr.port == port)) return d;
    ADD_FAILURE() << "no destination " << addr;
    return {};
  }
  // One TCP segment from [2001:db8:9::2]:cport to the VIP's port vport, on the client's side.
  void from_client6(uint16_t cport, uint16_t flags, uint16_t vport = 80) {
    namespace t = fwd::testing;
    auto pdu = Tins::EthernetII("02:00:00:00:00:01", "02:00:00:00:00:99") /
               Tins::IPv6("2001:db8::100", "2001:db8:9::2") / t::tcp(cport, vport, flags) /
               Tins::RawPDU(t::payload_bytes(8));
    t::Bytes frame = t::serialize(pdu);
    dp_->handle(0, frame);
    dp_->flush();
  }
};

TEST_F(Sync6, BackupMakesAndUpdatesIpv6Entries) {
  const sync::SyncConn s = tcp6(40000, "2001:db8:1::12", 1, cf::kMasq);
  dp_->apply_sync({&s, 1});
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].state, "ESTABLISHED");
  EXPECT_EQ(l[0].expires_s, 900u);
  EXPECT_EQ(l[0].client, ep6("2001:db8:9::2", 40000));
  EXPECT_EQ(l[0].virtual_addr, ep6("2001:db8::100", 80));
  EXPECT_EQ(l[0].destination, ep6("2001:db8:1::12", 8080));
  EXPECT_EQ(dest6("2001:db8:1::12").active, 1u);
  // The client's FIN on the master: CLOSE_WAIT, INACTIVE, its timeout from now.
  clock_.advance(100'000);
  dp_->tick();
  const sync::SyncConn closing = tcp6(40000, "2001:db8:1::12", 7, cf::kMasq | cf::kInactive);
  dp_->apply_sync({&closing, 1});
  l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].state, "CLOSE_WAIT");
  EXPECT_EQ(l[0].expires_s, 60u);
  EXPECT_EQ(dest6("2001:db8:1::12").active, 0u);
  EXPECT_EQ(dest6("2001:db8:1::12").inactive, 1u);
  // The last word of a connection replaced by one to another server: ignored; a live one
  // elsewhere replaces it.
  const sync::SyncConn stale = tcp6(40000, "2001:db8:1::11", 5, cf::kMasq | cf::kInactive);
  dp_->apply_sync({&stale, 1});
  EXPECT_EQ(listing().at(0).destination, ep6("2001:db8:1::12", 8080));
  const sync::SyncConn moved = tcp6(40000, "2001:db8:1::11", 1, cf::kMasq);
  dp_->apply_sync({&moved, 1});
  l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].destination, ep6("2001:db8:1::11", 8080));
  EXPECT_EQ(counter("sync_created"), 2u);
  EXPECT_EQ(counter("sync_updated"), 1u);
  EXPECT_EQ(counter("sync_ignored"), 1u);
}

TEST_F(Sync6, BackupTakesUdpAndPassesOverWhatItCannotServe) {
  sync::SyncConn udp = tcp6(5353, "2001:db8:1::11", 0, cf::kDroute | cf::kInactive);
  udp.protocol = 17;
  udp.vport = udp.dport = 53;
  udp.timeout_s = 300;
  dp_->apply_sync({&udp, 1});
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].state, "UDP");
  EXPECT_EQ(l[0].destination, ep6("2001:db8:1::11", 53));
  // No such real server, no such VIP, an IPv6 template with SIP engine data (vsd's engine keys
  // IPv4 templates only), a bad state.
  std::vector<sync::SyncConn> skipped(4, tcp6(40001, "2001:db8:1::99", 1, cf::kMasq));
  skipped[1].daddr = addr6("2001:db8:1::11");
  skipped[1].vaddr = addr6("2001:db8::999");
  skipped[2].daddr = addr6("2001:db8:1::11");
  skipped[2].flags |= cf::kTemplate;
  skipped[2].pe_name = "sip";
  skipped[2].pe_data = {'a', '@', 'b'};
  skipped[3].daddr = addr6("2001:db8:1::11");
  skipped[3].state = kTcpStateCount;
  dp_->apply_sync(skipped);
  EXPECT_EQ(listing().size(), 1u);
  EXPECT_EQ(counter("sync_skipped"), 4u);
}

// The master: IPv6 client segments through the data plane make the entries its send rules pick,
// in the IPv6 form, with what the frames and the rules say.
TEST_F(Sync6, MasterSendsIpv6ConnectionsFromTheirClientPackets) {
  dp_->swap_sync_master(std::make_unique<sync::MasterTracker>(
      dp_->table_capacity(), sync::SendRules{}, dp_->table6_capacity()));
  std::vector<sync::SyncConn> out;
  std::vector<int> sent_at;
  for (int i = 1; i <= 4; ++i) {
    from_client6(40000, i == 1 ? Tins::TCP::SYN : Tins::TCP::ACK);
    dp_->take_sync(out);
    if (!out.empty()) sent_at.push_back(i);
    if (i == 3) {
      ASSERT_EQ(out.size(), 1u);
      const auto& s = out[0];
      EXPECT_TRUE(s.ipv6);
      EXPECT_EQ(s.protocol, 6);
      EXPECT_EQ(s.state, 1);  // ESTABLISHED
      EXPECT_EQ(s.flags, cf::kMasq);
      EXPECT_EQ(s.timeout_s, 900u);
      EXPECT_EQ(s.caddr, addr6("2001:db8:9::2"));
      EXPECT_EQ(s.vaddr, addr6("2001:db8::100"));
      EXPECT_EQ(s.cport, 40000);
      EXPECT_EQ(s.vport, 80);
      EXPECT_EQ(s.dport, 8080);
      EXPECT_TRUE(s.daddr == addr6("2001:db8:1::11") || s.daddr == addr6("2001:db8:1::12"));
      // What the backup makes of it, through the codec.
      const auto bytes = sync::encode_message(0, out);
      EXPECT_EQ(bytes.size(), sync::kHeaderSize + sync::kEntryV6Size);
      EXPECT_EQ(sync::decode_message(bytes).conns.at(0), s);
    }
  }
  EXPECT_EQ(sent_at, (std::vector<int>{3}));
  // sync_version=0: no IPv6 entry at all.
  ASSERT_EQ(dp_->set_sysctl("sync_version", "0"), "");
  for (int i = 1; i <= 60; ++i) {
    from_client6(40001, i == 1 ? Tins::TCP::SYN : Tins::TCP::ACK);
    dp_->take_sync(out);
    EXPECT_TRUE(out.empty()) << i;
  }
}

// ip_vs_proc_conn for an IPv6 template: the backup makes it under the key the master used (the
// client's /64 already cut, port 0), with the message's timeout and assured flag, counted in
// the server's PersistConn; a second message updates it.
TEST_F(Sync6, BackupMakesIpv6Templates) {
  sync::SyncConn t = tcp6(0, "2001:db8:1::12", sync::kTemplateAssured,
                          cf::kTemplate | cf::kDroute | cf::kInactive | cf::kNoOutput);
  t.caddr = addr6("2001:db8:9::");
  t.vport = t.dport = 443;
  t.timeout_s = 300;
  dp_->apply_sync({&t, 1});
  auto l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].state, "ASSURED");
  EXPECT_EQ(l[0].expires_s, 300u);
  EXPECT_EQ(l[0].client, ep6("2001:db8:9::", 0));
  EXPECT_EQ(l[0].virtual_addr, ep6("2001:db8::100", 443));
  EXPECT_EQ(l[0].destination, ep6("2001:db8:1::12", 443));
  EXPECT_EQ(dest6("2001:db8:1::12", 443).persistent, 1u);
  clock_.advance(100'000);
  dp_->tick();
  dp_->apply_sync({&t, 1});
  l = listing();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].expires_s, 300u);
  EXPECT_EQ(counter("sync_created"), 1u);
  EXPECT_EQ(counter("sync_updated"), 1u);
  // The backup's own scheduling finds it: two connections of a client of the /64, which rr
  // alone would spread over both servers, both go to the template's.
  for (uint16_t cport : {40002, 40003}) from_client6(cport, Tins::TCP::SYN, 443);
  int to_template_server = 0;
  for (const auto& e : listing())
    if (e.client.port == 40002 || e.client.port == 40003)
      to_template_server += e.destination == ep6("2001:db8:1::12", 443);
  EXPECT_EQ(to_template_server, 2);
}

// ip_vs_sync_conn: a connection under an IPv6 template is sent with its template after it, the
// template as the kernel sends one (TEMPLATE, its destination's method, INACTIVE, NOOUTPUT for
// DR; keyed by the client's /64, port 0; the -p timeout), at every client packet the send rules
// let through; what the backup makes of the pair is the master's template and connection.
TEST_F(Sync6, MasterSendsAnIpv6TemplateWithItsConnection) {
  dp_->swap_sync_master(std::make_unique<sync::MasterTracker>(
      dp_->table_capacity(), sync::SendRules{}, dp_->table6_capacity()));
  std::vector<sync::SyncConn> out, all;
  for (int i = 1; i <= 3; ++i) {
    from_client6(40000, i == 1 ? Tins::TCP::SYN : Tins::TCP::ACK, 443);
    dp_->take_sync(out);
    all.insert(all.end(), out.begin(), out.end());
  }
  // The template at each of the three packets (templates have no packet threshold), the
  // connection with the third, before its template.
  ASSERT_EQ(all.size(), 4u);
  const auto& conn = all[2];
  const auto& tmpl = all[3];
  EXPECT_FALSE(conn.flags & cf::kTemplate);
  EXPECT_EQ(conn.state, 1);  // ESTABLISHED
  EXPECT_TRUE(tmpl.ipv6);
  EXPECT_EQ(tmpl.protocol, 6);
  EXPECT_EQ(tmpl.flags, cf::kTemplate | cf::kDroute | cf::kInactive | cf::kNoOutput);
  EXPECT_EQ(tmpl.state, sync::kTemplateAssured);  // its connection is ESTABLISHED
  EXPECT_EQ(all[0].state, sync::kTemplateNone);
  EXPECT_EQ(tmpl.caddr, addr6("2001:db8:9::"));
  EXPECT_EQ(tmpl.cport, 0);
  EXPECT_EQ(tmpl.vaddr, addr6("2001:db8::100"));
  EXPECT_EQ(tmpl.vport, 443);
  EXPECT_EQ(tmpl.daddr, conn.daddr);
  EXPECT_EQ(tmpl.dport, 443);
  EXPECT_EQ(tmpl.timeout_s, 300u);
  // Through the codec to a second data plane, the backup.
  const std::vector<sync::SyncConn> pair{conn, tmpl};
  const auto decoded = sync::decode_message(sync::encode_message(0, pair)).conns;
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[1], tmpl);
  // sync_persist_mode 1: the connection is no longer sent, its template still is.
  ASSERT_EQ(dp_->set_sysctl("sync_persist_mode", "1"), "");
  all.clear();
  for (int i = 1; i <= 53; ++i) {
    from_client6(40001, i == 1 ? Tins::TCP::SYN : Tins::TCP::ACK, 443);
    dp_->take_sync(out);
    all.insert(all.end(), out.begin(), out.end());
  }
  EXPECT_EQ(all.size(), 53u);
  for (const auto& s : all) EXPECT_TRUE(s.flags & cf::kTemplate);
}

}  // namespace
}  // namespace vsd
