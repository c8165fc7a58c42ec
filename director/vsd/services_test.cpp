// Which service a new connection's first packet belongs to, as ip_vs_service_find decides with
// the mark vsd's classifier gives it: the fwmark service first, then the address service of
// the port, then the VIP's port-0 service; and the hosts mark rules name become the director's.
#include "vsd/services.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}
Endpoint ep(const char* addr, uint16_t port) {
  return {ip(addr), port};
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

// Handles are never reused and the connection table counts per handle: a rule set that needs
// more than the table has is refused whole, and the rules and thresholds before it stay.
TEST(ServicesHandles, ARuleSetNeedingMoreHandlesThanTheTableHasChangesNothing) {
  ConnTable conns(ConnTableConfig{1024, 4});
  Services services(conns);
  RuleSet rules;
  rules.services = {web_with(0, 3, 10)};
  ASSERT_EQ(services.install(rules), "");
  const DirectorState before = services.state();

  RuleSet bigger;
  bigger.services = {web_with(0, 5, 20)};  // two new destinations, thresholds changed
  EXPECT_EQ(services.install(bigger), "too many destinations");
  EXPECT_EQ(services.state(), before);
  for (DestHandle h : services.all()[0].dests) EXPECT_EQ(conns.dest_load(h).upper_threshold, 10u);

  // One new destination is the last handle; dropping one and adding another needs a fifth.
  RuleSet fits;
  fits.services = {web_with(0, 4)};
  ASSERT_EQ(services.install(fits), "");
  EXPECT_EQ(services.all()[0].dests.size(), 4u);
  RuleSet swapped;
  swapped.services = {web_with(1, 4)};
  EXPECT_EQ(services.install(swapped), "too many destinations");
}

// The whole handle range in one rule set: every destination gets its own handle, and a rule
// set that keeps them all is no new handle.
TEST(ServicesHandles, EveryHandleOfTheTableCanBeUsed) {
  ConnTable conns(ConnTableConfig{1024, 1u << 16});
  Services services(conns);
  RuleSet rules;
  rules.services = {web_with(0, 1u << 16)};
  ASSERT_EQ(services.install(rules), "");
  const std::vector<DestHandle> first = services.all()[0].dests;
  std::vector<DestHandle> handles = first;
  std::sort(handles.begin(), handles.end());
  EXPECT_EQ(std::adjacent_find(handles.begin(), handles.end()), handles.end());
  EXPECT_EQ(handles.size(), 1u << 16);
  ASSERT_EQ(services.install(rules), "");
  EXPECT_EQ(services.all()[0].dests, first);
  RuleSet more;
  more.services = {web_with(0, (1u << 16) + 1)};
  EXPECT_EQ(services.install(more), "too many destinations");
}

}  // namespace
}  // namespace vsd
