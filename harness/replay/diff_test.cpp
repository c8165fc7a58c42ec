// What `vslab diff` asks of B's frames, as case_of_run writes it: an IPv6 flow label that A
// chose itself is expected non-zero, and one label across the frames A labelled alike; a label
// a host sent, and 0, are compared as they are.
#include "replay/diff.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "expect/expectation.h"
#include "frames/frame_builder.h"
#include "replay/roles.h"
#include "replay/run.h"

namespace vslab::replay {
namespace {

constexpr const char* kFlowCip = "fd00:10::2";
constexpr const char* kFlowVip = "fd00:20::100";
constexpr uint32_t kClientsLabel = 0x76735;

std::vector<uint8_t> from_client(uint16_t cport) {
  return frames::frame()
      .eth("02:76:73:02:01:00", "02:76:73:01:01:00")
      .ipv6(kFlowCip, kFlowVip)
      .flow_label(kClientsLabel)
      .tcp(cport, 8999)
      .flags(frames::ACK)
      .bytes();
}

std::vector<uint8_t> to_client(uint32_t label, uint16_t cport) {
  return frames::frame()
      .eth("02:76:73:01:01:00", "02:76:73:02:01:00")
      .ipv6(kFlowVip, kFlowCip)
      .flow_label(label)
      .tcp(8999, cport)
      .flags(frames::RST)
      .bytes();
}

InputFrame frame_at(const std::string& port, std::vector<uint8_t> bytes, long usec) {
  InputFrame f;
  f.port = port;
  f.frame.bytes = std::move(bytes);
  f.frame.timestamp = {1, usec};
  return f;
}

const Mask* flow_mask(const CaseToWrite::Expected& x) {
  auto it = std::find_if(x.masks.begin(), x.masks.end(),
                         [](const Mask& m) { return m.field == "ip6.flow"; });
  return it == x.masks.end() ? nullptr : &*it;
}

// The expectation as replay checks it, with `variables` captured so far.
using Variables = std::map<std::string, std::string>;

bool accepts(const CaseToWrite::Expected& x, const std::vector<uint8_t>& frame,
             const Variables& variables) {
  Expectation e;
  e.ports = x.ports;
  e.masks = x.masks;
  e.base = x.frame;
  const topo::Topology topology;
  const Roles roles(topology);
  return build_expectation(e, x.ports.front(), roles, variables).compare(frame).ok();
}

TEST(CaseOfRun, TheDirectorsOwnLabelsAreComparedByFlowAndTheHostsAsTheyAre) {
  Observed a;
  a.topology = "nat";
  a.sent = {frame_at("client", from_client(40000), 1), frame_at("client", from_client(40001), 3)};
  a.received = {frame_at("client", to_client(0xabcde, 40000), 2),    // A's own label, flow 1
                frame_at("client", to_client(0x12345, 40001), 4),    // A's own label, flow 2
                frame_at("client", to_client(0xabcde, 40000), 5),    // flow 1 again
                frame_at("client", to_client(kClientsLabel, 1), 6),  // the client's label came back
                frame_at("client", to_client(0, 2), 7)};
  const auto c = case_of_run(a, topo::Topology{}, "flow labels");
  ASSERT_EQ(c.expected.size(), 5u);
  const Mask* first = flow_mask(c.expected[0]);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, Mask::Kind::InRange);
  EXPECT_EQ(first->lo, 1u);
  EXPECT_EQ(first->hi, 0xfffffu);
  EXPECT_EQ(c.expected[0].capture.at("flow1"), "ip6.flow");
  ASSERT_TRUE(flow_mask(c.expected[1]));
  EXPECT_EQ(c.expected[1].capture.at("flow2"), "ip6.flow");
  const Mask* again = flow_mask(c.expected[2]);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, Mask::Kind::Text);
  EXPECT_EQ(again->values, std::vector<std::string>{"$flow1"});
  EXPECT_TRUE(c.expected[2].capture.empty());
  EXPECT_FALSE(flow_mask(c.expected[3]));
  EXPECT_FALSE(flow_mask(c.expected[4]));

  // B's labels: any non-zero one for a flow's first frame, then that one.
  const Variables none;
  EXPECT_TRUE(accepts(c.expected[0], to_client(0x00042, 40000), none));
  EXPECT_FALSE(accepts(c.expected[0], to_client(0, 40000), none));
  const Variables b{{"flow1", std::to_string(0x00042)}};
  EXPECT_TRUE(accepts(c.expected[2], to_client(0x00042, 40000), b));
  EXPECT_FALSE(accepts(c.expected[2], to_client(0xabcde, 40000), b));
  // The host's label and 0 only as they were.
  EXPECT_FALSE(accepts(c.expected[3], to_client(0x00042, 1), none));
  EXPECT_FALSE(accepts(c.expected[4], to_client(0x00042, 2), none));
  EXPECT_TRUE(accepts(c.expected[4], to_client(0, 2), none));
}

}  // namespace
}  // namespace vslab::replay

namespace vslab::replay {
namespace {

bool masks_field(const std::vector<Mask>& masks, const std::string& field) {
  return std::any_of(masks.begin(), masks.end(), [&](const Mask& m) { return m.field == field; });
}

TEST(UnspecifiedFields, AnIpv6FragmentsIdentificationIsTheDirectorsOwn) {
  const topo::Topology topology;
  auto fragment = frames::frame()
                      .eth("02:76:73:01:01:00", "02:76:73:02:01:00")
                      .ipv6(kFlowCip, kFlowVip)
                      .udp(20000, 53)
                      .payload(std::string(100, 'x'))
                      .fragment6(0x12345678, 0, true, 64)
                      .bytes();
  EXPECT_TRUE(masks_field(unspecified_fields(fragment, "rs1", topology), "ip.id"));
  // (The mask names the field as IPv4 does.) A whole IPv6 packet has no identification to leave
  // out; an IPv4 one with DF keeps its ID.
  auto whole = frames::frame()
                   .eth("02:76:73:01:01:00", "02:76:73:02:01:00")
                   .ipv6(kFlowCip, kFlowVip)
                   .udp(20000, 53)
                   .bytes();
  EXPECT_FALSE(masks_field(unspecified_fields(whole, "rs1", topology), "ip.id"));
  auto ipv4 = frames::frame()
                  .eth("02:76:73:01:01:00", "02:76:73:02:01:00")
                  .ipv4("10.10.0.2", "10.20.0.100")
                  .dont_fragment()
                  .udp(20000, 53)
                  .bytes();
  EXPECT_FALSE(masks_field(unspecified_fields(ipv4, "rs1", topology), "ip.id"));
}

}  // namespace
}  // namespace vslab::replay
