// Schedulers on the wire (spec sections 4, 6, 8): which real server each new connection of a
// NAT service reaches. Every expected sequence is derived by hand from the spec in a comment
// beside it; connections stay active (SYN_RECV, spec 5) because the real servers never answer.
// After each scenario `-L -n` must list the ActiveConn/InActConn counts spec 5 predicts.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "listed_counts.h"
#include "mode_bed.h"

namespace vslab::conformance {
namespace {

using expect::FrameExpectation;
using namespace std::chrono_literals;

// topologies/nat.toml: VIP 10.20.0.100, rs1..rs3 = 192.168.10.11-13 behind director eth1;
// the client is 10.10.0.2 and the router forwards any 10.10.0.x source it is given.
const char* kClient = "10.10.0.2";

class Scheduler : public ModeTest {
 protected:
  // The rules differ per test: each test restores its own.
  void SetUp() override {
    ModeTest::SetUp();
    if (IsSkipped()) return;
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    bed_ = std::make_unique<ModeBed>("nat", std::string("Scheduler.") + info->name());
  }

  // A segment from `client`:cport to VIP:80.
  Tins::EthernetII segment(const std::string& client, uint16_t cport, uint8_t flags) {
    auto frame = bed_->client_frame().ip_src(client).tcp(cport, 80).flags(flags);
    frame.seq(flags & frames::SYN ? 1000 : 1001);
    if (flags & frames::ACK) frame.ack(1);
    return frame.pdu();
  }

  // What rs`rs` receives for `sent` under NAT: two hops (router, director), DNAT to RIP:8080.
  FrameExpectation at_real_server(const Tins::EthernetII& sent, int rs) {
    FrameExpectation want(sent);
    want.eth_src(bed_->mac("director", "eth1"))
        .eth_dst(bed_->rs(rs).mac)
        .ip_dst(bed_->rs(rs).ip)
        .ttl(62)
        .dport(8080);
    return want;
  }

  // Which real server got `sent` (1..3), claiming the frame; 0 when none did before timeout.
  int reached_server(const Tins::EthernetII& sent, std::chrono::milliseconds timeout = 2s) {
    return bed_->claiming_server([&](int rs) { return at_real_server(sent, rs); }, timeout);
  }

  // Sends `sent` and checks that it reaches rs`rs`; on a miss, says where it went instead.
  void expect_reaches(const Tins::EthernetII& sent, int rs, const std::string& what) {
    bed_->client().port->send(sent);
    auto r = bed_->checker().expect_frame(*bed_->rs(rs).port, at_real_server(sent, rs));
    if (r.ok) return;
    int actual = reached_server(sent, 100ms);
    ADD_FAILURE() << what << " should reach rs" << rs << " but "
                  << (actual ? "reached rs" + std::to_string(actual) : "reached no real server")
                  << "\n"
                  << r.report;
  }

  void expect_syn_goes_to(const std::string& client, uint16_t cport, int rs) {
    expect_reaches(segment(client, cport, Tins::TCP::SYN), rs,
                   "SYN " + client + ":" + std::to_string(cport));
  }

  // One new connection per entry, from kClient on ports first_port, first_port + 1, ...; the
  // i-th must reach rs servers[i]. Nothing else may reach a real server.
  void expect_picks(const std::vector<int>& servers, uint16_t first_port = 40000) {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      SCOPED_TRACE("pick " + std::to_string(i + 1));
      expect_syn_goes_to(kClient, static_cast<uint16_t>(first_port + i), servers[i]);
    }
    expect_no_other_frames_at_real_servers();
  }

  // Opens a connection from client:cport and returns the server it reached (0 = none).
  int open_connection(const std::string& client, uint16_t cport) {
    auto syn = segment(client, cport, Tins::TCP::SYN);
    bed_->client().port->send(syn);
    return reached_server(syn);
  }

  void expect_syn_dropped(const std::string& client, uint16_t cport) {
    bed_->client().port->send(segment(client, cport, Tins::TCP::SYN));
    auto r = bed_->checker().expect_no_other_frames(bed_->rs_ports(), 500ms);
    EXPECT_TRUE(r.ok) << "SYN " << client << ":" << cport << " should reach no real server\n"
                      << r.report;
  }

  void expect_no_other_frames_at_real_servers() {
    auto r = bed_->checker().expect_no_other_frames(bed_->rs_ports());
    EXPECT_TRUE(r.ok) << r.report;
  }

  void admin_ok(const std::vector<std::string>& args) {
    auto r = bed_->admin(args);
    ASSERT_TRUE(r.ok()) << r.output;
  }
};

TEST_F(Scheduler, WrrFollowsWeightsFourThreeTwoStartingFromTheStateLeftByTheAdds) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s wrr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 4\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 3\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 2\n");
  // Spec 6, state after each add (cursor back to the head each time):
  //   no dests:  di = 1 (no positive weight), mw = 0 - 0 = 0, cw = mw = 0
  //   + rs1 w4:  di = 4, mw = 4 - 3 = 1; cw == 0 -> cw = mw = 1
  //   + rs2 w3:  di = gcd(3,4) = 1, mw = 4; cw = 1 is neither > mw nor 0, di = 1: cw stays 1
  //   + rs3 w2:  di = 1, mw = 4; cw stays 1
  // Scan order rs3(2), rs2(3), rs1(4). Picks, taking weight >= cw:
  //   cw 1: rs3, rs2, rs1; end -> cw 0 -> cw = mw = 4
  //   cw 4: rs1;           end -> cw 3
  //   cw 3: rs2, rs1;      end -> cw 2
  //   cw 2: rs3, rs2, rs1; end -> cw 1
  //   cw 1: rs3, rs2, rs1; end -> cw 4
  //   cw 4: rs1 ...
  expect_picks({3, 2, 1, 1, 2, 1, 3, 2, 1, 3, 2, 1, 1});
  // Spec 5: a SYN the server never answers leaves the connection in SYN_RECV, active.
  // rs1 got picks 3, 4, 6, 9, 12, 13: 6 active; rs2 picks 2, 5, 8, 11: 4; rs3 1, 7, 10: 3.
  expect_listed_counts(*bed_, {{1, {6, 0}}, {2, {4, 0}}, {3, {3, 0}}});
}

TEST_F(Scheduler, WrrStartsTheSameWhenTheAddsComeAsSeparateCommands) {
  bed_->restore("-A -t 10.20.0.100:80 -s wrr\n");
  const std::vector<std::pair<std::string, std::string>> adds = {
      {"192.168.10.11:8080", "4"}, {"192.168.10.12:8080", "3"}, {"192.168.10.13:8080", "2"}};
  for (const auto& [rip, weight] : adds)
    admin_ok({"-a", "-t", "10.20.0.100:80", "-r", rip, "-m", "-w", weight});
  // The same three adds as the test above, so the same state and the same picks.
  expect_picks({3, 2, 1, 1, 2, 1, 3, 2, 1, 3, 2, 1, 1});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 6, rs2 4, rs3 3, as above.
  expect_listed_counts(*bed_, {{1, {6, 0}}, {2, {4, 0}}, {3, {3, 0}}});
}

TEST_F(Scheduler, WlcFollowsTheSpecsWorkedExample) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s wlc\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 2\n");
  // Scan rs2(w2), rs1(w1); overhead = active * 256 (every connection stays active). The
  // first is the candidate C; D replaces it when oh(C) * w(D) > oh(D) * w(C):
  //   1: rs2 0,    rs1 0:    0*1 > 0*2 no           -> rs2
  //   2: rs2 256,  rs1 0:    256*1 > 0*2            -> rs1
  //   3: rs2 256,  rs1 256:  256*1 > 256*2 no       -> rs2
  //   4: rs2 512,  rs1 256:  512*1 > 256*2 no (tie) -> rs2
  //   5: rs2 768,  rs1 256:  768 > 512              -> rs1
  //   6: rs2 768,  rs1 512:  768 > 1024 no          -> rs2
  //   7: rs2 1024, rs1 512:  1024 > 1024 no         -> rs2
  //   8: rs2 1280, rs1 512:  1280 > 1024            -> rs1
  //   9: rs2 1280, rs1 768:  1280 > 1536 no         -> rs2
  expect_picks({2, 1, 2, 2, 1, 2, 2, 1, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 picks 2, 5, 8: 3; rs2 the other 6.
  // rs3 is not a destination of this service.
  expect_listed_counts(*bed_, {{1, {3, 0}}, {2, {6, 0}}});
  EXPECT_EQ(listed_counts(*bed_).count(3), 0u) << "rs3 was never added";
}

TEST_F(Scheduler, LcIgnoresWeightsAndBreaksTiesByListOrder) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s lc\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 5\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  // Scan rs3, rs2, rs1; least (active << 8) + inactive, weight only decides availability:
  // all 0 -> rs3; rs3 256, others 0 -> rs2; -> rs1; all 256 -> rs3, then rs2, rs1.
  expect_picks({3, 2, 1, 3, 2, 1});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): two picks each, 2 active each.
  expect_listed_counts(*bed_, {{1, {2, 0}}, {2, {2, 0}}, {3, {2, 0}}});
}

TEST_F(Scheduler, LcCountsAClosedConnectionAsInactiveAndLighterThanAnActiveOne) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s lc\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  // Connection A goes to rs3 (all idle, first in scan order rs3, rs2, rs1). Spec 5: SYN_RECV
  // + ACK (in) -> ESTABLISHED, then + RST -> CLOSE, which counts as inactive: overhead 1.
  expect_syn_goes_to(kClient, 40000, 3);
  expect_reaches(segment(kClient, 40000, Tins::TCP::ACK), 3, "ACK of connection A");
  expect_reaches(segment(kClient, 40000, Tins::TCP::RST | Tins::TCP::ACK), 3,
                 "RST of connection A");
  // Overheads rs3 1, rs2 0, rs1 0 -> rs2; rs3 1, rs2 256, rs1 0 -> rs1; rs3 1 is now the
  // least (1 < 256) -> rs3; rs3 257, rs2 256, rs1 256 -> rs2 (first of the tie).
  expect_picks({2, 1, 3, 2}, 40001);
  // Spec 5: A is in CLOSE (timeout 10 s, longer than this test), inactive; the four later
  // SYNs stay SYN_RECV, active. rs1 pick 2: 1 active; rs2 picks 1, 4: 2 active; rs3 pick 3
  // plus A: 1 active, 1 inactive.
  expect_listed_counts(*bed_, {{1, {1, 0}}, {2, {2, 0}}, {3, {1, 1}}});
}

TEST_F(Scheduler, SedPrefersTheHeavierServerWhenIdleAndCountsActivePlusOne) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s sed\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 3\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n");
  // Scan rs2(w1), rs1(w3); overhead = active + 1; D replaces C when oh(C)*w(D) > oh(D)*w(C):
  //   1: rs2 1, rs1 1: 1*3 > 1*1         -> rs1
  //   2: rs2 1, rs1 2: 3 > 2             -> rs1
  //   3: rs2 1, rs1 3: 3 > 3 no (tie)    -> rs2
  //   4: rs2 2, rs1 3: 6 > 3             -> rs1
  //   5: rs2 2, rs1 4: 6 > 4             -> rs1
  //   6: rs2 2, rs1 5: 6 > 5             -> rs1
  //   7: rs2 2, rs1 6: 6 > 6 no (tie)    -> rs2
  expect_picks({1, 1, 2, 1, 1, 1, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 picks 1, 2, 4, 5, 6: 5; rs2 3, 7: 2.
  expect_listed_counts(*bed_, {{1, {5, 0}}, {2, {2, 0}}});
}

TEST_F(Scheduler, NqTakesTheFirstServerWithNoActiveConnectionThenFollowsSed) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s nq\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 3\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n");
  // Scan rs2(w1), rs1(w3). The first idle server wins at once; else sed (oh = active + 1):
  //   1: rs2 idle                                  -> rs2
  //   2: rs2 active 1; rs1 idle                    -> rs1
  //   3: rs2 oh 2, rs1 oh 2: 2*3 > 2*1             -> rs1
  //   4: rs2 2, rs1 3: 6 > 3                       -> rs1
  //   5: rs2 2, rs1 4: 6 > 4                       -> rs1
  //   6: rs2 2, rs1 5: 6 > 5                       -> rs1
  //   7: rs2 2, rs1 6: 6 > 6 no (tie)              -> rs2
  expect_picks({2, 1, 1, 1, 1, 1, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 picks 2-6: 5; rs2 picks 1, 7: 2.
  expect_listed_counts(*bed_, {{1, {5, 0}}, {2, {2, 0}}});
}

TEST_F(Scheduler, FoSendsEverythingToTheFirstOfTheHighestWeight) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s fo\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 3\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 3\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  // Scan rs3(1), rs2(3), rs1(3): highest weight 3, tie between rs2 and rs1 -> rs2, the first;
  // fo does not look at connections, so it stays rs2.
  expect_picks({2, 2, 2, 2, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): all five on rs2; rs1 and rs3 idle.
  expect_listed_counts(*bed_, {{1, {0, 0}}, {2, {5, 0}}, {3, {0, 0}}});
}

TEST_F(Scheduler, OvfFillsTheHeaviestServerToWeightPlusOneThenOverflows) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s ovf\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 2\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 2\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  // Scan rs3(1), rs2(2), rs1(2); candidates have active <= weight; highest weight, ties first:
  //   picks 1-3: rs2 (active 0, 1, 2 <= 2), then rs2 has 3 > 2 and drops out
  //   picks 4-6: rs1 (active 0, 1, 2), then out
  //   picks 7-8: rs3 (active 0, 1 <= 1), then out
  //   pick 9: none is available -> dropped, no entry (spec 6)
  expect_picks({2, 2, 2, 1, 1, 1, 3, 3});
  expect_syn_dropped(kClient, 40008);
  // Unanswered SYNs stay SYN_RECV, active (spec 5); the dropped ninth created no entry:
  // rs1 picks 4-6: 3; rs2 picks 1-3: 3; rs3 picks 7, 8: 2.
  expect_listed_counts(*bed_, {{1, {3, 0}}, {2, {3, 0}}, {3, {2, 0}}});
}

TEST_F(Scheduler, WeightZeroServerGetsNoNewConnections) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  expect_syn_goes_to(kClient, 40000, 3);
  admin_ok({"-e", "-t", "10.20.0.100:80", "-r", "192.168.10.13:8080", "-m", "-w", "0"});
  // rr's cursor is on rs3 (an edit does not move it, spec 6); rs3 is unavailable (spec 8),
  // so the scan from rs3 goes rs2, rs1, then wraps past rs3: rs2, rs1.
  expect_picks({2, 1, 2, 1}, 40001);
  // Unanswered SYNs stay SYN_RECV, active (spec 5); weight 0 keeps rs3 listed with the SYN
  // it got before the edit (spec 8): rs1 2, rs2 2, rs3 1.
  expect_listed_counts(*bed_, {{1, {2, 0}}, {2, {2, 0}}, {3, {1, 0}}});
}

TEST_F(Scheduler, WeightZeroServerKeepsItsExistingConnection) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1\n");
  expect_syn_goes_to(kClient, 40000, 3);
  admin_ok({"-e", "-t", "10.20.0.100:80", "-r", "192.168.10.13:8080", "-m", "-w", "0"});
  // Spec 2 ("Which packets reach which real server") and 8: a quiescent server keeps its
  // connections; later segments of the same 4-tuple are not scheduled again.
  expect_reaches(segment(kClient, 40000, Tins::TCP::ACK), 3, "ACK on the rs3 connection");
  expect_no_other_frames_at_real_servers();
  // Spec 5: SYN_RECV + ACK (in) -> ESTABLISHED, active: rs3 1; rs1 and rs2 got nothing.
  expect_listed_counts(*bed_, {{1, {0, 0}}, {2, {0, 0}}, {3, {1, 0}}});
}

TEST_F(Scheduler, RrSkipsADestinationAtItsUpperThreshold) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 1 -x 2\n");
  // Spec 8: rs3 is OVERLOADED once active + inactive >= 2, i.e. after its second connection
  // (pick 4); while connections stay active the flag stays. rr over rs3, rs2, rs1:
  // rs3, rs2, rs1, rs3 (now 2), rs2, rs1, then rs3 is skipped: rs2, rs1, rs2.
  expect_picks({3, 2, 1, 3, 2, 1, 2, 1, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 picks 3, 6, 8: 3; rs2 picks 2, 5,
  // 7, 9: 4; rs3 picks 1, 4: 2 (its threshold; the flag only stops new connections).
  expect_listed_counts(*bed_, {{1, {3, 0}}, {2, {4, 0}}, {3, {2, 0}}});
}

TEST_F(Scheduler, WlcSkipsADestinationAtItsUpperThreshold) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s wlc\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m -w 1\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m -w 3 -x 2\n");
  // Scan rs3(w3), rs2(w1), rs1(w1); overhead = active * 256:
  //   1: all 0                                     -> rs3
  //   2: rs3 256*1 > rs2 0*3                       -> rs2 (rs1 0 ties, stays rs2)
  //   3: rs3 256*1 > 256*3 no; rs3 256*1 > rs1 0   -> rs1
  //   4: rs3 256 w3 vs 256 w1: 256 > 768 no        -> rs3, now 2 connections: OVERLOADED
  //   5: rs3 skipped (without -x: 512*1 > 256*3 no, rs3 again); rs2 256, rs1 256 -> rs2
  //   6: rs2 512, rs1 256                          -> rs1
  //   7: rs2 512, rs1 512                          -> rs2
  expect_picks({3, 2, 1, 3, 2, 1, 2});
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 picks 3, 6: 2; rs2 picks 2, 5, 7:
  // 3; rs3 picks 1, 4: 2.
  expect_listed_counts(*bed_, {{1, {2, 0}}, {2, {3, 0}}, {3, {2, 0}}});
}

TEST_F(Scheduler, ShSendsEveryConnectionOfAClientAddressToOneServer) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s sh\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  // Spec 6: the bucket is a hash of the source address alone (no -b sh-port), so which server
  // a client gets is not derived here, only that all its connections get the same one.
  std::map<int, ListedCounts> want = {{1, {}}, {2, {}}, {3, {}}};
  for (const char* client : {"10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.5"}) {
    SCOPED_TRACE(client);
    int first = open_connection(client, 40000);
    ASSERT_NE(first, 0) << "the first SYN from " << client << " reached no real server";
    for (uint16_t cport : {40001, 40002, 52000, 1025}) expect_syn_goes_to(client, cport, first);
    want[first].active += 5;
  }
  expect_no_other_frames_at_real_servers();
  // Unanswered SYNs stay SYN_RECV, active (spec 5): each client's 5 SYNs on the server its
  // first SYN reached, 5 active there per client; a server no client hashed to is idle.
  expect_listed_counts(*bed_, want);
}

TEST_F(Scheduler, DhSendsEveryConnectionToTheVipToOneServer) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s dh\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  // Spec 6: dh hashes the destination address; every connection here is to the VIP.
  int first = open_connection(kClient, 40000);
  ASSERT_NE(first, 0) << "the first SYN reached no real server";
  for (const char* client : {"10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.5"})
    for (uint16_t cport : {40001, 40002}) expect_syn_goes_to(client, cport, first);
  expect_no_other_frames_at_real_servers();
  // Unanswered SYNs stay SYN_RECV, active (spec 5): all 1 + 4 * 2 = 9 on the first's server.
  std::map<int, ListedCounts> want = {{1, {}}, {2, {}}, {3, {}}};
  want[first] = {9, 0};
  expect_listed_counts(*bed_, want);
}

TEST_F(Scheduler, MhSendsEveryConnectionOfAClientAddressToOneServer) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s mh\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  // Spec 6: mh's key is the source address alone (no -b mh-port).
  std::map<int, ListedCounts> want = {{1, {}}, {2, {}}, {3, {}}};
  for (const char* client : {"10.10.0.2", "10.10.0.3", "10.10.0.4", "10.10.0.5"}) {
    SCOPED_TRACE(client);
    int first = open_connection(client, 40000);
    ASSERT_NE(first, 0) << "the first SYN from " << client << " reached no real server";
    for (uint16_t cport : {40001, 40002, 52000}) expect_syn_goes_to(client, cport, first);
    want[first].active += 4;
  }
  expect_no_other_frames_at_real_servers();
  // Unanswered SYNs stay SYN_RECV, active (spec 5): each client's 4 SYNs on the server its
  // first SYN reached, 4 active there per client; a server no client hashed to is idle.
  expect_listed_counts(*bed_, want);
}

TEST_F(Scheduler, MhKeepsTheOtherServersClientsWhenOneServerIsDeleted) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s mh\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  std::map<std::string, int> server_of;
  std::map<int, int> clients_on;
  for (int host = 2; host <= 13; ++host) {
    std::string client = "10.10.0." + std::to_string(host);
    int rs = open_connection(client, 40000);
    ASSERT_NE(rs, 0) << "the SYN from " << client << " reached no real server";
    server_of[client] = rs;
    ++clients_on[rs];
  }
  // The property needs clients on at least two servers; delete the one holding the most.
  ASSERT_GE(clients_on.size(), 2u) << "all 12 clients hashed to one server";
  int victim = 0;
  for (auto [rs, n] : clients_on)
    if (!victim || n > clients_on[victim]) victim = rs;
  admin_ok({"-d", "-t", "10.20.0.100:80", "-r", bed_->rs(victim).ip + ":8080"});

  // Spec 6: removing one of N servers keeps the mapping of the keys on the others; the
  // victim's clients move to some remaining server.
  std::map<int, ListedCounts> want;
  for (int rs = 1; rs <= 3; ++rs)
    if (rs != victim) want[rs] = {};
  for (const auto& [client, rs] : server_of) {
    SCOPED_TRACE(client);
    if (rs != victim) {
      expect_syn_goes_to(client, 40001, rs);
      want[rs].active += 2;  // its SYNs from ports 40000 and 40001
      continue;
    }
    int moved = open_connection(client, 40001);
    EXPECT_NE(moved, 0) << "after deleting rs" << victim << ", " << client << " reached no server";
    EXPECT_NE(moved, victim);
    if (want.count(moved)) ++want[moved].active;  // its SYN from port 40001
  }
  expect_no_other_frames_at_real_servers();
  // Unanswered SYNs stay SYN_RECV, active (spec 5): a remaining server has 2 per client that
  // stayed on it plus 1 per client moved to it. The deleted victim is no longer a destination
  // of the service, so it is not listed.
  expect_listed_counts(*bed_, want);
  EXPECT_EQ(listed_counts(*bed_).count(victim), 0u) << "rs" << victim << " was deleted";
}

TEST_F(Scheduler, RrMovesOnToTheSuccessorWhenTheDestinationUnderTheCursorIsDeleted) {
  bed_->restore(
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n");
  // rs3, rs2: the cursor is on rs2. Deleting rs2 leaves rs3, rs1 and the next pick is rs2's
  // successor, rs1 (spec 6; ip_vs_rr.c ip_vs_rr_del_dest parks the cursor on rs2's
  // predecessor so that the next scan lands on the successor), then rs3, rs1, rs3.
  expect_picks({3, 2});
  admin_ok({"-d", "-t", "10.20.0.100:80", "-r", "192.168.10.12:8080"});
  expect_picks({1, 3, 1, 3}, 40002);
  // Unanswered SYNs stay SYN_RECV, active (spec 5): rs1 got 2 after the delete; rs3 1 before
  // and 2 after: 3. rs2 (1 SYN) was deleted, so it is no longer listed.
  expect_listed_counts(*bed_, {{1, {2, 0}}, {3, {3, 0}}});
  EXPECT_EQ(listed_counts(*bed_).count(2), 0u) << "rs2 was deleted";
}

}  // namespace
}  // namespace vslab::conformance
