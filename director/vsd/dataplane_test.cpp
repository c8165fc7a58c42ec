// The data plane's look-ahead (Dataplane::prefetch) changes no outcome: a data plane that is
// told about frames ahead, as vsd's loop tells it (PacketSocket::drain), sends out the same
// bytes, keeps the same connections and counts the same as one that handles the same frames
// cold, for clients' packets, replies, fwmark traffic and malformed frames alike; and a
// look-ahead that does not match the frame then handled (the buffer rewritten in between, a
// frame never handled) is ignored.
#include "vsd/dataplane.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "conn/clock.h"
#include "fwd/test_frames.h"
#include "io/memory_port.h"
#include "vsd/memory_bed.h"

namespace vsd {
namespace {

namespace t = fwd::testing;
using Frames = std::vector<t::Bytes>;

constexpr std::size_t kExt = 0, kInt = 1;
constexpr std::size_t kSlotBytes = 2048;
const Mac kExtMac = t::mac(t::kDirectorExtMac);
const Mac kIntMac = t::mac(t::kDirectorIntMac);
const Mac kRouterMac = t::mac(t::kRouterMac);
const std::string kVip = "10.0.0.100";
// Marked by the classifier without being a VIP (a /24, not a host): handle_marked serves it.
const std::string kMarked = "172.20.0.5";

Service service(ServiceKey key, std::vector<Endpoint> servers, Method method) {
  Service svc;
  svc.key = key;
  svc.scheduler = "rr";
  for (auto s : servers) svc.destinations.push_back({s, method, 1, 0, 0});
  return svc;
}

// TCP and UDP NAT services on the VIP, a FULLNAT one on another port of it, and a fwmark NAT
// service for TCP to 172.20.0.0/24 port 443.
RuleSet rules() {
  const Endpoint rs1{t::ip("192.168.1.11"), 8080}, rs2{t::ip("192.168.1.12"), 8080};
  RuleSet r;
  r.services.push_back(
      service({Proto::Tcp, Endpoint{t::ip(kVip), 80}, 0}, {rs1, rs2}, Method::Nat));
  r.services.push_back(
      service({Proto::Udp, Endpoint{t::ip(kVip), 53}, 0}, {{rs1.addr, 53}}, Method::Nat));
  Service fullnat =
      service({Proto::Tcp, Endpoint{t::ip(kVip), 81}, 0}, {rs1, rs2}, Method::FullNat);
  fullnat.local_addresses.push_back(t::ip(t::kLip));
  r.services.push_back(fullnat);
  r.services.push_back(service({Proto::Tcp, Endpoint{}, 7}, {{rs2.addr, 443}}, Method::Nat));
  r.marks.push_back({7, MarkProto::Tcp, t::ip("172.20.0.0"), 24, 443, 443});
  return r;
}

t::Bytes tcp_frame(Mac eth_src, Mac eth_dst, const std::string& src, const std::string& dst,
                   uint16_t sport, uint16_t dport, uint16_t flags) {
  auto pdu = Tins::EthernetII(eth_dst.str(), eth_src.str()) / t::ipv4(src, dst) /
             t::tcp(sport, dport, flags) / Tins::RawPDU(t::payload_bytes(10));
  return t::serialize(pdu);
}

t::Bytes udp_frame(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport) {
  auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4(src, dst) /
             Tins::UDP(dport, sport) / Tins::RawPDU(t::payload_bytes(22));
  return t::serialize(pdu);
}

t::Bytes client_tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                    uint16_t flags) {
  return tcp_frame(kRouterMac, kExtMac, src, dst, sport, dport, flags);
}

// A data plane over two memory ports on a clock that stands still, its neighbours learnt.
class Plane {
 public:
  Plane() {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 1024, kSlotBytes));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 1024, kSlotBytes));
    dp_ = std::make_unique<MemoryDataplane>(ports_, two_port_routes(), clock_,
                                            fwd::ReassemblyLimits{}, ConnTableConfig{4096, 64});
    EXPECT_EQ(dp_->install(rules()), "");
    handle(kExt, {t::arp_request_from(kRouterMac, "10.0.0.254", "10.0.0.1")});
    for (const char* rs : {"192.168.1.11", "192.168.1.12"})
      handle(kInt, {t::arp_request_from(t::mac(t::kRsMac), rs, "192.168.1.1")});
    clear();
  }

  // Each frame handled on its own, as the memory ports and the tests always did.
  void handle(std::size_t port, Frames frames) {
    for (auto& f : frames) dp_->handle(port, f);
    dp_->flush();
  }
  // The frames laid out in one buffer and handled with the look-ahead of vsd's loop.
  void handle_looking_ahead(std::size_t port, const Frames& frames) {
    std::vector<uint8_t> buffer(frames.size() * kSlotBytes);
    auto frame = [&](std::size_t i) {
      return std::span<uint8_t>(buffer.data() + i * kSlotBytes, frames[i].size());
    };
    for (std::size_t i = 0; i < frames.size(); ++i)
      std::memcpy(frame(i).data(), frames[i].data(), frames[i].size());
    handle_with_look_ahead(*dp_, port, frames.size(), frame);
    dp_->flush();
  }

  MemoryDataplane& dataplane() { return *dp_; }
  Frames sent(std::size_t port) const {
    Frames out;
    for (std::size_t i = 0; i < ports_[port]->sent_count(); ++i) {
      auto f = ports_[port]->sent(i);
      out.emplace_back(f.begin(), f.end());
    }
    return out;
  }
  void clear() {
    for (auto& p : ports_) p->clear();
  }

 private:
  ManualClock clock_{1'000'000};
  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dp_;
};

// What a data plane has done, to compare two: what went out of each port, every counter, and
// every connection entry.
struct Outcome {
  Frames ext, intl;
  std::vector<std::pair<std::string, uint64_t>> counters;
  std::vector<ConnectionEntry> connections;
  bool operator==(const Outcome&) const = default;
};

Outcome outcome(Plane& plane) {
  auto conns = plane.dataplane().state().connections;
  std::sort(conns.begin(), conns.end(), [](const auto& a, const auto& b) {
    return std::tie(a.client, a.virtual_addr, a.proto) <
           std::tie(b.client, b.virtual_addr, b.proto);
  });
  return {plane.sent(kExt), plane.sent(kInt), plane.dataplane().counters(), conns};
}

// The real servers' answers to what went to them: both ends swapped, an ACK for TCP.
Frames replies_to(const Frames& sent) {
  Frames replies;
  for (const auto& f : sent) {
    auto eth = t::parse(f);
    const auto* ip = eth.find_pdu<Tins::IP>();
    if (!ip) continue;
    if (const auto* tcp = eth.find_pdu<Tins::TCP>())
      replies.push_back(tcp_frame(t::mac(t::kRsMac), kIntMac, ip->dst_addr().to_string(),
                                  ip->src_addr().to_string(), tcp->dport(), tcp->sport(),
                                  Tins::TCP::ACK | Tins::TCP::SYN));
    else if (const auto* udp = eth.find_pdu<Tins::UDP>()) {
      auto pdu = Tins::EthernetII(kIntMac.str(), t::kRsMac) /
                 t::ipv4(ip->dst_addr().to_string(), ip->src_addr().to_string()) /
                 Tins::UDP(udp->sport(), udp->dport()) / Tins::RawPDU(t::payload_bytes(22));
      replies.push_back(t::serialize(pdu));
    }
  }
  return replies;
}

Frames clients() {
  return {
      client_tcp("172.16.0.1", 40000, kVip, 80, Tins::TCP::SYN),
      client_tcp("172.16.0.2", 40000, kVip, 80, Tins::TCP::SYN),
      udp_frame("172.16.0.1", kVip, 40001, 53),
      client_tcp("172.16.0.3", 40002, kVip, 81, Tins::TCP::SYN),            // FULLNAT
      client_tcp("172.16.0.4", 40003, kMarked, 443, Tins::TCP::SYN),        // fwmark
      client_tcp("172.16.0.1", 40000, kVip, 80, Tins::TCP::ACK),            // the first again
      client_tcp("172.16.0.9", 40009, kVip, 80, Tins::TCP::ACK),            // no connection: RST
      client_tcp("172.16.0.9", 40009, "192.168.1.50", 22, Tins::TCP::SYN),  // routed
      client_tcp("172.16.0.4", 40003, kMarked, 443, Tins::TCP::ACK),
      udp_frame("172.16.0.1", kVip, 40001, 53),
      client_tcp("172.16.0.5", 40004, kVip, 80, Tins::TCP::SYN),  // opened and used at once
      client_tcp("172.16.0.5", 40004, kVip, 80, Tins::TCP::ACK),
  };
}

// Frames classify() turns away, cut where the look-ahead still reads ports, or that it does
// not look ahead for at all.
Frames malformed() {
  auto tcp = [] { return client_tcp("172.16.0.1", 40000, kVip, 80, Tins::TCP::ACK); };
  auto with = [](t::Bytes frame, auto&& change, bool fix_checksum = true) {
    change(frame);
    if (fix_checksum) t::fix_ip_checksum(frame);
    return frame;
  };
  auto fragment = [](uint16_t offset_and_flags) {
    auto frame = udp_frame("172.16.0.1", kVip, 40001, 53);
    t::put_be16(frame, 20, offset_and_flags);
    t::fix_ip_checksum(frame);
    return frame;
  };
  auto icmp_echo = [] {
    auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", kVip) /
               Tins::ICMP(Tins::ICMP::ECHO_REQUEST) / Tins::RawPDU(t::payload_bytes(18));
    return t::serialize(pdu);
  };
  return {
      t::Bytes(10, 0xab),  // runt
      with(
          tcp(), [](t::Bytes& f) { f.resize(30); }, false),  // cut in the IP header
      with(
          tcp(), [](t::Bytes& f) { f.resize(36); }, false),  // cut in the ports
      with(
          tcp(), [](t::Bytes& f) { f.resize(38); }, false),  // ports, no more
      with(
          tcp(), [](t::Bytes& f) { f[24] ^= 0xff; }, false),  // IP checksum
      with(
          tcp(), [](t::Bytes& f) { f[14] = 0x4f; }, false),        // IHL past the frame
      with(tcp(), [](t::Bytes& f) { f[14] = 0x44; }),              // IHL 4
      with(tcp(), [](t::Bytes& f) { f[14] = 0x65; }),              // version 6
      with(tcp(), [](t::Bytes& f) { t::put_be16(f, 16, 1000); }),  // total past the frame
      with(tcp(), [](t::Bytes& f) { f[46] = 0x30; }),              // TCP offset 3
      with(
          tcp(), [](t::Bytes& f) { f[12] = 0x86, f[13] = 0xdd; }, false),  // IPv6
      fragment(0x2000),                                                    // first of many
      fragment(0x0010),                                                    // a later one
      icmp_echo(),
      t::arp_reply(kExtMac, "10.0.0.1", "10.0.0.254", kRouterMac),
  };
}

TEST(DataplaneLookAhead, ClientsRepliesFwmarkAndMalformedFramesComeOutTheSame) {
  Plane cold, ahead;
  Frames frames = clients();
  for (auto& f : malformed()) frames.push_back(f);
  // Malformed frames between good ones too, where the look-ahead has both in flight.
  Frames mixed = clients();
  for (std::size_t i = 0; i < mixed.size(); ++i)
    frames.push_back(i % 2 ? malformed()[i % malformed().size()] : mixed[i]);
  cold.handle(kExt, frames);
  ahead.handle_looking_ahead(kExt, frames);
  const Outcome first = outcome(cold);
  ASSERT_EQ(first, outcome(ahead));
  // Every kind of outcome is in there: forwarded, answered, and connections made.
  EXPECT_GE(first.intl.size(), 6u);
  EXPECT_GE(first.ext.size(), 1u);
  EXPECT_GE(first.connections.size(), 5u);

  const Frames replies = replies_to(first.intl);
  ASSERT_GE(replies.size(), 5u);
  cold.clear();
  ahead.clear();
  cold.handle(kInt, replies);
  ahead.handle_looking_ahead(kInt, replies);
  const Outcome second = outcome(cold);
  EXPECT_EQ(second, outcome(ahead));
  EXPECT_EQ(second.ext.size(), replies.size());
}

// A look-ahead for one frame, then another frame handled where it was (a buffer reused), and
// frames looked ahead for but never handled: nothing changes but the time spent.
TEST(DataplaneLookAhead, ALookAheadForAnotherFrameIsIgnored) {
  Plane cold, ahead;
  const Frames open = {client_tcp("172.16.0.1", 40000, kVip, 80, Tins::TCP::SYN),
                       client_tcp("172.16.0.2", 40000, kVip, 80, Tins::TCP::SYN),
                       client_tcp("172.16.0.4", 40003, kMarked, 443, Tins::TCP::SYN)};
  cold.handle(kExt, open);
  ahead.handle(kExt, open);
  const Frames replies = replies_to(cold.sent(kInt));
  ASSERT_EQ(replies.size(), 3u);

  // Same-sized frames, each prefetched in a buffer that then holds the next one.
  const Frames frames = {client_tcp("172.16.0.1", 40000, kVip, 80, Tins::TCP::ACK),
                         client_tcp("172.16.0.2", 40000, kVip, 80, Tins::TCP::ACK),
                         client_tcp("172.16.0.4", 40003, kMarked, 443, Tins::TCP::ACK),
                         client_tcp("172.16.0.3", 40000, kVip, 80, Tins::TCP::ACK),
                         replies[0],
                         replies[2]};
  std::vector<uint8_t> buffer(kSlotBytes);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& looked_at = frames[(i + 1) % frames.size()];
    std::memcpy(buffer.data(), looked_at.data(), looked_at.size());
    for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
      ahead.dataplane().prefetch({buffer.data(), looked_at.size()}, LookAhead(stage));
    std::memcpy(buffer.data(), frames[i].data(), frames[i].size());
    ahead.dataplane().handle(i < 4 ? kExt : kInt, {buffer.data(), frames[i].size()});
    cold.handle(i < 4 ? kExt : kInt, {frames[i]});
  }
  ahead.dataplane().flush();
  // Looked ahead for and never handled (a drain cut short), in copies whose memory the
  // frames handled next may well be given again.
  for (const auto& f : frames) {
    t::Bytes copy = f;
    for (std::size_t stage = 0; stage < kLookAheadStages; ++stage)
      ahead.dataplane().prefetch(copy, LookAhead(stage));
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ahead.handle(i < 4 ? kExt : kInt, {frames[i]});
    cold.handle(i < 4 ? kExt : kInt, {frames[i]});
  }
  EXPECT_EQ(outcome(cold), outcome(ahead));
}

}  // namespace
}  // namespace vsd
