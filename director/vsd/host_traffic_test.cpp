// Who answers what once the namespace's kernel sees the host's own traffic (the exception
// path): given the host's addresses, the data plane leaves ARP requests for them, echo to
// them and a host-held VIP's ports that are no service to the kernel, and still answers for
// the VIPs the host does not hold, serves every service and learns from every ARP frame.
#include <gtest/gtest.h>
#include <tins/tins.h>

#include <memory>
#include <string>
#include <vector>

#include "conn/clock.h"
#include "fwd/test_frames.h"
#include "io/memory_port.h"
#include "vsd/dataplane.h"
#include "vsd/memory_bed.h"

namespace vsd {
namespace {

namespace t = fwd::testing;

constexpr std::size_t kExt = 0, kInt = 1;
const Mac kExtMac = t::mac(t::kDirectorExtMac);
const Mac kIntMac = t::mac(t::kDirectorIntMac);
const Mac kRouterMac = t::mac(t::kRouterMac);
const std::string kVip = "10.0.0.100";
const std::string kNeighbourMac = "02:00:00:00:00:77";

// A data plane over two memory ports serving TCP VIP:80 by NAT to 192.168.1.11:8080, its
// router and real server learnt.
class Plane {
 public:
  Plane() {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 64, 2048));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 64, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_);
    RuleSet rules;
    Service svc;
    svc.key = {Proto::Tcp, Endpoint{t::ip(kVip), 80}, 0};
    svc.scheduler = "rr";
    svc.destinations.push_back({{t::ip("192.168.1.11"), 8080}, Method::Nat, 1, 0, 0});
    rules.services.push_back(svc);
    EXPECT_EQ(dp_->install(rules), "");
    handle(kExt, t::arp_reply(kExtMac, "10.0.0.1", "10.0.0.254", kRouterMac));
    handle(kInt, t::arp_reply(kIntMac, "192.168.1.1", "192.168.1.11", t::mac(t::kRsMac)));
    for (auto& p : ports_) p->clear();
  }
  MemoryDataplane& dataplane() { return *dp_; }
  // What the ingress port sent in answer to the frame.
  std::vector<Tins::EthernetII> handle(std::size_t port, t::Bytes frame) {
    for (auto& p : ports_) p->clear();
    dp_->handle(port, frame);
    dp_->flush();
    return sent(port);
  }
  std::vector<Tins::EthernetII> sent(std::size_t port) const {
    std::vector<Tins::EthernetII> out;
    for (std::size_t i = 0; i < ports_[port]->sent_count(); ++i) {
      auto f = ports_[port]->sent(i);
      out.push_back(t::parse(t::Bytes(f.begin(), f.end())));
    }
    return out;
  }

 private:
  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

t::Bytes arp_request(const std::string& target, const std::string& sender = "10.0.0.254",
                     const std::string& sender_mac = t::kRouterMac) {
  auto pdu = Tins::ARP::make_arp_request(target, sender, sender_mac);
  return t::serialize(pdu);
}

t::Bytes echo_to(const std::string& dst) {
  auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", dst) /
             Tins::ICMP(Tins::ICMP::ECHO_REQUEST) / Tins::RawPDU(t::payload_bytes(8));
  return t::serialize(pdu);
}

t::Bytes syn_to(const std::string& dst, uint16_t dport) {
  auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", dst) /
             t::tcp(40000, dport, Tins::TCP::SYN);
  return t::serialize(pdu);
}

bool is_arp_reply(const std::vector<Tins::EthernetII>& sent) {
  return sent.size() == 1 && sent[0].find_pdu<Tins::ARP>() &&
         sent[0].rfind_pdu<Tins::ARP>().opcode() == Tins::ARP::REPLY;
}

bool is_echo_reply(const std::vector<Tins::EthernetII>& sent) {
  return sent.size() == 1 && sent[0].find_pdu<Tins::ICMP>() &&
         sent[0].rfind_pdu<Tins::ICMP>().type() == Tins::ICMP::ECHO_REPLY;
}

TEST(HostTraffic, WithNoHostAddressesVsdAnswersForItsPortsItself) {
  Plane plane;
  EXPECT_TRUE(is_arp_reply(plane.handle(kExt, arp_request("10.0.0.1"))));
  EXPECT_TRUE(is_echo_reply(plane.handle(kExt, echo_to("10.0.0.1"))));
}

TEST(HostTraffic, TheHostsAddressesAreTheKernelsToAnswer) {
  Plane plane;
  plane.dataplane().set_host_addresses(
      HostAddresses({t::ip("10.0.0.1"), t::ip("192.168.1.1"), t::ip("127.0.0.1")}, {}));
  EXPECT_TRUE(plane.handle(kExt, arp_request("10.0.0.1")).empty());
  EXPECT_TRUE(plane.handle(kExt, echo_to("10.0.0.1")).empty());
  // The VIP is not the host's: vsd's to answer.
  EXPECT_TRUE(is_arp_reply(plane.handle(kExt, arp_request(kVip))));
  EXPECT_TRUE(is_echo_reply(plane.handle(kExt, echo_to(kVip))));
  EXPECT_EQ(plane.handle(kExt, syn_to(kVip, 22)).size(), 1u);  // the stack's RST, from vsd
  // A request for a host address still teaches vsd its sender: traffic to it goes out
  // without an ARP request of vsd's own.
  plane.handle(kExt, arp_request("10.0.0.1", "10.0.0.77", kNeighbourMac));
  auto pdu = Tins::EthernetII(kIntMac.str(), t::kRsMac) / t::ipv4("192.168.1.11", "10.0.0.77") /
             Tins::UDP(53, 40000) / Tins::RawPDU(t::payload_bytes(8));
  plane.handle(kInt, t::serialize(pdu));
  auto out = plane.sent(kExt);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].find_pdu<Tins::UDP>());
  EXPECT_EQ(out[0].dst_addr().to_string(), kNeighbourMac);
}

TEST(HostTraffic, AVipTheHostHoldsKeepsItsServicesAndLeavesTheRestToTheKernel) {
  Plane plane;
  plane.dataplane().set_host_addresses(HostAddresses({t::ip("10.0.0.1"), t::ip(kVip)}, {}));
  EXPECT_TRUE(plane.handle(kExt, arp_request(kVip)).empty());
  EXPECT_TRUE(plane.handle(kExt, echo_to(kVip)).empty());
  EXPECT_TRUE(plane.handle(kExt, syn_to(kVip, 22)).empty());
  plane.handle(kExt, syn_to(kVip, 80));
  auto out = plane.sent(kInt);
  ASSERT_EQ(out.size(), 1u);  // to the real server
  EXPECT_EQ(out[0].rfind_pdu<Tins::IP>().dst_addr().to_string(), "192.168.1.11");
}

// A backup director beside keepalived (--vips-follow-host): the VIP is answered for by the host
// that holds it, so two directors on a segment never both answer. A gratuitous ARP of the
// master's (sender and target the VIP) gets no answer either; the services are still served.
TEST(HostTraffic, WithVipsFollowingTheHostAVipNotHeldIsNotAnswered) {
  Plane plane;
  plane.dataplane().set_host_addresses(HostAddresses({t::ip("10.0.0.1")}, {}));
  plane.dataplane().set_vips_follow_host(true);
  EXPECT_TRUE(plane.handle(kExt, arp_request(kVip)).empty());
  EXPECT_TRUE(plane.handle(kExt, arp_request(kVip, kVip, "02:00:00:00:00:99")).empty());
  EXPECT_TRUE(plane.handle(kExt, echo_to(kVip)).empty());
  plane.handle(kExt, syn_to(kVip, 80));
  EXPECT_EQ(plane.sent(kInt).size(), 1u);  // to the real server
  // Held (keepalived made this director the master): the kernel answers, vsd still does not.
  plane.dataplane().set_host_addresses(HostAddresses({t::ip("10.0.0.1"), t::ip(kVip)}, {}));
  EXPECT_TRUE(plane.handle(kExt, arp_request(kVip)).empty());
  EXPECT_TRUE(plane.handle(kExt, echo_to(kVip)).empty());
}

// Linux routes no multicast without a multicast router, and nothing sent to a group MAC:
// VRRP and the sync group are the kernel's, not forwarded out another port.
TEST(HostTraffic, MulticastAndBroadcastAreNotRouted) {
  Plane plane;
  plane.dataplane().set_host_addresses(
      HostAddresses({t::ip("10.0.0.1"), t::ip("192.168.1.1")}, {}));
  auto from_rs = [](const std::string& eth_dst, const std::string& dst) {
    auto pdu = Tins::EthernetII(eth_dst, t::kRsMac) / t::ipv4("192.168.1.11", dst) /
               Tins::UDP(7006, 7006) / Tins::RawPDU(t::payload_bytes(8));
    return t::serialize(pdu);
  };
  for (auto [eth_dst, dst] : {std::pair{"01:00:5e:7f:00:12", "239.255.0.18"},
                              {"ff:ff:ff:ff:ff:ff", "255.255.255.255"},
                              {"ff:ff:ff:ff:ff:ff", "192.168.1.255"}}) {
    SCOPED_TRACE(dst);
    EXPECT_TRUE(plane.handle(kInt, from_rs(eth_dst, dst)).empty());
    EXPECT_TRUE(plane.sent(kExt).empty());
  }
  plane.handle(kInt, from_rs(t::kDirectorIntMac, "10.0.0.254"));  // unicast: routed
  EXPECT_EQ(plane.sent(kExt).size(), 1u);
}

}  // namespace
}  // namespace vsd
