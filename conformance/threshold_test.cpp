// Connection thresholds switching a server off and back on (spec section 8), on the DR
// topology. A server's count is active + inactive. SYN-only connections stay (SYN_RECV,
// 60 s); a connection the client ACKs becomes ESTABLISHED, whose timeout the test sets to
// 1 s, so the test chooses which connections go away, and watches them go in `-L -n`.
#include <gtest/gtest.h>

#include "dr_scheduling.h"

namespace vslab::conformance {
namespace {

class Threshold : public DrScheduling {
 protected:
  void SetUp() override {
    DrScheduling::SetUp();
    if (IsSkipped()) return;
    // Spec 5: --set tcp tcpfin udp, 0 keeping a value; before any traffic, so that every
    // connection entering ESTABLISHED gets 1 s.
    admin_ok({"--set", "1", "0", "0"});
  }

  // Lets connection 10.10.0.2:cport on rs3 expire: ACK takes it to ESTABLISHED (1 s).
  void let_expire(uint16_t cport) {
    expect_reaches(tcp_from("10.10.0.2", cport, Tins::TCP::ACK), 3,
                   "ACK 10.10.0.2:" + std::to_string(cport));
  }

  void wait_for_rs3_count(int active) {
    EXPECT_TRUE(eventually([&] {
      return listed_counts()[3] == ListedCounts{active, 0};
    })) << "rs3 should come down to "
        << active << " active connections:\n"
        << bed_->admin({"-L", "-n"}).output;
  }
};

TEST_F(Threshold, AServerIsOffFromItsUpperThresholdUntilItDropsBelowItsLower) {
  restore(dr_rules("-s rr", {"", "", "-x 3 -y 2"}));
  // rr over rs3, rs2, rs1; rs3's count reaches 3 at pick 7 (ports 40000, 40003, 40006) and
  // it is OVERLOADED (count >= upper): pick 10 skips it.
  expect_picks({3, 2, 1, 3, 2, 1, 3, 2, 1, 2});
  // Count 2 is not below the lower threshold 2: still off. The cursor is on rs2.
  let_expire(40006);
  wait_for_rs3_count(2);
  expect_picks({1, 2}, 40010);
  // Count 1 < 2: the flag clears, and rr takes rs3 again when its turn comes.
  let_expire(40003);
  wait_for_rs3_count(1);
  expect_picks({1, 3, 2}, 40012);
  expect_listed_counts({{1, {5, 0}}, {2, {6, 0}}, {3, {2, 0}}});
}

TEST_F(Threshold, WithoutALowerThresholdAServerComesBackBelowThreeQuartersOfItsUpper) {
  restore(dr_rules("-s rr", {"", "", "-x 4"}));
  // rs3 takes picks 1, 4, 7, 10 (ports 40000, 40003, 40006, 40009): count 4, OVERLOADED.
  expect_picks({3, 2, 1, 3, 2, 1, 3, 2, 1, 3, 2, 1, 2});
  // Spec 8, lower 0: the flag clears when count * 4 < upper * 3 = 12. Count 3: 12, not below.
  let_expire(40009);
  wait_for_rs3_count(3);
  expect_picks({1, 2}, 40013);
  // Count 2: 8 < 12, back on.
  let_expire(40006);
  wait_for_rs3_count(2);
  expect_picks({1, 3, 2}, 40015);
  expect_listed_counts({{1, {6, 0}}, {2, {7, 0}}, {3, {3, 0}}});
}

}  // namespace
}  // namespace vslab::conformance
