// Which of the rules the ingress chain keeps from the kernel: written from the rules alone.
#include "vsd/ingress_services.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

Service service(ServiceKey key) {
  Service svc;
  svc.key = key;
  return svc;
}

TEST(IngressServices, TakesPortsWholeAddressesAndWhatMarkedServicesTake) {
  RuleSet rules;
  rules.services.push_back(service({Proto::Tcp, {ip("10.0.0.100"), 80}, 0}));
  rules.services.push_back(service({Proto::Udp, {ip("10.0.0.100"), 0}, 0}));  // port 0
  Service fullnat = service({Proto::Tcp, {ip("10.0.0.101"), 443}, 0});
  fullnat.local_addresses = {ip("192.168.1.200")};
  rules.services.push_back(fullnat);
  rules.services.push_back(service({Proto::Tcp, {}, 7}));  // fwmark 7
  rules.marks.push_back({7, MarkProto::Any, ip("172.20.0.0"), 24, 443, 450});
  rules.marks.push_back({8, MarkProto::Tcp, ip("172.21.0.0"), 24, 22, 22});  // no service

  auto s = ingress_services_of(rules);
  using P = IngressServices::Port;
  using A = IngressServices::Address;
  using R = IngressServices::Range;
  EXPECT_EQ(s.ports, (std::vector<P>{{ip("10.0.0.100"), Proto::Tcp, 80},
                                     {ip("10.0.0.101"), Proto::Tcp, 443}}));
  EXPECT_EQ(s.addresses, (std::vector<A>{{ip("10.0.0.100"), Proto::Udp},
                                         {ip("192.168.1.200"), Proto::Tcp},
                                         {ip("192.168.1.200"), Proto::Udp}}));
  EXPECT_EQ(s.marked, (std::vector<R>{{ip("172.20.0.0"), 24, Proto::Tcp, 443, 450},
                                      {ip("172.20.0.0"), 24, Proto::Udp, 443, 450}}));
}

}  // namespace
}  // namespace vsd
