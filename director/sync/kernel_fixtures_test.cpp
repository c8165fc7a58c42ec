// vsd's codec reads what a real kernel master sent (fixtures/sync/README.md: the capture, and
// the connections driven through the kernel while it was made): every entry's fields are those
// of the connection it stands for, in the order the connections' packets came.
#include <gtest/gtest.h>

#include "port/pcap_file.h"
#include "sync/message.h"
#include "sync/sync_capture.h"

namespace vsd::sync::interop {
namespace {

using namespace vslab::sync;

constexpr uint32_t kNfct = 0x10000;  // IP_VS_CONN_F_NFCT: the guest runs conntrack=1
constexpr uint32_t kInactive = conn_flag::kInactive;
constexpr uint32_t kTemplate = conn_flag::kTemplate;

struct Want {
  uint8_t protocol;
  uint16_t cport, vport;
  const char* real_server;
  uint16_t state;
  uint32_t flags;
  uint32_t timeout_s;
};

const char* const kRs1 = "192.168.10.11";
const char* const kRs2 = "192.168.10.12";

// The README's table, entry by entry: A's 3rd and 53rd packet; then C's 3rd packet, FIN
// (CLOSE_WAIT) and last ACK (TIME_WAIT); D's 3rd and 53rd datagram; E's template with each of
// its six packets (NONE on the SYN, ASSURED after) and E on its 3rd; F's 3rd datagram.
const std::vector<std::vector<Want>> kDatagrams = {
    {{6, 40001, 80, kRs2, 1, kNfct, 900}, {6, 40001, 80, kRs2, 1, kNfct, 900}},
    {{6, 40003, 80, kRs2, 1, kNfct, 900},
     {6, 40003, 80, kRs2, 7, kNfct | kInactive, 60},
     {6, 40003, 80, kRs2, 5, kNfct | kInactive, 120},
     {17, 5001, 53, kRs2, 0, kNfct | kInactive, 300},
     {17, 5001, 53, kRs2, 0, kNfct | kInactive, 300},
     {6, 0, 81, kRs2, kTemplateNone, kNfct | kTemplate | kInactive, 60},
     {6, 0, 81, kRs2, kTemplateAssured, kNfct | kTemplate | kInactive, 60},
     {6, 40005, 81, kRs2, 1, kNfct, 900},
     {6, 0, 81, kRs2, kTemplateAssured, kNfct | kTemplate | kInactive, 60},
     {6, 0, 81, kRs2, kTemplateAssured, kNfct | kTemplate | kInactive, 60},
     {6, 0, 81, kRs2, kTemplateAssured, kNfct | kTemplate | kInactive, 60},
     {6, 0, 81, kRs2, kTemplateAssured, kNfct | kTemplate | kInactive, 60},
     {17, 5009, 53, kRs1, 0, kNfct | kInactive, 300}}};

TEST(KernelMasterFixture, DecodesToTheConnectionsThatWereDriven) {
  auto read =
      vslab::port::read_pcap(std::string(VSLAB_SOURCE_DIR) + "/fixtures/sync/kernel-master.pcap");
  ASSERT_TRUE(read.ok()) << read.error;
  auto datagrams = sync_datagrams(read.frames);
  ASSERT_EQ(datagrams.size(), kDatagrams.size());
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    SCOPED_TRACE("datagram " + std::to_string(i + 1));
    const auto& d = datagrams[i];
    EXPECT_EQ(d.source, "192.168.10.3");
    EXPECT_EQ(d.destination, "224.0.0.81");
    EXPECT_EQ(d.destination_port, kDefaultPort);
    EXPECT_EQ(d.ttl, kDefaultTtl);
    // Any syncid filter but 7 drops it; 0 (none) and 7 take it.
    EXPECT_EQ(decode_message(d.payload, 8).verdict, MessageVerdict::OtherSyncId);
    EXPECT_EQ(decode_message(d.payload, 0).verdict, MessageVerdict::Accepted);
    auto message = decode_message(d.payload, 7);
    ASSERT_EQ(message.verdict, MessageVerdict::Accepted);
    EXPECT_EQ(message.syncid, 7);
    EXPECT_EQ(message.nr_conns, kDatagrams[i].size());
    EXPECT_TRUE(message.skipped.empty());
    EXPECT_EQ(message.dropped_rest, "");
    ASSERT_EQ(message.conns.size(), kDatagrams[i].size());
    for (std::size_t j = 0; j < message.conns.size(); ++j) {
      SCOPED_TRACE("entry " + std::to_string(j));
      const SyncConn& got = message.conns[j];
      const Want& want = kDatagrams[i][j];
      EXPECT_FALSE(got.ipv6);
      EXPECT_EQ(got.protocol, want.protocol);
      EXPECT_EQ(got.cport, want.cport);
      EXPECT_EQ(got.vport, want.vport);
      EXPECT_EQ(got.dport, want.vport);  // the rules' real servers listen on the VIP's port
      EXPECT_EQ(got.caddr.as_v4().str(), "10.10.0.2");
      EXPECT_EQ(got.vaddr.as_v4().str(), "10.20.0.100");
      EXPECT_EQ(got.daddr.as_v4().str(), want.real_server);
      EXPECT_EQ(got.state, want.state);
      EXPECT_EQ(got.flags, want.flags);  // forwarding method 0: masquerading
      EXPECT_EQ(got.timeout_s, want.timeout_s);
      EXPECT_EQ(got.fwmark, 0u);
      EXPECT_FALSE(got.seq.has_value());
      EXPECT_TRUE(got.pe_data.empty());
      EXPECT_TRUE(got.pe_name.empty());
    }
    // What the codec writes for those entries is the kernel's datagram, byte for byte.
    EXPECT_EQ(encode_message(7, message.conns), d.payload);
  }
}

}  // namespace
}  // namespace vsd::sync::interop
