// vsd --workers N schedules as one director: two workers' services and connection tables,
// sharing one SharedScheduling as vsd's workers do, take turns with new connections and must
// give the order and the counts one kernel IPVS director gives (spec 6 and 8), not two
// interleaved ones.
#include "vsd/shared_scheduling.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "vsd/services.h"

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

const ServiceKey kWeb{Proto::Tcp, Endpoint{ip("10.20.0.100"), 80}, 0};

Endpoint real_server(uint32_t n) {
  return {Ipv4{0x0a010000 + n}, 8080};
}

// Destinations 1..count in list order (newest first: rr starts with 1).
RuleSet web(const char* scheduler, uint32_t count, uint32_t upper = 0, uint32_t lower = 0) {
  Service s;
  s.key = kWeb;
  s.scheduler = scheduler;
  for (uint32_t n = 1; n <= count; ++n)
    s.destinations.push_back({real_server(n), Method::Nat, 1, upper, lower});
  RuleSet rules;
  rules.services = {s};
  return rules;
}

struct Worker {
  explicit Worker(SharedScheduling* shared, bool leader)
      : conns({1024, 16}), services(conns, clock) {
    if (shared) services.share(shared, leader);
  }
  // Schedules a new connection from client port `port` and inserts it, as the data plane
  // does; the destination it went to, or nothing.
  std::optional<Endpoint> connect(uint16_t port) {
    ServiceRuntime* svc = services.find(Proto::Tcp, kWeb.vip.v4());
    if (!svc) return std::nullopt;
    const Endpoint client{ip("10.10.0.1"), port};
    auto h = services.schedule(*svc, FlowKey{Proto::Tcp, client, kWeb.vip.v4()});
    if (!h) return std::nullopt;
    const Endpoint dest = services.dest(*h).config.addr.v4();
    made.push_back(conns.insert({Proto::Tcp, client, kWeb.vip.v4(), dest, {}, Method::Nat, *h},
                                clock.now_ms()));
    return dest;
  }
  void end_all() {
    for (Conn* c : made) conns.expire_now(*c, clock.now_ms());
    made.clear();
    conns.expire(clock.now_ms());
  }
  ManualClock clock{1000};
  ConnTable conns;
  Services services;
  std::vector<Conn*> made;
};

class SharedSchedulingTest : public testing::Test {
 protected:
  // As ControlBridge::install: the leader commits first.
  void install(const RuleSet& rules) {
    ASSERT_EQ(a_.services.install(rules), "");
    ASSERT_EQ(b_.services.install(rules), "");
  }
  SharedScheduling shared_;
  Worker a_{&shared_, true};
  Worker b_{&shared_, false};
};

TEST_F(SharedSchedulingTest, RoundRobinKeepsOneOrderAcrossWorkers) {
  install(web("rr", 3));
  // Spec 6: one cursor walks the list 1, 2, 3, 1, ... whichever worker asks.
  std::vector<Endpoint> got;
  for (uint16_t i = 0; i < 6; ++i)
    got.push_back((i % 2 ? b_ : a_).connect(uint16_t(2000 + i)).value_or(Endpoint{}));
  const std::vector<Endpoint> want{real_server(1), real_server(2), real_server(3),
                                   real_server(1), real_server(2), real_server(3)};
  EXPECT_EQ(got, want);
}

TEST_F(SharedSchedulingTest, WeightedRoundRobinKeepsOneRoundAcrossWorkers) {
  install(web("wrr", 2));
  // Weights 1, 1, then 3 and 1 by an edit (spec 6's wrr, ip_vs_wrr.c): the edit sends the
  // list position to the head and keeps the current weight 1, which is not above the new
  // maximum; so 1 and 2 finish that round, then rounds at weights 3, 2, 1 give 1, 1, 1, 2.
  // Heard once from both workers' commits and picked by both in turn, it must be one
  // director's sequence; each worker alone would repeat its own rounds.
  RuleSet weighted = web("wrr", 2);
  weighted.services[0].destinations[0].weight = 3;
  install(weighted);
  std::vector<Endpoint> got;
  for (uint16_t i = 0; i < 8; ++i)
    got.push_back((i % 2 ? b_ : a_).connect(uint16_t(3000 + i)).value_or(Endpoint{}));
  const std::vector<Endpoint> want{real_server(1), real_server(2), real_server(1), real_server(1),
                                   real_server(1), real_server(2), real_server(1), real_server(1)};
  EXPECT_EQ(got, want);
}

TEST_F(SharedSchedulingTest, LeastConnectionCountsEveryWorkersConnections) {
  install(web("lc", 2));
  // Worker a's connection goes to 1 (ties go to the first); worker b must see it and pick 2.
  EXPECT_EQ(a_.connect(4000), real_server(1));
  EXPECT_EQ(b_.connect(4001), real_server(2));
  EXPECT_EQ(a_.connect(4002), real_server(1));
  EXPECT_EQ(b_.connect(4003), real_server(2));
}

TEST_F(SharedSchedulingTest, ThresholdsCountTheDirectorsConnections) {
  // One destination with -x 2: one connection on each worker makes two in all, and it is
  // overloaded (spec 8), though neither worker holds two.
  install(web("rr", 1, 2));
  EXPECT_EQ(a_.connect(5000), real_server(1));
  EXPECT_EQ(b_.connect(5001), real_server(1));
  EXPECT_EQ(a_.connect(5002), std::nullopt);
  // The listing shows the flag on every worker's share of the counts.
  EXPECT_TRUE(a_.services.state().services[0].destinations[0].overloaded);
  // Without -y the flag goes below three quarters of -x: at 1 in all, not 2.
  b_.end_all();
  EXPECT_FALSE(b_.services.state().services[0].destinations[0].overloaded);
  EXPECT_EQ(b_.connect(5003), real_server(1));
  EXPECT_EQ(a_.connect(5004), std::nullopt);
  EXPECT_TRUE(b_.services.state().services[0].destinations[0].overloaded);
}

TEST(SharedSchedulingAlone, WithoutSharingEachWorkerSchedulesAlone) {
  // The contrast that shows the tests above would fail per worker: two unshared workers each
  // start rr at the head.
  Worker a(nullptr, true), b(nullptr, false);
  ASSERT_EQ(a.services.install(web("rr", 3)), "");
  ASSERT_EQ(b.services.install(web("rr", 3)), "");
  EXPECT_EQ(a.connect(6000), real_server(1));
  EXPECT_EQ(b.connect(6001), real_server(1));
}

}  // namespace
}  // namespace vsd
