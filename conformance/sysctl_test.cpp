// The net.ipv4.vs settings that change frames (docs/ipvs.md section 11), each against its
// default, on the NAT topology, on the DUT VSLAB_DUT names (builtin when unset; qemu-kernel
// under `ctest -L qemu`, where the guest writes /proc/sys/net/ipv4/vs/NAME). Expectations are
// the kernel's: expire_nodest_conn (a deleted server's connection used again), conn_reuse_mode
// (a SYN on a TIME_WAIT connection's ports), expire_quiescent_template (a persistence template
// to a weight-0 server), nat_icmp_send (a real server's packet no connection claims),
// schedule_icmp (a client-side ICMP error about a flow with no connection) and pmtu_disc (on
// the TUN topology: a DF packet too big for the tunnel), and the defence modes drop_packet and
// secure_tcp at 3.
// The matrix's kind for a deleted server's connection runs at the default settings; this one
// turns expire_nodest_conn on and off.
#include <gtest/gtest.h>
#include <tins/tins.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "dut/dut.h"
#include "mode_bed.h"
#include "topology/live.h"

namespace vslab::conformance {
namespace {

using namespace std::chrono_literals;

const std::string kVipPort = "10.20.0.100:80";

class IpvsSysctl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_build_topologies()) GTEST_SKIP() << "needs root to create network namespaces";
  }
  void TearDown() override {
    if (!bed_) return;
    // The DUT outlives nothing here, but a kernel keeps a setting for its namespace's life.
    for (const auto& [name, fallback] : changed_) bed_->dut().set_ipvs_sysctl(name, fallback);
    if (HasFailure()) std::cerr << "DUT log:\n" << bed_->dut_log();
  }
  void start(const std::string& rules, const std::string& mode = "nat") {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    try {
      bed_ = std::make_unique<ModeBed>(
          mode, std::string(info->test_suite_name()) + "." + info->name(), true,
          dut::make_dut_from_environment(VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY));
    } catch (const dut::DutUnavailable& e) {
      GTEST_SKIP() << e.what();
    }
    bed_->restore(rules);
    slowness_ = bed_->dut().slowness();
  }
  void set(const std::string& name, const std::string& value, const std::string& fallback) {
    auto r = bed_->dut().set_ipvs_sysctl(name, value);
    ASSERT_TRUE(r.ok()) << name << "=" << value << ": " << r.output;
    changed_.emplace_back(name, fallback);
  }
  void admin(const std::vector<std::string>& args) {
    auto r = bed_->admin(args);
    ASSERT_TRUE(r.ok()) << r.output;
  }
  std::chrono::milliseconds wait() const { return 2000ms * slowness_; }

  // The real server (1..3) that a client frame reached, rewritten as NAT rewrites it; 0 when
  // none did in time.
  int reached(const Tins::EthernetII& sent, std::chrono::milliseconds timeout) {
    return bed_->claiming_server([&](int rs) { return bed_->nat_at_real_server(sent, rs, 80); },
                                 timeout);
  }
  int send_udp(uint16_t cport, std::chrono::milliseconds timeout) {
    auto d = bed_->client_frame().udp(cport, 80).payload("sysctl").pdu();
    bed_->client().port->send(d);
    return reached(d, timeout);
  }
  Tins::EthernetII tcp(uint16_t cport, uint16_t flags, uint32_t seq, uint32_t ack = 0) {
    auto b = bed_->client_frame().tcp(cport, 80).flags(flags).seq(seq);
    if (ack) b.ack(ack);
    return b.pdu();
  }
  // A segment from real server rs to the client, as its stack would send it through its
  // gateway, the director.
  void from_server(int rs, uint16_t cport, uint16_t flags, uint32_t seq, uint32_t ack) {
    auto& server = bed_->rs(rs);
    Tins::TCP segment(cport, 80);
    segment.flags(flags);
    segment.seq(seq);
    segment.ack_seq(ack);
    segment.window(64240);
    Tins::IP ip(bed_->client().ip, server.ip);
    ip.ttl(64);
    auto frame = Tins::EthernetII(bed_->mac("director", "eth1"), server.mac) / ip / segment;
    server.port->send(frame);
  }

  // from_server, then whether the client received it (from the VIP) in time.
  bool server_says(int rs, uint16_t cport, uint16_t flags, uint32_t seq, uint32_t ack) {
    from_server(rs, cport, flags, seq, ack);
    return bed_->client().port->wait_until(
        [&](std::vector<port::CapturedFrame>& frames) {
          for (auto& f : frames) {
            if (f.claimed) continue;
            Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
            const auto* tcp = eth.find_pdu<Tins::TCP>();
            if (!tcp || tcp->dport() != cport || tcp->flags() != flags || tcp->seq() != seq)
              continue;
            f.claimed = true;
            return true;
          }
          return false;
        },
        wait());
  }

  std::unique_ptr<ModeBed> bed_;
  std::vector<std::pair<std::string, std::string>> changed_;
  int slowness_ = 1;
};

// --- expire_nodest_conn ---------------------------------------------------------------------

class ExpireNodestConn : public IpvsSysctl, public ::testing::WithParamInterface<bool> {};

TEST_P(ExpireNodestConn, ADeletedServersConnectionUsedAgain) {
  start("-A -u " + kVipPort + " -s rr\n-a -u " + kVipPort + " -r 192.168.10.11:80 -m\n" + "-a -u " +
        kVipPort + " -r 192.168.10.12:80 -m\n");
  if (IsSkipped()) return;
  set("expire_nodest_conn", GetParam() ? "1" : "0", "0");
  const int first = send_udp(40000, wait());
  ASSERT_NE(first, 0) << "the first datagram reached no real server";
  const int other = first == 1 ? 2 : 1;
  admin({"-d", "-u", kVipPort, "-r", "192.168.10.1" + std::to_string(first) + ":80"});
  if (GetParam()) {
    // The connection expires and the datagram is scheduled anew, to the server left.
    EXPECT_EQ(send_udp(40000, wait()), other);
  } else {
    // Dropped while the connection lives (its 300 s UDP timeout): nothing reaches a server.
    EXPECT_EQ(send_udp(40000, 1000ms * slowness_), 0);
    auto listing = bed_->admin({"-L", "-n", "-c"});
    EXPECT_NE(listing.output.find("192.168.10.1" + std::to_string(first) + ":80"),
              std::string::npos)
        << listing.output;
  }
}

INSTANTIATE_TEST_SUITE_P(sysctl, ExpireNodestConn, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- conn_reuse_mode ------------------------------------------------------------------------

class ConnReuseMode : public IpvsSysctl, public ::testing::WithParamInterface<int> {};

// A connection closed by both sides through the director (TIME_WAIT), then a SYN from the same
// client port: conn_reuse_mode 0 sends it to the same server, 1 schedules it (rr: the other).
TEST_P(ConnReuseMode, ASynOnATimeWaitConnectionsPorts) {
  start("-A -t " + kVipPort + " -s rr\n-a -t " + kVipPort + " -r 192.168.10.11:80 -m\n" + "-a -t " +
        kVipPort + " -r 192.168.10.12:80 -m\n");
  if (IsSkipped()) return;
  set("conn_reuse_mode", std::to_string(GetParam()), "1");
  constexpr uint16_t kPort = 40100;
  auto syn = tcp(kPort, frames::SYN, 1000);
  bed_->client().port->send(syn);
  const int first = reached(syn, wait());
  ASSERT_NE(first, 0) << "the SYN reached no real server";
  // One segment at a time, each seen through the director before the next is sent: the
  // two sides reach the director by different paths, and a late SYN+ACK would move the
  // connection on from TIME_WAIT (to SYN_SENT).
  auto client_says = [&](uint16_t flags, uint32_t seq, uint32_t ack) {
    auto segment = tcp(kPort, flags, seq, ack);
    bed_->client().port->send(segment);
    return reached(segment, wait()) == first;
  };
  ASSERT_TRUE(server_says(first, kPort, frames::SYN | frames::ACK, 7000, 1001));
  ASSERT_TRUE(client_says(frames::ACK, 1001, 7001));
  ASSERT_TRUE(client_says(frames::FIN | frames::ACK, 1001, 7001));
  ASSERT_TRUE(server_says(first, kPort, frames::FIN | frames::ACK, 7001, 1002));
  ASSERT_TRUE(client_says(frames::ACK, 1002, 7002));
  auto listing = bed_->admin({"-L", "-n", "-c"});
  ASSERT_NE(listing.output.find("TIME_WAIT"), std::string::npos) << listing.output;

  auto again = tcp(kPort, frames::SYN, 5000000);
  bed_->client().port->send(again);
  const int other = first == 1 ? 2 : 1;
  EXPECT_EQ(reached(again, wait()), GetParam() == 0 ? first : other);
}

INSTANTIATE_TEST_SUITE_P(sysctl, ConnReuseMode, ::testing::Values(0, 1),
                         [](const auto& info) { return "Mode" + std::to_string(info.param); });

// --- expire_quiescent_template --------------------------------------------------------------

class ExpireQuiescentTemplate : public IpvsSysctl, public ::testing::WithParamInterface<bool> {};

TEST_P(ExpireQuiescentTemplate, ANewFlowOfAClientWhoseServerHasWeightZero) {
  start("-A -u " + kVipPort + " -s rr -p 360\n-a -u " + kVipPort +
        " -r 192.168.10.11:80 -m\n-a -u " + kVipPort + " -r 192.168.10.12:80 -m\n");
  if (IsSkipped()) return;
  set("expire_quiescent_template", GetParam() ? "1" : "0", "0");
  const int first = send_udp(40200, wait());
  ASSERT_NE(first, 0) << "the first datagram reached no real server";
  admin({"-e", "-u", kVipPort, "-r", "192.168.10.1" + std::to_string(first) + ":80", "-m", "-w",
         "0"});
  // The flow itself stays with its connection either way.
  EXPECT_EQ(send_udp(40200, wait()), first);
  const int other = first == 1 ? 2 : 1;
  EXPECT_EQ(send_udp(40201, wait()), GetParam() ? other : first);
}

INSTANTIATE_TEST_SUITE_P(sysctl, ExpireQuiescentTemplate, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- nat_icmp_send --------------------------------------------------------------------------

class NatIcmpSend : public IpvsSysctl, public ::testing::WithParamInterface<bool> {};

// What a real server sends from its service's port to a client the director has no
// connection for: with nat_icmp_send it hears port unreachable from the director, and the
// client sees nothing; without, the director routes it on.
TEST_P(NatIcmpSend, AServersSegmentNoConnectionClaims) {
  start("-A -t " + kVipPort + " -s rr\n-a -t " + kVipPort + " -r 192.168.10.11:80 -m\n");
  if (IsSkipped()) return;
  set("nat_icmp_send", GetParam() ? "1" : "0", "0");
  from_server(1, 40300, frames::ACK | frames::PSH, 9000, 1000);
  auto is_unreachable_from_director = [&](std::vector<port::CapturedFrame>& frames) {
    for (auto& f : frames) {
      if (f.claimed) continue;
      Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
      const auto* ip = eth.find_pdu<Tins::IP>();
      const auto* icmp = eth.find_pdu<Tins::ICMP>();
      if (!ip || !icmp || icmp->type() != Tins::ICMP::DEST_UNREACHABLE || icmp->code() != 3)
        continue;
      if (ip->src_addr().to_string() != "192.168.10.1" ||
          ip->dst_addr().to_string() != bed_->rs(1).ip)
        continue;
      f.claimed = true;
      return true;
    }
    return false;
  };
  auto reached_client = [&](std::vector<port::CapturedFrame>& frames) {
    for (auto& f : frames) {
      Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
      const auto* tcp = eth.find_pdu<Tins::TCP>();
      if (tcp && tcp->dport() == 40300) return true;
    }
    return false;
  };
  if (GetParam()) {
    EXPECT_TRUE(bed_->rs(1).port->wait_until(is_unreachable_from_director, wait()));
    EXPECT_FALSE(bed_->client().port->wait_until(reached_client, 500ms * slowness_));
  } else {
    EXPECT_TRUE(bed_->client().port->wait_until(reached_client, wait()));
    EXPECT_FALSE(bed_->rs(1).port->wait_until(is_unreachable_from_director, 0ms));
  }
}

INSTANTIATE_TEST_SUITE_P(sysctl, NatIcmpSend, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- schedule_icmp --------------------------------------------------------------------------

class ScheduleIcmp : public IpvsSysctl, public ::testing::WithParamInterface<bool> {};

// The client's side refuses a reply the director never saw the flow of (VIP:80 -> client, UDP):
// with schedule_icmp the error makes a connection and reaches the real server chosen;
// without, the director's stack takes it and nothing reaches a server.
TEST_P(ScheduleIcmp, AnErrorAboutAFlowWithNoConnection) {
  start("-A -u " + kVipPort + " -s rr\n-a -u " + kVipPort + " -r 192.168.10.11:80 -m\n" + "-a -u " +
        kVipPort + " -r 192.168.10.12:80 -m\n");
  if (IsSkipped()) return;
  set("schedule_icmp", GetParam() ? "1" : "0", "0");
  Tins::IP reply(bed_->client().ip, bed_->vip());
  reply.ttl(62);
  auto quoted_packet = reply / Tins::UDP(40400, 80) / Tins::RawPDU(std::string("answer"));
  auto quoted = quoted_packet.serialize();
  quoted.resize(28);
  Tins::IP outer(bed_->vip(), bed_->client().ip);
  outer.ttl(64);
  Tins::ICMP icmp(Tins::ICMP::DEST_UNREACHABLE);
  icmp.code(3);
  auto frame = Tins::EthernetII(bed_->client_gateway_mac(), bed_->client().mac) / outer / icmp /
               Tins::RawPDU(quoted);
  bed_->client().port->send(frame);
  auto icmp_at = [&](int rs) {
    return [&, rs](std::vector<port::CapturedFrame>& frames) {
      for (auto& f : frames) {
        Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
        const auto* ip = eth.find_pdu<Tins::IP>();
        const auto* error = eth.find_pdu<Tins::ICMP>();
        if (ip && error && error->type() == Tins::ICMP::DEST_UNREACHABLE &&
            ip->dst_addr().to_string() == bed_->rs(rs).ip)
          return true;
      }
      return false;
    };
  };
  if (GetParam()) {
    const bool at_rs1 = bed_->rs(1).port->wait_until(icmp_at(1), wait());
    const bool at_rs2 = bed_->rs(2).port->wait_until(icmp_at(2), at_rs1 ? 0ms : wait());
    // The connection it made lives 3 s (no state is set from an ICMP error): too short to
    // list reliably on an emulated guest, so only the relay is checked.
    EXPECT_NE(at_rs1, at_rs2) << "the error should reach exactly one real server";
  } else {
    EXPECT_FALSE(bed_->rs(1).port->wait_until(icmp_at(1), 1000ms * slowness_));
    EXPECT_FALSE(bed_->rs(2).port->wait_until(icmp_at(2), 0ms));
  }
}

INSTANTIATE_TEST_SUITE_P(sysctl, ScheduleIcmp, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- pmtu_disc ------------------------------------------------------------------------------

class PmtuDisc : public IpvsSysctl, public ::testing::WithParamInterface<bool> {};

// A datagram of 1500 bytes with DF fits every link but not the tunnel (+20). pmtu_disc on:
// fragmentation needed from the VIP, nothing tunnelled. Off: ensure_mtu_is_adequate lets it
// through, and the 1520-byte IPIP packet from the director's address leaves in two fragments
// (1480 bytes of it, then 20), which the router passes on to rs1 one TTL lower. DF is not kept
// on fragments (ip_do_fragment).
TEST_P(PmtuDisc, ADfPacketTooBigForTheTunnel) {
  const std::string vip_port = "10.40.0.100:80";
  start("-A -u " + vip_port + " -s rr\n-a -u " + vip_port + " -r 10.50.0.11:80 -i\n", "tun");
  if (IsSkipped()) return;
  ASSERT_EQ(bed_->vip() + ":80", vip_port);
  set("pmtu_disc", GetParam() ? "1" : "0", "1");
  auto sent = bed_->client_frame().udp(40500, 80).payload(std::string(1500 - 28, 'p')).pdu();
  bed_->client().port->send(sent);
  auto frag_needed = [&](std::vector<port::CapturedFrame>& frames) {
    for (auto& f : frames) {
      Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
      const auto* ip = eth.find_pdu<Tins::IP>();
      const auto* icmp = eth.find_pdu<Tins::ICMP>();
      if (ip && icmp && icmp->type() == Tins::ICMP::DEST_UNREACHABLE && icmp->code() == 4 &&
          ip->src_addr().to_string() == bed_->vip() && icmp->mtu() == 1480)
        return true;
    }
    return false;
  };
  // The outer fragments at rs1: (offset in bytes, IP total length, more fragments).
  std::vector<std::tuple<uint32_t, uint16_t, bool>> pieces;
  auto outer_fragments = [&](std::vector<port::CapturedFrame>& frames) {
    pieces.clear();
    for (auto& f : frames) {
      Tins::EthernetII eth(f.bytes.data(), uint32_t(f.bytes.size()));
      const auto* ip = eth.find_pdu<Tins::IP>();
      if (!ip || ip->protocol() != 4 || ip->dst_addr().to_string() != bed_->rs(1).ip) continue;
      EXPECT_EQ(ip->src_addr().to_string(), "10.40.0.2");
      EXPECT_EQ(ip->flags() & Tins::IP::DONT_FRAGMENT, 0) << "DF on a fragment";
      EXPECT_EQ(ip->ttl(), 61) << "64, less the routers' two hops and the director's";
      pieces.emplace_back(uint32_t(ip->fragment_offset()) * 8, ip->tot_len(),
                          (ip->flags() & Tins::IP::MORE_FRAGMENTS) != 0);
    }
    return pieces.size() >= 2;
  };
  if (GetParam()) {
    EXPECT_TRUE(bed_->client().port->wait_until(frag_needed, wait()))
        << "no fragmentation needed (MTU 1480) from the VIP";
    EXPECT_FALSE(bed_->rs(1).port->wait_until(outer_fragments, 500ms * slowness_));
    EXPECT_TRUE(pieces.empty()) << "something was tunnelled";
  } else {
    ASSERT_TRUE(bed_->rs(1).port->wait_until(outer_fragments, wait()))
        << "the tunnelled packet did not reach rs1 in two fragments";
    std::sort(pieces.begin(), pieces.end());
    using Piece = std::tuple<uint32_t, uint16_t, bool>;
    EXPECT_EQ(pieces, (std::vector<Piece>{{0, 1500, true}, {1480, 40, false}}));
    EXPECT_FALSE(bed_->client().port->wait_until(frag_needed, 0ms));
  }
}

INSTANTIATE_TEST_SUITE_P(sysctl, PmtuDisc, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// --- the defence modes at 3 (always on) ------------------------------------------------------

// Both in one DUT, one after the other (a guest boot each costs CI time). drop_packet=3 with
// am_droprate=3: ip_vs_todrop's counter starts at 0, so the 1st, 4th and 7th new connection are
// dropped. secure_tcp=3: a NAT handshake stays in SYNACK after the client's ACK (the default
// tables put it in ESTABLISHED), until the server's own ACK.
// Parameterised only for the `sysctl/` prefix that `ctest -R sysctl/` selects by: one mode.
class DefenceModes : public IpvsSysctl, public ::testing::WithParamInterface<int> {};

TEST_P(DefenceModes, DropPacketThenSecureTcp) {
  const std::string mode = std::to_string(GetParam());
  start("-A -t " + kVipPort + " -s rr\n-a -t " + kVipPort + " -r 192.168.10.11:80 -m\n" + "-a -t " +
        kVipPort + " -r 192.168.10.12:80 -m\n");
  if (IsSkipped()) return;

  set("am_droprate", "3", "10");
  set("drop_packet", mode, "0");
  std::vector<int> dropped;
  for (int n = 1; n <= 7; ++n) {
    auto syn = tcp(uint16_t(40600 + n), frames::SYN, 1000);
    bed_->client().port->send(syn);
    // A SYN that got through is seen at once; the wait for a dropped one is the long part.
    if (reached(syn, 1500ms * slowness_) == 0) dropped.push_back(n);
  }
  EXPECT_EQ(dropped, (std::vector<int>{1, 4, 7}));
  ASSERT_TRUE(bed_->dut().set_ipvs_sysctl("drop_packet", "0").ok());

  // One handshake through the director; what `-L -n -c` lists for it after each segment.
  auto handshake = [&](uint16_t cport) -> std::vector<std::string> {
    std::vector<std::string> states;
    auto state = [&] {
      auto listing = bed_->admin({"-L", "-n", "-c"});
      std::istringstream lines(listing.output);
      std::string line;
      while (std::getline(lines, line))
        if (line.find(":" + std::to_string(cport) + " ") != std::string::npos) {
          std::istringstream words(line);
          std::string proto, expires, name;
          words >> proto >> expires >> name;
          return name;
        }
      return std::string("(none)");
    };
    auto syn = tcp(cport, frames::SYN, 1000);
    bed_->client().port->send(syn);
    const int rs = reached(syn, wait());
    if (rs == 0) return {"(SYN lost)"};
    states.push_back(state());
    if (!server_says(rs, cport, frames::SYN | frames::ACK, 7000, 1001)) return {"(SYN+ACK lost)"};
    states.push_back(state());
    auto ack = tcp(cport, frames::ACK, 1001, 7001);
    bed_->client().port->send(ack);
    if (reached(ack, wait()) != rs) return {"(ACK lost)"};
    states.push_back(state());
    if (!server_says(rs, cport, frames::ACK | frames::PSH, 7001, 1001)) return {"(data lost)"};
    states.push_back(state());
    return states;
  };
  using States = std::vector<std::string>;
  EXPECT_EQ(handshake(40650), (States{"SYN_RECV", "SYN_RECV", "ESTABLISHED", "ESTABLISHED"}));
  set("secure_tcp", mode, "0");
  EXPECT_EQ(handshake(40700), (States{"SYN_RECV", "SYNACK", "SYNACK", "ESTABLISHED"}));
}

INSTANTIATE_TEST_SUITE_P(sysctl, DefenceModes, ::testing::Values(3),
                         [](const auto&) { return "AlwaysOn"; });

}  // namespace
}  // namespace vslab::conformance
