// The data plane with the SIP persistence engine (--pe sip): a persistent UDP NAT service
// whose templates are keyed by the client's masked address and the datagram's Call-ID, as
// ip_vs_pe_sip.c keys them, and what the kernel drops: datagrams without a Call-ID, and
// anything but UDP.
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
const char* kVip = "10.0.0.100";
const std::vector<std::string> kServers = {"192.168.1.11", "192.168.1.12", "192.168.1.13"};

std::string invite(const std::string& call_id) {
  return "INVITE sip:bob@10.0.0.100 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\nCall-ID: " + call_id +
         "\r\nCSeq: 1 INVITE\r\n\r\n";
}

class PeSipPlane : public testing::Test {
 protected:
  void SetUp() override {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 1024, 2048));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 1024, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, ConnTableConfig{4096, 64});
    install("255.255.255.0");
    handle(kExt, t::arp_request_from(kRouterMac, "10.0.0.254", "10.0.0.1"));
    for (const auto& rs : kServers)
      handle(kInt, t::arp_request_from(t::mac(t::kRsMac), rs.c_str(), "192.168.1.1"));
  }

  // rr over three NAT servers, the first given last in the list (as -a puts the newest first),
  // so rr's order is .11, .12, .13.
  void install(const char* mask, Proto proto = Proto::Udp) {
    Service svc;
    svc.key = {proto, Endpoint{t::ip(kVip), 5060}, 0};
    svc.scheduler = "rr";
    svc.persistent = true;
    svc.persistence_timeout = 60;
    svc.persistence_mask = *Ipv4::parse(mask);
    svc.persistence_engine = "sip";
    for (const auto& rs : kServers)
      svc.destinations.push_back({{t::ip(rs.c_str()), 5060}, Method::Nat, 1, 0, 0});
    RuleSet rules;
    rules.services.push_back(svc);
    ASSERT_EQ(dp_->install(rules), "");
  }

  void handle(std::size_t port, t::Bytes frame) {
    dp_->handle(port, frame);
    dp_->flush();
  }

  // The real server a datagram from client:cport went to, or "" when it went nowhere.
  std::string served_by(const std::string& client, uint16_t cport, const std::string& payload) {
    ports_[kInt]->clear();
    auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4(client.c_str(), kVip) /
               Tins::UDP(5060, cport) /
               Tins::RawPDU(std::vector<uint8_t>(payload.begin(), payload.end()));
    handle(kExt, t::serialize(pdu));
    if (ports_[kInt]->sent_count() == 0) return "";
    auto sent = ports_[kInt]->sent(0);
    auto eth = t::parse(t::Bytes(sent.begin(), sent.end()));
    return eth.rfind_pdu<Tins::IP>().dst_addr().to_string();
  }

  uint64_t counter(const std::string& name) {
    for (const auto& [n, v] : dp_->counters())
      if (n == name) return v;
    return ~0ull;
  }

  std::vector<ConnectionEntry> templates() {
    std::vector<ConnectionEntry> out;
    for (const auto& c : dp_->state().connections)
      if (c.client.port == 0) out.push_back(c);
    return out;
  }

  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

TEST_F(PeSipPlane, OneCallKeepsItsServerAcrossPortsAndAddressesOfTheMaskedNetwork) {
  EXPECT_EQ(served_by("172.16.0.1", 5060, invite("a@host")), "192.168.1.11");
  EXPECT_EQ(served_by("172.16.0.1", 5070, invite("a@host")), "192.168.1.11");
  EXPECT_EQ(served_by("172.16.0.2", 5060, invite("a@host")), "192.168.1.11");
  EXPECT_EQ(served_by("172.16.0.1", 5080, invite("b@host")), "192.168.1.12");
  EXPECT_EQ(served_by("172.16.0.2", 5090, "BYE x SIP/2.0\r\ni: b@host\r\n\r\n"), "192.168.1.12");
  EXPECT_EQ(served_by("172.16.0.1", 5100, invite("c@host")), "192.168.1.13");
  EXPECT_EQ(templates().size(), 3u);
}

TEST_F(PeSipPlane, AnotherMaskedNetworkIsAnotherTemplate) {
  EXPECT_EQ(served_by("172.16.0.1", 5060, invite("shared")), "192.168.1.11");
  EXPECT_EQ(served_by("172.16.1.1", 5060, invite("shared")), "192.168.1.12");
}

TEST_F(PeSipPlane, NoCallIdIsDroppedWithoutScheduling) {
  EXPECT_EQ(served_by("172.16.0.1", 5060, "OPTIONS x SIP/2.0\r\nCSeq: 1\r\n\r\n"), "");
  EXPECT_EQ(served_by("172.16.0.1", 5061, ""), "");
  EXPECT_EQ(counter("discard_no_call_id"), 2u);
  EXPECT_TRUE(dp_->state().connections.empty());
  EXPECT_EQ(served_by("172.16.0.1", 5062, invite("first")), "192.168.1.11");
}

TEST_F(PeSipPlane, TheTemplateListsTheCallIdAndLivesThePersistenceTimeout) {
  ASSERT_EQ(served_by("172.16.0.1", 5060, invite("listed@host")), "192.168.1.11");
  auto t = templates();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].pe_name, "sip");
  EXPECT_EQ(t[0].pe_data, "listed@host");
  EXPECT_EQ(t[0].client, (Endpoint{t::ip("172.16.0.0"), 0}));
  EXPECT_EQ(t[0].expires_s, 60u);
  // The connection (UDP, 300 s) keeps the template; once both are gone, the same call is
  // scheduled anew and rr has moved on.
  clock_.advance(301'000);
  dp_->tick();
  clock_.advance(61'000);
  dp_->tick();
  EXPECT_TRUE(dp_->state().connections.empty());
  EXPECT_EQ(served_by("172.16.0.1", 5060, invite("listed@host")), "192.168.1.12");
}

// The engine's conn_out: rs .12's own datagram from its service port to a client makes the
// connection it would be a reply of, and its template, and leaves from the VIP.
TEST_F(PeSipPlane, ARealServersOwnCallMakesItsConnectionAndTemplate) {
  const std::string call = invite("from-server@host");
  auto from_server = Tins::EthernetII(kIntMac.str(), t::kRsMac) /
                     t::ipv4("192.168.1.12", "172.16.0.1") / Tins::UDP(40000, 5060) /
                     Tins::RawPDU(std::vector<uint8_t>(call.begin(), call.end()));
  ports_[kExt]->clear();
  handle(kInt, t::serialize(from_server));
  ASSERT_EQ(ports_[kExt]->sent_count(), 1u);
  auto sent = ports_[kExt]->sent(0);
  auto out = t::parse(t::Bytes(sent.begin(), sent.end()));
  EXPECT_EQ(out.rfind_pdu<Tins::IP>().src_addr().to_string(), kVip);
  EXPECT_EQ(out.rfind_pdu<Tins::UDP>().sport(), 5060);
  EXPECT_EQ(out.rfind_pdu<Tins::UDP>().dport(), 40000);
  auto t = templates();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].pe_data, "from-server@host");
  EXPECT_EQ(t[0].state, "ASSURED");  // the datagram went out as the connection's reply
  // The client's answer follows the connection; the call from another port, the template
  // (rr alone would have chosen .11).
  EXPECT_EQ(served_by("172.16.0.1", 40000, call), "192.168.1.12");
  EXPECT_EQ(served_by("172.16.0.1", 40001, call), "192.168.1.12");
  // Without a Call-ID nothing is made: the datagram is routed as it came.
  auto no_call = Tins::EthernetII(kIntMac.str(), t::kRsMac) /
                 t::ipv4("192.168.1.13", "172.16.0.9") / Tins::UDP(40000, 5060) /
                 Tins::RawPDU(std::string("OPTIONS x SIP/2.0\r\n\r\n"));
  ports_[kExt]->clear();
  handle(kInt, t::serialize(no_call));
  ASSERT_EQ(ports_[kExt]->sent_count(), 1u);
  auto routed = ports_[kExt]->sent(0);
  EXPECT_EQ(
      t::parse(t::Bytes(routed.begin(), routed.end())).rfind_pdu<Tins::IP>().src_addr().to_string(),
      "192.168.1.13");
  EXPECT_EQ(templates().size(), 1u);
}

TEST_F(PeSipPlane, TcpIsDroppedAsTheKernelsEngineTakesOnlyUdp) {
  install("255.255.255.255", Proto::Tcp);
  auto syn = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", kVip) /
             t::tcp(40000, 5060, Tins::TCP::SYN);
  ports_[kInt]->clear();
  ports_[kExt]->clear();
  handle(kExt, t::serialize(syn));
  EXPECT_EQ(ports_[kInt]->sent_count(), 0u);
  EXPECT_EQ(ports_[kExt]->sent_count(), 0u);  // no RST, no ICMP: a silent drop
  EXPECT_EQ(counter("discard_no_call_id"), 1u);
}

}  // namespace
}  // namespace vsd
