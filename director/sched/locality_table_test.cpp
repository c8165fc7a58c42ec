// How lblc and lblcr forget their records (locality_table.h), as ip_vs_lblc.c and
// ip_vs_lblcr.c do it: a timer ticks every minute from when the service got the scheduler.
// Every 30th tick that finds the table within its size (max_size, 16384) drops the records
// unused for lblc_expiration / lblcr_expiration (a day); a tick that finds more than 16384
// counted instead drops records unused for 6 minutes, bucket by bucket (hash_32 of the
// address, 10 bits) from the bucket after the rover, until 4/3 of the excess have gone.
// A pick for an address without a record goes by wlc. Every expectation below is worked by
// hand from those rules.
#include <chrono>
#include <string>

#include "sched/flow_test_service.h"

namespace vsd::sched_test {
namespace {

using namespace std::chrono_literals;

const Ipv4 kVip = Ipv4::from_octets(10, 9, 9, 7);

class LocalityExpiry : public ::testing::TestWithParam<std::string> {
 protected:
  // List rs2, rs1 (w1 each). At `at`, rs2 has one active connection, so wlc gives kVip to rs1
  // (0 against 256), which is recorded; that connection stays. From then on both have one
  // active connection: wlc would take rs2 (ties go to the first), but the record keeps rs1
  // (active 1 > weight 1 is false: not overloaded). rs1 means the record held, rs2 that it
  // was forgotten.
  void record_rs1_at(std::chrono::milliseconds at) {
    svc.add(1).add(2);
    svc.advance(at);
    svc.dest(2).active = 1;
    EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  }
  // Records for count addresses no test looks at (10.10.0.0 upwards), made by peeks so that
  // no counter moves.
  void add_records(int count) {
    for (int i = 0; i < count; ++i) svc.peek(tcp_to(Ipv4::from_host(0x0a0a0000u + uint32_t(i))));
  }

  FlowService svc{GetParam()};
};

TEST_P(LocalityExpiry, ARecordUnusedFor23h59mStillHolds) {
  record_rs1_at(10s);
  svc.advance(23h + 59min);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpiry, ARecordUnusedForADayStaysUntilTheNextFullCheck) {
  // Full checks at 30 min, 1 h, ... The one at 24 h finds the record (used at 10 s) unused for
  // 23 h 59 min 50 s; at 24 h 29 min the next one has not come yet.
  record_rs1_at(10s);
  svc.advance(24h + 29min - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpiry, ARecordUnusedForADayIsForgottenAtTheNextFullCheck) {
  // The full check at 24 h 30 min finds it unused for 24 h 29 min 50 s: gone, and the pick
  // goes through wlc again.
  record_rs1_at(10s);
  svc.advance(24h + 30min + 1s - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

TEST_P(LocalityExpiry, EachUseStartsTheDayAgain) {
  record_rs1_at(10s);
  svc.advance(20h - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  // The full checks at 24 h and 24 h 30 min find it used at 20 h. rs1 has 2 active against
  // rs2's 1 (wlc would take rs2), but nobody is below half its weight: still rs1.
  svc.advance(4h + 30min + 1s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpiry, BeyondMaxSizeRecordsUnusedFor6MinutesGo) {
  // kVip's record at 0 s, 16385 more at 150 s: 16386 counted, beyond 16384. The ticks at
  // 180, 240 and 300 s find nothing 6 minutes unused; the one at 360 s drops kVip's record
  // (goal (16386 - 16384) * 4 / 3 = 2, but no other record is old enough).
  record_rs1_at(0s);
  svc.advance(150s);
  add_records(16385);
  svc.advance(211s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

TEST_P(LocalityExpiry, BeyondMaxSizeARecordUsed5m59sAgoStays) {
  record_rs1_at(0s);
  svc.advance(150s);
  add_records(16385);
  svc.advance(209s);  // 359 s: the tick at 360 s has not come
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpiry, At16384RecordsTheTableIsNotFull) {
  // 16384 counted is max_size, not beyond it: the ticks only count towards the full check.
  record_rs1_at(0s);
  svc.advance(150s);
  add_records(16383);
  svc.advance(211s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpiry, ACollectionStopsAfterTheBucketThatMeetsItsGoal) {
  // hash_32(a, 10) = (a * 0x61C88647 mod 2^32) >> 22, a in host order:
  //   10.9.1.104 = 0x0a090168 -> 0x007bd3d8 -> bucket 1
  //   10.9.3.202 = 0x0a0903ca -> 0x004bc906 -> bucket 1
  //   10.9.10.7  = 0x0a090a07 -> 0x003971f1 -> bucket 0
  // All three are recorded on rs1 at 0 s; 16383 more records at 150 s make 16386 counted. At
  // 360 s all three are 6 minutes unused, goal 2: the collection starts after the rover (0),
  // at bucket 1, drops both records there, meets its goal and stops. Bucket 0 would come last;
  // 10.9.10.7 survives, and 16384 counted leave the table within its size.
  const Ipv4 first = Ipv4::from_octets(10, 9, 1, 104);
  const Ipv4 second = Ipv4::from_octets(10, 9, 3, 202);
  const Ipv4 last = Ipv4::from_octets(10, 9, 10, 7);
  svc.add(1).add(2);  // rs2, rs1
  svc.dest(2).active = 1;
  for (Ipv4 vip : {first, second, last}) EXPECT_EQ(svc.peek(tcp_to(vip)), 1);
  svc.advance(150s);
  add_records(16383);
  svc.advance(211s);
  svc.dest(1).active = 1;  // as loaded as rs2: wlc would take rs2
  EXPECT_EQ(svc.peek(tcp_to(last)), 1);
  EXPECT_EQ(svc.peek(tcp_to(first)), 2);
  EXPECT_EQ(svc.peek(tcp_to(second)), 2);
}

INSTANTIATE_TEST_SUITE_P(Sched, LocalityExpiry, ::testing::Values("lblc", "lblcr"),
                         [](const auto& info) { return info.param; });

// net.ipv4.vs.lblc_expiration / lblcr_expiration: the full check (every 30th tick, a minute
// apart) forgets records unused for that long, reading the value as it is at the check; the
// other scheduler's setting does not count.
class LocalityExpirationSysctl : public ::testing::TestWithParam<std::string> {
 protected:
  void set_own(std::chrono::milliseconds ms) {
    (GetParam() == "lblc" ? expiration.lblc_ms : expiration.lblcr_ms).store(ms.count());
  }
  void set_other(std::chrono::milliseconds ms) {
    (GetParam() == "lblc" ? expiration.lblcr_ms : expiration.lblc_ms).store(ms.count());
  }
  // As LocalityExpiry's: rs1 means the record held, rs2 that it was forgotten.
  void record_rs1_at(std::chrono::milliseconds at) {
    svc.add(1).add(2);
    svc.advance(at);
    svc.dest(2).active = 1;
    EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
  }

  LocalityExpiration expiration;
  FlowService svc{make_scheduler(GetParam(), SchedulerOptions{{}, 0, &expiration})};
};

TEST_P(LocalityExpirationSysctl, TenMinutesForgetsAtTheFirstFullCheck) {
  set_own(10min);
  record_rs1_at(10s);
  svc.advance(30min + 1s - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

TEST_P(LocalityExpirationSysctl, NothingIsForgottenBetweenFullChecks) {
  set_own(10min);
  record_rs1_at(10s);
  svc.advance(29min + 59s - 10s);  // unused for 29 min 49 s, but the check comes at 30 min
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpirationSysctl, TheValueAtTheCheckCounts) {
  record_rs1_at(10s);
  svc.advance(20min);
  set_own(10min);
  svc.advance(10min + 1s - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

TEST_P(LocalityExpirationSysctl, TheOtherSchedulersSettingDoesNotCount) {
  set_other(10min);
  record_rs1_at(10s);
  svc.advance(30min + 1s - 10s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 1);
}

TEST_P(LocalityExpirationSysctl, ANegativeValueForgetsEveryRecordAtTheCheck) {
  set_own(-1s);
  record_rs1_at(29min);
  svc.advance(1min + 1s);
  EXPECT_EQ(svc.pick(tcp_to(kVip)), 2);
}

INSTANTIATE_TEST_SUITE_P(Schedulers, LocalityExpirationSysctl, ::testing::Values("lblc", "lblcr"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vsd::sched_test
