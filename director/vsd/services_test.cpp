// Which service a new connection's first packet belongs to, as ip_vs_service_find decides with
// the mark vsd's classifier gives it: the fwmark service first, then the address service of
// the port, then the VIP's port-0 service; and the hosts mark rules name become the director's.
#include "vsd/services.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}
Endpoint ep(const char* addr, uint16_t port) {
  return {ip(addr), port};
}

// The refusal of a rule set whose destinations do not fit in the table's handles.
bool too_many_destinations(const std::string& error) {
  return error.rfind("too many destinations: ", 0) == 0;
}

Service service(ServiceKey key, bool persistent = false) {
  Service s;
  s.key = key;
  s.scheduler = "rr";
  s.persistent = persistent;
  return s;
}

class ServicesLookup : public testing::Test {
 protected:
  ServicesLookup() : conns_(ConnTableConfig{1024, 16}), services_(conns_) {}

  void install(const RuleSet& rules) { ASSERT_EQ(services_.install(rules), ""); }
  const ServiceKey* lookup(Proto proto, Endpoint dest) {
    ServiceRuntime* svc = services_.lookup(proto, dest);
    return svc ? &svc->config.key : nullptr;
  }

  const ServiceKey kMark1{Proto::Tcp, Endpoint{}, 1};
  const ServiceKey kWeb{Proto::Tcp, ep("10.20.0.100", 80), 0};
  const ServiceKey kAnyPort{Proto::Tcp, ep("10.20.0.100", 0), 0};
  ConnTable conns_;
  Services services_;
};

TEST_F(ServicesLookup, TheMarkServiceComesBeforeTheAddressService) {
  RuleSet rules;
  rules.services = {service(kWeb), service(kMark1)};
  rules.marks = {{1, MarkProto::Tcp, ip("10.20.0.100"), 32, 80, 81}};
  install(rules);
  ASSERT_NE(lookup(Proto::Tcp, ep("10.20.0.100", 80)), nullptr);
  EXPECT_EQ(*lookup(Proto::Tcp, ep("10.20.0.100", 80)), kMark1);
  EXPECT_EQ(*lookup(Proto::Tcp, ep("10.20.0.100", 81)), kMark1);
  // Not marked (UDP, or port 82): no service at all, as a VIP port without one.
  EXPECT_EQ(lookup(Proto::Udp, ep("10.20.0.100", 80)), nullptr);
  EXPECT_EQ(lookup(Proto::Tcp, ep("10.20.0.100", 82)), nullptr);
}

TEST_F(ServicesLookup, AMarkWithoutAServiceFallsBackToTheAddressThenPortZero) {
  RuleSet rules;
  rules.services = {service(kWeb), service(kAnyPort, true)};
  rules.marks = {{9, MarkProto::Any, ip("10.20.0.0"), 24, 0, 65535}};
  install(rules);
  EXPECT_EQ(*lookup(Proto::Tcp, ep("10.20.0.100", 80)), kWeb);
  EXPECT_EQ(*lookup(Proto::Tcp, ep("10.20.0.100", 443)), kAnyPort);
}

TEST_F(ServicesLookup, MarkServicesServeAddressesThatAreNoVip) {
  RuleSet rules;
  rules.services = {service(kMark1)};
  rules.marks = {{1, MarkProto::Any, ip("10.30.0.0"), 16, 0, 65535}};
  install(rules);
  EXPECT_TRUE(services_.has_fwmark_services());
  EXPECT_EQ(services_.find_mark(services_.mark_of(Proto::Udp, ep("10.30.7.7", 53))),
            services_.find_mark(1));
  EXPECT_NE(services_.find_mark(1), nullptr);
  EXPECT_EQ(services_.find_mark(2), nullptr);
  // A network is routed to the director, not held by it: no ARP answers for a whole /16.
  EXPECT_FALSE(services_.is_vip(ip("10.30.7.7")));
}

TEST_F(ServicesLookup, HostsNamedByMarkRulesAreTheDirectorsOnce) {
  RuleSet rules;
  rules.services = {service(kWeb)};
  rules.marks = {{1, MarkProto::Tcp, ip("10.20.0.100"), 32, 80, 81},
                 {2, MarkProto::Udp, ip("10.20.0.101"), 32, 53, 53},
                 {3, MarkProto::Tcp, ip("10.20.0.101"), 32, 443, 443}};
  install(rules);
  EXPECT_TRUE(services_.is_vip(ip("10.20.0.101")));
  EXPECT_EQ(services_.owned_addresses(), (std::vector<Ipv4>{ip("10.20.0.100"), ip("10.20.0.101")}));
  install(RuleSet{});
  EXPECT_FALSE(services_.is_vip(ip("10.20.0.101")));
  EXPECT_FALSE(services_.has_fwmark_services());
}

TEST_F(ServicesLookup, ADestinationKnowsItsServiceUntilTheServiceIsDeleted) {
  RuleSet rules;
  Service mark = service(kMark1);
  mark.destinations = {{ep("192.168.10.11", 0), Method::Nat, 1, 0, 0}};
  rules.services = {mark};
  install(rules);
  ServiceRuntime* svc = services_.find_mark(1);
  ASSERT_NE(svc, nullptr);
  ASSERT_EQ(svc->dests.size(), 1u);
  const DestHandle h = svc->dests[0];
  EXPECT_EQ(services_.service_of(h), svc);
  install(RuleSet{});
  EXPECT_EQ(services_.service_of(h), nullptr);
}

// --- destination handles ------------------------------------------------------------------

Service web_with(uint32_t first, uint32_t count, uint32_t upper_threshold = 0) {
  Service web = service(ServiceKey{Proto::Tcp, ep("10.20.0.100", 80), 0});
  for (uint32_t i = first; i < first + count; ++i)
    web.destinations.push_back(
        {Endpoint{Ipv4{0x0a010000 + i}, 8080}, Method::Nat, 1, upper_threshold, 0});
  return web;
}

// A connection table with 4 destination handles, and one service's rule sets.
class ServicesHandles : public testing::Test {
 protected:
  ServicesHandles() : conns_(ConnTableConfig{1024, 4}), services_(conns_) {}

  // The web service with destinations 10.1.0.<first> .. <first + count - 1>:8080 (NAT), -x on each.
  std::string install(uint32_t first, uint32_t count, uint32_t upper_threshold = 0) {
    RuleSet rules;
    rules.services = {web_with(first, count, upper_threshold)};
    return services_.install(rules);
  }
  DestHandle handle_of(uint32_t i) {
    for (DestHandle h : services_.all()[0]->dests)
      if (services_.dest(h).config.addr == Endpoint{Ipv4{0x0a010000 + i}, 8080}) return h;
    ADD_FAILURE() << "no destination " << i;
    return 0;
  }
  // A UDP connection counted on destination handle h.
  void connect_to(DestHandle h) {
    NewConn c;
    c.proto = Proto::Udp;
    c.client = ep("172.16.0.1", 1000);
    c.virtual_addr = ep("10.20.0.100", 80);
    c.destination = services_.dest(h).config.addr.v4();
    c.method = Method::Nat;
    c.dest = h;
    ASSERT_NE(conns_.insert(c, 0), nullptr);
  }

  ConnTable conns_;
  Services services_;
};

// Handles are never reused while an entry counts on them, and the connection table counts
// per handle: a rule set that needs more than the table has is refused whole, and the rules
// and thresholds before it stay.
TEST_F(ServicesHandles, ARuleSetNeedingMoreHandlesThanTheTableHasChangesNothing) {
  ASSERT_EQ(install(0, 3, 10), "");
  const DirectorState before = services_.state();
  EXPECT_TRUE(too_many_destinations(install(0, 5, 20)));  // two new, thresholds changed
  EXPECT_EQ(services_.state(), before);
  for (DestHandle h : services_.all()[0]->dests)
    EXPECT_EQ(conns_.dest_load(h).upper_threshold, 10u);

  // One new destination is the last handle; dropping one and adding another needs a fifth.
  ASSERT_EQ(install(0, 4), "");
  EXPECT_EQ(services_.all()[0]->dests.size(), 4u);
  EXPECT_TRUE(too_many_destinations(install(1, 4)));
}

// ip_vs_add_dest takes a deleted destination of the same service and address back from the
// trash: a real server that a health checker removes and adds again keeps its handle, with
// its connections, and uses up no other.
TEST_F(ServicesHandles, ADestinationAddedBackTakesItsHandleBack) {
  ASSERT_EQ(install(0, 2), "");
  const DestHandle second = handle_of(1);
  connect_to(second);
  for (int flap = 0; flap < 10; ++flap) {
    ASSERT_EQ(install(0, 1), "") << flap;
    EXPECT_TRUE(services_.dest(second).deleted);
    ASSERT_EQ(install(0, 2), "") << flap;
    EXPECT_EQ(handle_of(1), second);
    EXPECT_FALSE(services_.dest(second).deleted);
  }
  EXPECT_EQ(services_.dest_count(), 2u);
  EXPECT_EQ(conns_.dest_load(second).inactive, 1u);
}

// Its service deleted and created again, a destination added back is the same handle, but its
// counters start again: the kernel zeroes a destination's stats when it comes back from the
// trash under another service (__ip_vs_update_dest).
TEST_F(ServicesHandles, ADestinationAddedBackUnderARecreatedServiceStartsItsCountersAgain) {
  ASSERT_EQ(install(0, 2), "");
  const DestHandle second = handle_of(1);
  connect_to(second);
  services_.dest(second).totals.conns = 5;
  ASSERT_EQ(install(0, 1), "");  // the destination removed, the service kept
  ASSERT_EQ(install(0, 2), "");
  EXPECT_EQ(services_.dest(second).totals.conns, 5u);
  ASSERT_EQ(services_.install(RuleSet{}), "");  // the service deleted
  ASSERT_EQ(install(0, 2), "");
  EXPECT_EQ(handle_of(1), second);
  EXPECT_EQ(services_.dest(second).totals.conns, 0u);
  EXPECT_EQ(conns_.dest_load(second).inactive, 1u);
}

// A deleted destination that no connection or template counts on any more gives its handle
// to the next new destination, which starts from nothing; one still counted on does not.
TEST_F(ServicesHandles, AHandleNoEntryCountsOnIsGivenToTheNextNewDestination) {
  ASSERT_EQ(install(0, 4), "");
  const DestHandle last = handle_of(3);
  services_.dest(last).totals.conns = 7;
  connect_to(last);
  ASSERT_EQ(install(0, 3), "");
  RuleSet another;  // 0, 1, 2 and 4
  another.services = {web_with(0, 3)};
  another.services[0].destinations.push_back(web_with(4, 1).destinations[0]);
  EXPECT_TRUE(too_many_destinations(services_.install(another)));  // its connection lives

  EXPECT_EQ(conns_.expire(conns_.timeouts().udp_s() * 1000ull + 1), 1u);
  ASSERT_EQ(services_.install(another), "");
  EXPECT_EQ(handle_of(4), last);
  EXPECT_EQ(services_.dest(last).totals.conns, 0u);
  EXPECT_FALSE(services_.dest(last).deleted);
  EXPECT_EQ(services_.dest_count(), 4u);
}

// The whole handle range in one rule set: every destination gets its own handle, and a rule
// set that keeps them all is no new handle.
TEST(ServicesHandleRange, EveryHandleOfTheTableCanBeUsed) {
  ConnTable conns(ConnTableConfig{1024, 1u << 16});
  Services services(conns);
  RuleSet rules;
  rules.services = {web_with(0, 1u << 16)};
  ASSERT_EQ(services.install(rules), "");
  const std::vector<DestHandle> first = services.all()[0]->dests;
  std::vector<DestHandle> handles = first;
  std::sort(handles.begin(), handles.end());
  EXPECT_EQ(std::adjacent_find(handles.begin(), handles.end()), handles.end());
  EXPECT_EQ(handles.size(), 1u << 16);
  ASSERT_EQ(services.install(rules), "");
  EXPECT_EQ(services.all()[0]->dests, first);
  RuleSet more;
  more.services = {web_with(0, (1u << 16) + 1)};
  EXPECT_TRUE(too_many_destinations(services.install(more)));
}

}  // namespace
}  // namespace vsd

namespace vsd {
namespace {

// --- installs among many services ------------------------------------------------------

// n UDP services, 250 ports on each of n/250 VIPs, each with one NAT real server, rr.
RuleSet many_services(uint32_t n) {
  RuleSet rules;
  rules.services.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    Service s = service(ServiceKey{
        Proto::Udp, Endpoint{Ipv4{0x0a150000 + i / 250 + 1}, uint16_t(1000 + i % 250)}, 0});
    s.destinations = {{Endpoint{Ipv4{0xc0a80a0c}, uint16_t(1000 + i % 250)}, Method::Nat, 1, 0, 0}};
    rules.services.push_back(std::move(s));
  }
  return rules;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// What one change among `n` services costs: prepare() (the control thread's part) and
// commit() (the data plane's), each the median of `rounds` changes of the given kind.
struct ChangeCost {
  double prepare_ms = 0, commit_ms = 0;
};

template <class Change>
ChangeCost cost_of(Services& services, RuleSet& rules, int rounds, Change change) {
  std::vector<double> prepare, commit;
  for (int r = 0; r < rounds; ++r) {
    change(rules, r);
    auto start = std::chrono::steady_clock::now();
    PreparedServices plan = services.prepare(rules);
    prepare.push_back(ms_since(start));
    start = std::chrono::steady_clock::now();
    const std::string error = services.commit(plan);
    commit.push_back(ms_since(start));
    EXPECT_EQ(error, "");
  }
  std::sort(prepare.begin(), prepare.end());
  std::sort(commit.begin(), commit.end());
  return {prepare[prepare.size() / 2], commit[commit.size() / 2]};
}

// The data plane's part of a change does not grow with the rules: one -A, -e or -D among 100k
// services costs commit() what it costs among 100, while prepare() (off the data plane) grows.
// The figures are printed; the bound is a generous one on the data plane's part.
TEST(ServicesAtScale, AChangeAmong100kServicesCostsTheDataPlaneWhatChanged) {
  ConnTable conns(ConnTableConfig{1024, 1u << 20});
  auto measure = [&](uint32_t n) {
    Services services(conns);
    RuleSet rules = many_services(n);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(services.install(rules), "");
    const double load_ms = ms_since(start);
    const ServiceRuntime* kept = services.all()[0].get();
    ChangeCost add = cost_of(services, rules, 9, [](RuleSet& r, int round) {
      Service s =
          service(ServiceKey{Proto::Tcp, Endpoint{Ipv4{0x0a160001}, uint16_t(round + 1)}, 0});
      s.destinations = {{Endpoint{Ipv4{0xc0a80a0d}, 80}, Method::Nat, 1, 0, 0}};
      r.services.push_back(s);
    });
    ChangeCost edit = cost_of(services, rules, 9, [](RuleSet& r, int round) {
      r.services[r.services.size() / 2].destinations[0].weight = uint32_t(round + 2);
    });
    ChangeCost del = cost_of(services, rules, 9, [](RuleSet& r, int) { r.services.pop_back(); });
    // Services nothing touched keep their runtime, scheduler state and counters.
    EXPECT_EQ(services.all()[0].get(), kept);
    std::printf(
        "%7u services: load %8.1f ms | -A prepare %7.2f ms commit %6.3f ms | -e prepare %7.2f "
        "ms commit %6.3f ms | -D prepare %7.2f ms commit %6.3f ms\n",
        n, load_ms, add.prepare_ms, add.commit_ms, edit.prepare_ms, edit.commit_ms, del.prepare_ms,
        del.commit_ms);
    return std::array<ChangeCost, 3>{add, edit, del};
  };
  const auto small = measure(100);
  const auto large = measure(100000);
  for (std::size_t i = 0; i < large.size(); ++i) {
    std::printf("change %zu: commit among 100k / among 100 = %.1f, prepare %.0f\n", i,
                large[i].commit_ms / std::max(small[i].commit_ms, 1e-6),
                large[i].prepare_ms / std::max(small[i].prepare_ms, 1e-6));
    EXPECT_LT(large[i].commit_ms, 5.0) << "the data plane's part grew with the rules";
  }
}

// Rules with more destinations than the table has handles are refused by prepare(), before it
// builds anything, whatever the data plane's state.
TEST(ServicesAtScale, MoreDestinationsThanHandlesAreRefusedBeforeAnythingIsBuilt) {
  ConnTable conns(ConnTableConfig{1024, 1000});
  Services services(conns);
  RuleSet rules = many_services(1001);
  PreparedServices plan = services.prepare(rules);
  EXPECT_EQ(plan.error,
            "too many destinations: the rules have 1001, and vsd has 1000 destination handles "
            "(deleted destinations keep theirs while connections use them)");
  EXPECT_EQ(plan.table, nullptr);
  EXPECT_EQ(services.commit(plan), plan.error);
  EXPECT_TRUE(services.rules().services.empty());
}

// A plan is made from the table installed when it was made: once another install came in
// between, it is refused and changes nothing, rather than undoing that install.
TEST(ServicesAtScale, APlanMadeFromAnOlderTableIsRefused) {
  ConnTable conns(ConnTableConfig{1024, 64});
  Services services(conns);
  RuleSet first = many_services(3);
  PreparedServices stale = services.prepare(first);
  RuleSet second = many_services(5);
  ASSERT_EQ(services.install(second), "");
  EXPECT_NE(services.commit(stale), "");
  EXPECT_EQ(services.rules(), second);
}

// An edited service keeps its runtime: its counters and its scheduler's position carry on, as
// the kernel keeps them across -E and -e; a service made anew starts from nothing.
TEST(ServicesAtScale, AnEditedServiceKeepsItsCountersAndItsSchedulersPlace) {
  ConnTable conns(ConnTableConfig{1024, 64});
  Services services(conns);
  RuleSet rules;
  rules.services = {web_with(0, 3)};
  ASSERT_EQ(services.install(rules), "");
  ServiceRuntime* web = services.all()[0].get();
  web->totals.conns = 11;
  FlowKey flow{};
  const auto first = services.schedule(*web, flow);
  ASSERT_TRUE(first.has_value());
  rules.services[0].persistent = true;  // -E: not the scheduler, not the list
  ASSERT_EQ(services.install(rules), "");
  EXPECT_EQ(services.all()[0].get(), web);
  EXPECT_EQ(web->totals.conns, 11u);
  EXPECT_TRUE(web->config.persistent);
  // rr goes on from where it was, not from the head of the list again.
  EXPECT_NE(services.schedule(*web, flow), first);
  ASSERT_EQ(services.install(RuleSet{}), "");
  ASSERT_EQ(services.install(rules), "");
  EXPECT_EQ(services.all()[0]->totals.conns, 0u);
}

}  // namespace
}  // namespace vsd
