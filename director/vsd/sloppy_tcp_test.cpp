// net.ipv4.vs.sloppy_tcp (Dataplane::set_sloppy_tcp): off, a TCP segment without SYN of a flow
// the director has no connection for gets the VIP's RST (docs/ipvs.md section 3); on, it makes
// a connection, in ESTABLISHED, and reaches a real server, as a flow that an ECMP router moved
// from another director needs. A RST makes no connection either way.
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

// The ports of two_port_routes(): the clients' side, the real servers' side.
enum Port : std::size_t { kExt, kInt };

RuleSet dr_service() {
  Service svc;
  svc.key = {Proto::Tcp, Endpoint{t::ip(t::kVip), 80}, 0};
  svc.scheduler = "rr";
  svc.destinations.push_back({{t::ip("192.168.1.11"), 80}, Method::Dr, 1, 0, 0});
  RuleSet rules;
  rules.services.push_back(svc);
  return rules;
}

t::Bytes client_segment(uint16_t flags) {
  auto pdu = Tins::EthernetII(t::kDirectorExtMac, t::kRouterMac) / t::ipv4("172.16.0.7", t::kVip) /
             t::tcp(40123, 80, flags, 5000, 9000) / Tins::RawPDU(t::payload_bytes(12));
  return t::serialize(pdu);
}

class SloppyTcp : public ::testing::TestWithParam<bool> {
 protected:
  SloppyTcp() {
    for (const auto& [name, mac] :
         {std::pair{"ext", t::kDirectorExtMac}, {"int", t::kDirectorIntMac}})
      ports_.push_back(std::make_unique<MemoryPort>(name, t::mac(mac), 1500, 64, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, ConnTableConfig{4096, 64});
    EXPECT_EQ(dp_->install(dr_service()), "");
    dp_->set_sloppy_tcp(GetParam());
    handle(kInt, t::arp_request_from(t::mac(t::kRsMac), "192.168.1.11", "192.168.1.1"));
    handle(kExt, t::arp_request_from(t::mac(t::kRouterMac), "10.0.0.254", "10.0.0.1"));
    for (auto& p : ports_) p->clear();
  }

  void handle(std::size_t port, t::Bytes frame) {
    dp_->handle(port, frame);
    dp_->flush();
  }
  // The TCP flags of each frame a port sent.
  std::vector<uint16_t> tcp_flags_sent(std::size_t port) const {
    std::vector<uint16_t> flags;
    for (std::size_t i = 0; i < ports_[port]->sent_count(); ++i) {
      auto f = ports_[port]->sent(i);
      auto eth = t::parse(t::Bytes(f.begin(), f.end()));
      if (const auto* tcp = eth.find_pdu<Tins::TCP>()) flags.push_back(tcp->flags());
    }
    return flags;
  }

  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

TEST_P(SloppyTcp, AMidConnectionSegmentIsScheduledOnlyWhenSloppy) {
  handle(kExt, client_segment(Tins::TCP::ACK | Tins::TCP::PSH));
  const auto connections = dp_->state().connections;
  if (GetParam()) {
    ASSERT_EQ(connections.size(), 1u);
    EXPECT_EQ(connections[0].state, "ESTABLISHED");
    EXPECT_EQ(connections[0].destination.str(), "192.168.1.11:80");
    EXPECT_EQ(tcp_flags_sent(kInt), std::vector<uint16_t>{Tins::TCP::ACK | Tins::TCP::PSH});
    EXPECT_TRUE(tcp_flags_sent(kExt).empty());
  } else {
    EXPECT_TRUE(connections.empty());
    EXPECT_TRUE(tcp_flags_sent(kInt).empty());
    EXPECT_EQ(tcp_flags_sent(kExt), std::vector<uint16_t>{Tins::TCP::RST});
  }
}

TEST_P(SloppyTcp, ARstNeverMakesAConnection) {
  handle(kExt, client_segment(Tins::TCP::RST | Tins::TCP::ACK));
  EXPECT_TRUE(dp_->state().connections.empty());
  EXPECT_TRUE(tcp_flags_sent(kInt).empty());
  EXPECT_TRUE(tcp_flags_sent(kExt).empty());
}

INSTANTIATE_TEST_SUITE_P(Dataplane, SloppyTcp, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace vsd
