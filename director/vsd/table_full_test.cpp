// What the data plane answers when the connection table has no room (issue 22, finding 2): a
// SYN from a spoofable source hears nothing (no port unreachable, no RST), and is counted; one
// for which the scheduler has no destination still hears port unreachable (ip_vs_leave). With
// the defences on, a flood of new sources makes room for itself by dropping embryonic entries.
// Memory ports, a clock that stands still.
#include <gtest/gtest.h>
#include <tins/tins.h>

#include <map>
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

RuleSet rules(bool with_destination) {
  Service svc;
  svc.key = {Proto::Tcp, Endpoint{t::ip(kVip), 80}, 0};
  svc.scheduler = "rr";
  if (with_destination)
    svc.destinations.push_back({{t::ip("192.168.1.11"), 8080}, Method::Nat, 1, 0, 0});
  RuleSet r;
  r.services.push_back(svc);
  return r;
}

std::string spoofed(uint32_t i) {
  return Ipv4::from_host(0x64400000u + i).str();
}

class SmallTable {
 public:
  explicit SmallTable(ConnTableConfig table, bool with_destination = true) {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 4096, 2048));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 4096, 2048));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, table);
    EXPECT_EQ(dp_->install(rules(with_destination)), "");
    auto router = t::arp_request_from(kRouterMac, "10.0.0.254", "10.0.0.1");
    auto server = t::arp_request_from(t::mac(t::kRsMac), "192.168.1.11", "192.168.1.1");
    dp_->handle(kExt, router);
    dp_->handle(kInt, server);
    dp_->flush();
    clear();
  }
  void syn_from(const std::string& source, uint16_t sport = 40000) {
    auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4(source, kVip) /
               t::tcp(sport, 80, Tins::TCP::SYN);
    auto frame = t::serialize(pdu);
    dp_->handle(kExt, frame);
    dp_->flush();
  }
  std::size_t sent(std::size_t port) const { return ports_[port]->sent_count(); }
  void clear() {
    for (auto& p : ports_) p->clear();
  }
  std::map<std::string, uint64_t> counters() const {
    std::map<std::string, uint64_t> out;
    for (const auto& [name, value] : dp_->counters()) out[name] = value;
    return out;
  }
  MemoryDataplane& dataplane() { return *dp_; }

 private:
  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

TEST(TableFull, ASynThatFindsNoRoomIsDroppedWithoutAnAnswer) {
  ConnTableConfig table{16, 64};
  table.defences = false;  // nothing embryonic is dropped: the table stays full
  SmallTable plane(table);
  for (uint32_t i = 0; i < 16; ++i) plane.syn_from(spoofed(i));
  EXPECT_EQ(plane.sent(kInt), 16u);
  plane.clear();
  for (uint32_t i = 16; i < 1016; ++i) plane.syn_from(spoofed(i));
  EXPECT_EQ(plane.sent(kInt), 0u);
  EXPECT_EQ(plane.sent(kExt), 0u) << "answered a spoofable source";
  auto c = plane.counters();
  EXPECT_EQ(c["discard_table_full"], 1000u);
  EXPECT_EQ(c["conn_refused_full"], 1000u);
  EXPECT_EQ(c["conn_entries"], 16u);
}

TEST(TableFull, NoDestinationStillHearsPortUnreachable) {
  SmallTable plane(ConnTableConfig{16, 64}, /*with_destination=*/false);
  plane.syn_from(spoofed(0));
  ASSERT_EQ(plane.sent(kExt), 1u);
  EXPECT_EQ(plane.counters()["discard_no_destination"], 1u);
}

TEST(TableFull, AFloodOfNewSourcesMakesRoomByDroppingEmbryonicEntries) {
  SmallTable plane(ConnTableConfig{64, 64});
  std::size_t forwarded = 0, answered = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    plane.syn_from(spoofed(i));
    if (i % 1000 == 999) {  // the memory ports hold 4096 frames
      forwarded += plane.sent(kInt), answered += plane.sent(kExt);
      plane.clear();
    }
  }
  auto c = plane.counters();
  EXPECT_EQ(forwarded, 10000u);
  EXPECT_EQ(answered, 0u);
  EXPECT_EQ(c["discard_table_full"], 0u);
  EXPECT_GE(c["conn_early_dropped"], 10000u - 64u);
  EXPECT_EQ(c["conn_under_pressure"], 1u);
  EXPECT_EQ(c["conn_capacity"], 64u);
  EXPECT_EQ(c["conn_pressure_at"], 56u);
  EXPECT_GT(c["conn_short_syn_recv"], 0u);
  EXPECT_EQ(plane.dataplane().state().connection_table_size, 64u);
}

}  // namespace
}  // namespace vsd
