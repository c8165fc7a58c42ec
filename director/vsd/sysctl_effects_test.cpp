// What each net.ipv4.vs setting vsd acts on changes in the data plane (Dataplane::set_sysctls),
// against the kernel's default, over memory ports: expire_nodest_conn, conn_reuse_mode,
// expire_quiescent_template, nat_icmp_send, cache_bypass, run_estimation and the defence modes
// (drop_packet, secure_tcp, drop_entry). Expectations are
// the kernel's (docs/ipvs.md section 11): ip_vs_in's order for a packet of an existing
// connection, ip_vs_check_template, ip_vs_out, ip_vs_leave, the estimator's timer.
#include <gtest/gtest.h>
#include <tins/tins.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/sysctl.h"
#include "conn/clock.h"
#include "fwd/test_frames.h"
#include "io/memory_port.h"
#include "sync/master_tracker.h"
#include "vsd/dataplane.h"
#include "vsd/memory_bed.h"

namespace vsd {
namespace {

namespace t = fwd::testing;

enum Port : std::size_t { kExt, kInt };

const std::string kRs1 = "192.168.1.11";
const std::string kRs2 = "192.168.1.12";
const std::string kRs1Mac = "02:00:00:00:01:0b";
const std::string kRs2Mac = "02:00:00:00:01:0c";
constexpr uint16_t kCport = 40123;

Destination dest(const std::string& rip, Method method, uint32_t weight = 1) {
  return {{t::ip(rip), 80}, method, weight, 0, 0};
}

// rr over rs1 and rs2 (newest first in the list, so rr's first pick is rs1).
RuleSet two_servers(Proto proto, Method method, uint32_t weight1 = 1, uint32_t weight2 = 1,
                    bool persistent = false) {
  Service svc;
  svc.key = {proto, Endpoint{t::ip(t::kVip), 80}, 0};
  svc.scheduler = "rr";
  svc.persistent = persistent;
  svc.destinations.push_back(dest(kRs1, method, weight1));
  svc.destinations.push_back(dest(kRs2, method, weight2));
  RuleSet rules;
  rules.services.push_back(svc);
  return rules;
}

class SysctlEffects : public ::testing::Test {
 protected:
  SysctlEffects() {
    for (const auto& [name, mac] :
         {std::pair{"ext", t::kDirectorExtMac}, {"int", t::kDirectorIntMac}})
      ports_.push_back(std::make_unique<MemoryPort>(name, t::mac(mac), 1500, 64, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, ConnTableConfig{4096, 64});
  }

  void start(const RuleSet& rules, const std::vector<std::string>& sysctls = {}) {
    ASSERT_EQ(dp_->install(rules), "");
    Sysctls s;
    for (const auto& assignment : sysctls) {
      auto [name, value] = *split_assignment(assignment);
      ASSERT_EQ(set_sysctl(s, name, value), "");
    }
    dp_->set_sysctls(s);
    handle(kInt, t::arp_request_from(t::mac(kRs1Mac), kRs1, "192.168.1.1"));
    handle(kInt, t::arp_request_from(t::mac(kRs2Mac), kRs2, "192.168.1.1"));
    handle(kExt, t::arp_request_from(t::mac(t::kRouterMac), "10.0.0.254", "10.0.0.1"));
    clear();
  }
  void clear() {
    for (auto& p : ports_) p->clear();
  }
  void handle(std::size_t port, t::Bytes frame) {
    dp_->handle(port, frame);
    dp_->flush();
  }
  void from_client(Proto proto, uint16_t flags = 0, uint16_t cport = kCport) {
    auto ip = t::ipv4("172.16.0.7", t::kVip);
    t::Bytes frame;
    if (proto == Proto::Tcp) {
      auto pdu = Tins::EthernetII(t::kDirectorExtMac, t::kRouterMac) / ip /
                 t::tcp(cport, 80, flags, 5000, 9000) / Tins::RawPDU(t::payload_bytes(12));
      frame = t::serialize(pdu);
    } else {
      auto pdu = Tins::EthernetII(t::kDirectorExtMac, t::kRouterMac) / ip / Tins::UDP(80, cport) /
                 Tins::RawPDU(t::payload_bytes(12));
      frame = t::serialize(pdu);
    }
    handle(kExt, frame);
  }
  void from_server(const std::string& rip, uint16_t flags, uint16_t cport = kCport) {
    auto pdu = Tins::EthernetII(t::kDirectorIntMac, kRs1Mac) / t::ipv4(rip, "172.16.0.7") /
               t::tcp(80, cport, flags, 9000, 5001) / Tins::RawPDU(t::payload_bytes(4));
    handle(kInt, t::serialize(pdu));
  }
  // The real server each frame sent towards the servers went to: its IP for NAT, its MAC
  // (as a server name) for DR.
  std::vector<std::string> servers_reached() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ports_[kInt]->sent_count(); ++i) {
      auto f = ports_[kInt]->sent(i);
      auto eth = t::parse(t::Bytes(f.begin(), f.end()));
      const auto* ip = eth.find_pdu<Tins::IP>();
      if (!ip || eth.find_pdu<Tins::ICMP>()) continue;
      const std::string mac = eth.dst_addr().to_string();
      if (ip->dst_addr().to_string() == t::kVip)
        out.push_back(mac == kRs1Mac ? kRs1 : mac == kRs2Mac ? kRs2 : mac);
      else
        out.push_back(ip->dst_addr().to_string());
    }
    return out;
  }
  std::vector<const Tins::ICMP*> icmp_sent(std::size_t port, std::vector<Tins::EthernetII>& keep) {
    std::vector<const Tins::ICMP*> out;
    keep.reserve(ports_[port]->sent_count());
    for (std::size_t i = 0; i < ports_[port]->sent_count(); ++i) {
      auto f = ports_[port]->sent(i);
      keep.push_back(t::parse(t::Bytes(f.begin(), f.end())));
      if (const auto* icmp = keep.back().find_pdu<Tins::ICMP>()) out.push_back(icmp);
    }
    return out;
  }
  // The state of the one connection listed (templates aside), or "" when none.
  std::string connection_state() const {
    std::string state;
    for (const auto& c : dp_->state().connections)
      if (c.client.port == kCport) state = c.state;
    return state;
  }
  std::size_t connections_to(const std::string& rip) const {
    std::size_t n = 0;
    for (const auto& c : dp_->state().connections)
      if (c.destination.addr == t::ip(rip) && c.client.port != 0) ++n;
    return n;
  }
  void tick_after(uint64_t ms) {
    clock_.advance(ms);
    dp_->tick();
  }

  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

// --- expire_nodest_conn --------------------------------------------------------------------

RuleSet only_rs2(Proto proto, Method method) {
  auto rules = two_servers(proto, method);
  rules.services[0].destinations.erase(rules.services[0].destinations.begin());
  return rules;
}

TEST_F(SysctlEffects, ExpireNodestConnOffDropsADeletedServersPacketsAndKeepsTheEntry) {
  start(two_servers(Proto::Udp, Method::Nat));
  from_client(Proto::Udp);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs1});
  ASSERT_EQ(dp_->install(only_rs2(Proto::Udp, Method::Nat)), "");
  clear();
  from_client(Proto::Udp);
  tick_after(100);
  EXPECT_TRUE(servers_reached().empty());
  EXPECT_EQ(connections_to(kRs1), 1u);
}

TEST_F(SysctlEffects, ExpireNodestConnOnExpiresADeletedServersConnectionsAtOnce) {
  start(two_servers(Proto::Udp, Method::Nat), {"expire_nodest_conn=1"});
  from_client(Proto::Udp);
  ASSERT_EQ(connections_to(kRs1), 1u);
  ASSERT_EQ(dp_->install(only_rs2(Proto::Udp, Method::Nat)), "");
  tick_after(1);
  EXPECT_EQ(connections_to(kRs1), 0u);
}

TEST_F(SysctlEffects, ExpireNodestConnOnSchedulesTheNextPacketAnew) {
  start(two_servers(Proto::Udp, Method::Nat), {"expire_nodest_conn=1"});
  from_client(Proto::Udp);
  // Deleted while no install ran the flush: the packet itself finds the server gone.
  dp_->set_sysctls({});
  ASSERT_EQ(dp_->install(only_rs2(Proto::Udp, Method::Nat)), "");
  Sysctls on;
  on.expire_nodest_conn = 1;
  dp_->set_sysctls(on);
  clear();
  from_client(Proto::Udp);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs2});
  tick_after(1);
  EXPECT_EQ(connections_to(kRs1), 0u);
  EXPECT_EQ(connections_to(kRs2), 1u);
}

TEST_F(SysctlEffects, ExpireNodestConnOnReschedulesASynOfAWeightZeroServersConnection) {
  start(two_servers(Proto::Tcp, Method::Nat), {"expire_nodest_conn=1", "conn_reuse_mode=0"});
  from_client(Proto::Tcp, Tins::TCP::SYN);
  from_client(Proto::Tcp, Tins::TCP::ACK);
  ASSERT_EQ(servers_reached(), (std::vector<std::string>{kRs1, kRs1}));
  ASSERT_EQ(dp_->install(two_servers(Proto::Tcp, Method::Nat, 0, 1)), "");
  clear();
  from_client(Proto::Tcp, Tins::TCP::ACK);  // not a SYN: stays
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), (std::vector<std::string>{kRs1, kRs2}));
}

TEST_F(SysctlEffects, WithoutExpireNodestConnASynOfAWeightZeroServersConnectionStays) {
  start(two_servers(Proto::Tcp, Method::Nat), {"conn_reuse_mode=0"});
  from_client(Proto::Tcp, Tins::TCP::SYN);
  ASSERT_EQ(dp_->install(two_servers(Proto::Tcp, Method::Nat, 0, 1)), "");
  clear();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs1});
}

// --- conn_reuse_mode ------------------------------------------------------------------------

class ConnReuseMode : public SysctlEffects, public ::testing::WithParamInterface<int> {
 protected:
  void to_close() {
    from_client(Proto::Tcp, Tins::TCP::SYN);
    from_client(Proto::Tcp, Tins::TCP::ACK);
    from_client(Proto::Tcp, Tins::TCP::RST);
    ASSERT_EQ(connection_state(), "CLOSE");
    clear();
  }
  // A NAT connection through its whole close, both sides seen: TIME_WAIT.
  void to_time_wait() {
    from_client(Proto::Tcp, Tins::TCP::SYN);
    from_server(kRs1, Tins::TCP::SYN | Tins::TCP::ACK);
    from_client(Proto::Tcp, Tins::TCP::ACK);
    from_client(Proto::Tcp, Tins::TCP::FIN | Tins::TCP::ACK);
    from_server(kRs1, Tins::TCP::FIN | Tins::TCP::ACK);
    from_client(Proto::Tcp, Tins::TCP::ACK);
    ASSERT_EQ(connection_state(), "TIME_WAIT");
    clear();
  }
  // A DR connection the client closed: FIN_WAIT with no reply ever seen.
  void to_fin_wait_without_output() {
    from_client(Proto::Tcp, Tins::TCP::SYN);
    from_client(Proto::Tcp, Tins::TCP::ACK);
    from_client(Proto::Tcp, Tins::TCP::FIN | Tins::TCP::ACK);
    ASSERT_EQ(connection_state(), "FIN_WAIT");
    clear();
  }
  std::string mode() const { return "conn_reuse_mode=" + std::to_string(GetParam()); }
};

TEST_P(ConnReuseMode, ASynOnAClosedConnection) {
  start(two_servers(Proto::Tcp, Method::Nat), {mode()});
  to_close();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  const bool reschedules = GetParam() != 0;
  EXPECT_EQ(servers_reached(), std::vector<std::string>{reschedules ? kRs2 : kRs1});
  EXPECT_EQ(connection_state(), "SYN_RECV");
}

TEST_P(ConnReuseMode, ASynOnATimeWaitConnection) {
  start(two_servers(Proto::Tcp, Method::Nat), {mode()});
  to_time_wait();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{GetParam() != 0 ? kRs2 : kRs1});
}

TEST_P(ConnReuseMode, ASynOnADrConnectionInFinWaitOnlyWithBitOne) {
  start(two_servers(Proto::Tcp, Method::Dr), {mode()});
  to_fin_wait_without_output();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{(GetParam() & 2) ? kRs2 : kRs1});
}

TEST_P(ConnReuseMode, ASynOnAnEstablishedConnectionStays) {
  start(two_servers(Proto::Tcp, Method::Nat), {mode()});
  from_client(Proto::Tcp, Tins::TCP::SYN);
  from_client(Proto::Tcp, Tins::TCP::ACK);
  clear();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs1});
}

TEST_P(ConnReuseMode, APersistentConnectionIsNeverRescheduled) {
  start(two_servers(Proto::Tcp, Method::Nat, 1, 1, /*persistent=*/true), {mode()});
  to_close();
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs1});
}

INSTANTIATE_TEST_SUITE_P(Dataplane, ConnReuseMode, ::testing::Values(0, 1, 2, 3),
                         [](const auto& info) { return "Mode" + std::to_string(info.param); });

// --- expire_quiescent_template --------------------------------------------------------------

class ExpireQuiescentTemplate : public SysctlEffects, public ::testing::WithParamInterface<bool> {};

TEST_P(ExpireQuiescentTemplate, ATemplateToAWeightZeroServer) {
  start(two_servers(Proto::Udp, Method::Nat, 1, 1, /*persistent=*/true),
        {GetParam() ? "expire_quiescent_template=1" : "expire_quiescent_template=0"});
  from_client(Proto::Udp, 0, 5000);
  ASSERT_EQ(dp_->install(two_servers(Proto::Udp, Method::Nat, 0, 1, true)), "");
  from_client(Proto::Udp, 0, 5000);  // the same flow stays with its connection either way
  from_client(Proto::Udp, 0, 5001);  // a new flow of the same client
  EXPECT_EQ(servers_reached(), (std::vector<std::string>{kRs1, kRs1, GetParam() ? kRs2 : kRs1}));
}

INSTANTIATE_TEST_SUITE_P(Dataplane, ExpireQuiescentTemplate, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- nat_icmp_send --------------------------------------------------------------------------

class NatIcmpSend : public SysctlEffects, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    start(two_servers(Proto::Tcp, Method::Nat),
          {GetParam() ? "nat_icmp_send=1" : "nat_icmp_send=0"});
  }
};

TEST_P(NatIcmpSend, AServersPacketWithoutAConnection) {
  from_server(kRs1, Tins::TCP::ACK | Tins::TCP::PSH);
  std::vector<Tins::EthernetII> keep;
  const auto to_server = icmp_sent(kInt, keep);
  if (GetParam()) {
    ASSERT_EQ(to_server.size(), 1u);
    EXPECT_EQ(to_server[0]->type(), Tins::ICMP::DEST_UNREACHABLE);
    EXPECT_EQ(to_server[0]->code(), 3);
    EXPECT_EQ(keep[0].find_pdu<Tins::IP>()->src_addr().to_string(), t::kDip);
    EXPECT_EQ(keep[0].find_pdu<Tins::IP>()->dst_addr().to_string(), kRs1);
    EXPECT_EQ(ports_[kExt]->sent_count(), 0u);
  } else {
    EXPECT_TRUE(to_server.empty());
    EXPECT_EQ(ports_[kExt]->sent_count(), 1u);  // routed on, as any other traffic
  }
}

TEST_P(NatIcmpSend, AResetIsNeverAnswered) {
  from_server(kRs1, Tins::TCP::RST);
  EXPECT_EQ(ports_[kInt]->sent_count(), 0u);
  EXPECT_EQ(ports_[kExt]->sent_count(), 1u);
}

TEST_P(NatIcmpSend, AnotherPortOfTheServerIsNotAService) {
  auto pdu = Tins::EthernetII(t::kDirectorIntMac, kRs1Mac) / t::ipv4(kRs1, "172.16.0.7") /
             t::tcp(22, kCport, Tins::TCP::ACK, 9000, 5001);
  handle(kInt, t::serialize(pdu));
  EXPECT_EQ(ports_[kInt]->sent_count(), 0u);
  EXPECT_EQ(ports_[kExt]->sent_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Dataplane, NatIcmpSend, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- cache_bypass ---------------------------------------------------------------------------

class CacheBypass : public SysctlEffects, public ::testing::WithParamInterface<bool> {};

// A transparent cache cluster: web traffic to anywhere is marked and served by the caches;
// when none is available, it goes on to the origin server with cache_bypass.
TEST_P(CacheBypass, AMarkedPacketWithNoDestinationAvailable) {
  Service svc;
  svc.key = {Proto::Tcp, Endpoint{}, 7};
  svc.scheduler = "rr";
  svc.destinations.push_back(dest(kRs1, Method::Dr, 0));
  RuleSet rules;
  rules.services.push_back(svc);
  rules.marks.push_back({7, MarkProto::Tcp, t::ip("10.0.0.0"), 24, 80, 80});
  start(rules, {GetParam() ? "cache_bypass=1" : "cache_bypass=0"});
  auto pdu = Tins::EthernetII(t::kDirectorIntMac, kRs1Mac) / t::ipv4(kRs2, "10.0.0.50") /
             t::tcp(kCport, 80, Tins::TCP::SYN);
  handle(kInt, t::serialize(pdu));
  std::vector<Tins::EthernetII> keep;
  const auto answers = icmp_sent(kInt, keep);
  if (GetParam()) {
    EXPECT_TRUE(answers.empty());
    ASSERT_EQ(ports_[kExt]->sent_count(), 1u);  // on to 10.0.0.50 itself
  } else {
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0]->type(), Tins::ICMP::DEST_UNREACHABLE);
    EXPECT_EQ(ports_[kExt]->sent_count(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Dataplane, CacheBypass, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- schedule_icmp --------------------------------------------------------------------------

class ScheduleIcmp : public SysctlEffects, public ::testing::WithParamInterface<bool> {
 protected:
  // Port unreachable from the client's side to the VIP, about a reply VIP:80 -> client.
  void client_refuses(Tins::PDU&& l4, std::size_t quote_length) {
    auto reply = t::ipv4(t::kVip, "172.16.0.7") / l4;
    handle(kExt, t::icmp_error_frame(t::kRouterMac, t::kDirectorExtMac, "172.16.0.7", t::kVip, 3, 3,
                                     t::quote_of(reply, quote_length)));
  }
  std::vector<std::string> icmp_reached() {
    std::vector<Tins::EthernetII> keep;
    icmp_sent(kInt, keep);
    std::vector<std::string> to;
    for (const auto& eth : keep)
      if (eth.find_pdu<Tins::ICMP>())
        to.push_back(eth.find_pdu<Tins::IP>()->dst_addr().to_string());
    return to;
  }
};

TEST_P(ScheduleIcmp, AnErrorAboutAUdpFlowWithNoConnection) {
  start(two_servers(Proto::Udp, Method::Nat), {GetParam() ? "schedule_icmp=1" : "schedule_icmp=0"});
  client_refuses(Tins::UDP(kCport, 80), 28);
  if (GetParam()) {
    EXPECT_EQ(icmp_reached(), std::vector<std::string>{kRs1});
    EXPECT_EQ(connections_to(kRs1), 1u);
    tick_after(2900);
    EXPECT_EQ(connections_to(kRs1), 1u);
    tick_after(200);  // the kernel's 3 s for an entry no packet set a state on
    EXPECT_EQ(connections_to(kRs1), 0u);
  } else {
    EXPECT_TRUE(icmp_reached().empty());
    EXPECT_TRUE(dp_->state().connections.empty());
  }
}

TEST_P(ScheduleIcmp, ATcpErrorIsScheduledForAQuotedSynAckOnly) {
  start(two_servers(Proto::Tcp, Method::Nat), {GetParam() ? "schedule_icmp=1" : "schedule_icmp=0"});
  client_refuses(t::tcp(80, kCport, Tins::TCP::ACK), 40);
  client_refuses(t::tcp(80, kCport, Tins::TCP::SYN | Tins::TCP::ACK), 28);  // flags not quoted
  EXPECT_TRUE(icmp_reached().empty());
  client_refuses(t::tcp(80, kCport, Tins::TCP::SYN | Tins::TCP::ACK), 40);
  EXPECT_EQ(icmp_reached().size(), GetParam() ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(Dataplane, ScheduleIcmp, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- sync_threshold -------------------------------------------------------------------------

TEST_F(SysctlEffects, SyncThresholdDecidesWhichClientPacketsAreSynced) {
  start(two_servers(Proto::Udp, Method::Nat));
  dp_->swap_sync_master(std::make_unique<sync::MasterTracker>(dp_->table_capacity()));
  auto packets_synced = [&](uint16_t cport, int count) {
    std::vector<int> at;
    std::vector<sync::SyncConn> out;
    for (int i = 1; i <= count; ++i) {
      from_client(Proto::Udp, 0, cport);
      dp_->take_sync(out);
      if (!out.empty()) at.push_back(i);
    }
    return at;
  };
  EXPECT_EQ(packets_synced(6000, 60), (std::vector<int>{3, 53}));  // the default, 3 50
  ASSERT_EQ(dp_->set_sysctl("sync_threshold", "2 10"), "");
  EXPECT_EQ(packets_synced(6001, 25), (std::vector<int>{2, 12, 22}));
  ASSERT_EQ(dp_->set_sysctl("sync_threshold", "4 0"), "");
  EXPECT_EQ(packets_synced(6002, 25), (std::vector<int>{4}));
}

// --- backup_only ----------------------------------------------------------------------------

// ip_vs_in_hook: with backup_only set and a backup daemon running, IPVS passes every packet to
// the stack, whose answer for a port nobody listens on is a RST from the VIP; either alone
// changes nothing.
TEST_F(SysctlEffects, BackupOnlyStopsServiceWhileABackupDaemonRuns) {
  start(two_servers(Proto::Tcp, Method::Nat), {"backup_only=1"});
  from_client(Proto::Tcp, Tins::TCP::SYN, 41000);
  EXPECT_EQ(servers_reached(), std::vector<std::string>{kRs1});
  clear();
  dp_->set_sync_backup_running(true);
  for (uint16_t cport : {uint16_t(41000), uint16_t(41001)}) {  // a connection's and a new one
    from_client(Proto::Tcp, cport == 41000 ? Tins::TCP::ACK : Tins::TCP::SYN, cport);
    EXPECT_TRUE(servers_reached().empty()) << cport;
    ASSERT_EQ(ports_[kExt]->sent_count(), 1u) << cport;
    auto f = ports_[kExt]->sent(0);
    auto eth = t::parse(t::Bytes(f.begin(), f.end()));
    const auto* ip = eth.find_pdu<Tins::IP>();
    const auto* tcp = eth.find_pdu<Tins::TCP>();
    ASSERT_TRUE(ip && tcp);
    EXPECT_EQ(ip->src_addr().to_string(), t::kVip);
    EXPECT_EQ(ip->dst_addr().to_string(), "172.16.0.7");
    EXPECT_EQ(tcp->sport(), 80);
    EXPECT_EQ(tcp->dport(), cport);
    EXPECT_TRUE(tcp->get_flag(Tins::TCP::RST));
    clear();
  }
  ASSERT_EQ(dp_->set_sysctl("backup_only", "0"), "");
  from_client(Proto::Tcp, Tins::TCP::SYN, 41002);
  EXPECT_EQ(servers_reached().size(), 1u);
}

// --- run_estimation -------------------------------------------------------------------------

TEST_F(SysctlEffects, RunEstimationOffLeavesTheRatesWhereTheyWere) {
  start(two_servers(Proto::Udp, Method::Nat));
  for (int i = 0; i < 200; ++i) from_client(Proto::Udp);
  tick_after(RateEstimator::kIntervalMs);
  const auto rates = dp_->state().services.at(0).rates;
  ASSERT_GT(rates.in_packets, 0u);
  Sysctls off;
  off.run_estimation = 0;
  dp_->set_sysctls(off);
  for (int i = 0; i < 4; ++i) tick_after(RateEstimator::kIntervalMs);
  EXPECT_EQ(dp_->state().services.at(0).rates, rates);
  dp_->set_sysctls({});
  tick_after(RateEstimator::kIntervalMs);
  EXPECT_LT(dp_->state().services.at(0).rates.in_packets, rates.in_packets);
}

// --- the defence modes -----------------------------------------------------------------------

// drop_packet=1 with memory short (512 of amemthresh's 1024 pages: rate 1024 / 512 = 2, the
// counter set to 2): every second new connection is dropped, and the setting reads 2. Memory
// back: it reads 1 again and nothing is dropped.
TEST_F(SysctlEffects, DropPacketOneDropsWhileMemoryIsShort) {
  int64_t pages = 512;
  dp_->set_memory_source([&] { return std::optional<int64_t>(pages); });
  start(two_servers(Proto::Tcp, Method::Nat), {"drop_packet=1"});
  EXPECT_EQ(dp_->sysctls().drop_packet, 2);
  for (uint16_t i = 0; i < 6; ++i) from_client(Proto::Tcp, Tins::TCP::SYN, uint16_t(41000 + i));
  EXPECT_EQ(servers_reached().size(), 3u);
  EXPECT_EQ(dp_->state().connections.size(), 3u);
  pages = 1 << 20;
  tick_after(Defence::kPeriodMs);
  EXPECT_EQ(dp_->sysctls().drop_packet, 1);
  clear();
  for (uint16_t i = 0; i < 6; ++i) from_client(Proto::Tcp, Tins::TCP::SYN, uint16_t(41100 + i));
  EXPECT_EQ(servers_reached().size(), 6u);
}

// secure_tcp=3: the client's ACK does not establish a NAT connection; the server's does.
TEST_F(SysctlEffects, SecureTcpThreeWaitsInSynAckForTheServer) {
  start(two_servers(Proto::Tcp, Method::Nat), {"secure_tcp=3"});
  from_client(Proto::Tcp, Tins::TCP::SYN);
  EXPECT_EQ(connection_state(), "SYN_RECV");
  from_server(kRs1, Tins::TCP::SYN | Tins::TCP::ACK);
  EXPECT_EQ(connection_state(), "SYNACK");
  from_client(Proto::Tcp, Tins::TCP::ACK);
  EXPECT_EQ(connection_state(), "SYNACK");
  from_server(kRs1, Tins::TCP::ACK);
  EXPECT_EQ(connection_state(), "ESTABLISHED");
  // Off again: the next handshake is established by the client's ACK.
  dp_->set_sysctls({});
  from_client(Proto::Tcp, Tins::TCP::SYN, kCport + 1);
  from_client(Proto::Tcp, Tins::TCP::ACK, kCport + 1);
  std::string state;
  for (const auto& c : dp_->state().connections)
    if (c.client.port == kCport + 1) state = c.state;
  EXPECT_EQ(state, "ESTABLISHED");
}

// drop_entry=3: an established connection with 2 client packets, idle, is looked at by some
// second's round (1/32 of the table each second) once it has been idle for 60 s, and the first
// such one found goes, long before its 900 s are up. With a 4096-entry table a slot is missed
// by a round with probability (4095/4096)^128, so by 840 rounds with about 1e-11.
TEST_F(SysctlEffects, DropEntryThreeRemovesAnIdleConnectionLongBeforeItsTimeout) {
  start(two_servers(Proto::Tcp, Method::Nat), {"drop_entry=3"});
  from_client(Proto::Tcp, Tins::TCP::SYN);
  from_server(kRs1, Tins::TCP::SYN | Tins::TCP::ACK);
  from_client(Proto::Tcp, Tins::TCP::ACK);
  ASSERT_EQ(connection_state(), "ESTABLISHED");
  int second = 0;
  for (; second < 59; ++second) {
    tick_after(1000);
    ASSERT_EQ(connection_state(), "ESTABLISHED") << "gone after " << second + 1 << " s";
  }
  while (second < 899 && !connection_state().empty()) {
    tick_after(1000);
    ++second;
  }
  EXPECT_EQ(connection_state(), "") << "still there after " << second << " s";
}

}  // namespace
}  // namespace vsd
