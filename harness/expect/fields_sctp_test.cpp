// SCTP as the dissector takes it apart: ports as the generic port fields, the CRC32c judged
// over the packet alone (so rewriting addresses does not change the verdict, a port does).
#include <gtest/gtest.h>

#include "expect/fields.h"
#include "frames/sctp.h"

namespace vslab::expect {
namespace {

std::vector<uint8_t> init_frame() {
  auto frame = frames::sctp_frame(
      Tins::EthernetII(), Tins::IP("10.0.0.1", "10.0.9.2"),
      frames::sctp_packet(40000, 80, 0, {frames::sctp_chunk(frames::sctp::kInit)}));
  return frame.serialize();
}

std::string value_of(const std::vector<uint8_t>& bytes, const std::string& name) {
  for (const auto& e : dissect(bytes))
    if (e.name == name) return e.value.text;
  return "(absent)";
}

TEST(DissectSctp, PortsAndAValidChecksum) {
  auto bytes = init_frame();
  EXPECT_EQ(value_of(bytes, "sctp.sport"), "40000");
  EXPECT_EQ(value_of(bytes, "sctp.dport"), "80");
  EXPECT_EQ(value_of(bytes, "sctp.csum"), "valid");
  EXPECT_EQ(value_of(bytes, "payload").substr(0, 12), "20 bytes: 01");  // the INIT chunk's type
}

TEST(DissectSctp, AChangedPortWithoutANewCrcIsInvalid) {
  auto bytes = init_frame();
  constexpr std::size_t sctp = 14 + 20;
  bytes[sctp + 3] = 81;
  EXPECT_EQ(value_of(bytes, "sctp.csum").rfind("invalid (is 0x", 0), 0u);
  // An address is not covered: the IPv4 header checksum breaks, the CRC does not.
  bytes = init_frame();
  bytes[14 + 16] = 192;
  EXPECT_EQ(value_of(bytes, "sctp.csum"), "valid");
}

}  // namespace
}  // namespace vslab::expect
