// The sync codec against bytes written out by hand from the kernel's structs (ip_vs_sync.c:
// struct ip_vs_sync_mesg, ip_vs_sync_v4/v6, the option TLVs), and its decoder against what a
// kernel backup accepts and drops.
#include "sync/message.h"

#include <gtest/gtest.h>

#include <vector>

namespace vsd::sync {
namespace {

using Bytes = std::vector<uint8_t>;

Ipv4 ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return Ipv4::from_octets(a, b, c, d);
}

// 10.0.0.2:40000 -> 10.20.0.100:80 through NAT to 10.30.0.11:8080, ESTABLISHED, 900 s.
SyncConn established_nat() {
  SyncConn c;
  c.protocol = 6;
  c.flags = conn_flag::kMasq;
  c.state = 1;
  c.cport = 40000;
  c.vport = 80;
  c.dport = 8080;
  c.timeout_s = 900;
  c.caddr = Address::v4(ip(10, 0, 0, 2));
  c.vaddr = Address::v4(ip(10, 20, 0, 100));
  c.daddr = Address::v4(ip(10, 30, 0, 11));
  return c;
}

// Header (8) + ip_vs_sync_v4 (36), every field by hand.
const Bytes kEstablishedNat = {
    0x00, 0x07, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x00,  // reserved, syncid 7, size 44, 1 conn, v1
    0x00, 0x06, 0x00, 0x24,                          // type v4, TCP, version 0 size 36
    0x00, 0x00, 0x00, 0x00,                          // flags: MASQ
    0x00, 0x01, 0x9c, 0x40,                          // state ESTABLISHED, cport 40000
    0x00, 0x50, 0x1f, 0x90,                          // vport 80, dport 8080
    0x00, 0x00, 0x00, 0x00,                          // fwmark
    0x00, 0x00, 0x03, 0x84,                          // timeout 900 s
    0x0a, 0x00, 0x00, 0x02,                          // caddr
    0x0a, 0x14, 0x00, 0x64,                          // vaddr
    0x0a, 0x1e, 0x00, 0x0b,                          // daddr
};

TEST(SyncMessage, OneIpv4EntryIsTheKernelsLayout) {
  const SyncConn c = established_nat();
  EXPECT_EQ(c.wire_size(), 36u);
  EXPECT_EQ(encode_message(7, {&c, 1}), kEstablishedNat);
}

TEST(SyncMessage, DecodesWhatItWasGiven) {
  const auto d = decode_message(kEstablishedNat);
  ASSERT_EQ(d.verdict, MessageVerdict::Accepted);
  EXPECT_EQ(d.syncid, 7);
  ASSERT_EQ(d.conns.size(), 1u);
  EXPECT_EQ(d.conns[0], established_nat());
  EXPECT_EQ(d.conns[0].caddr.as_v4(), ip(10, 0, 0, 2));
  EXPECT_TRUE(d.skipped.empty());
  EXPECT_EQ(d.dropped_rest, "");
}

// A DR template of a persistent fwmark service (mark 5, DROUTE | TEMPLATE, assured), with PE
// data and name, then a UDP TUN connection: the second entry starts after 2 bytes of padding.
TEST(SyncMessage, OptionsAndPaddingBetweenEntries) {
  SyncConn t;
  t.protocol = 17;
  t.flags = conn_flag::kDroute | conn_flag::kTemplate | conn_flag::kNoOutput;
  t.state = kTemplateAssured;
  t.vport = 0;
  t.dport = 5060;
  t.fwmark = 5;
  t.timeout_s = 360;
  t.caddr = Address::v4(ip(192, 168, 1, 0));
  t.vaddr = Address::v4(Ipv4::from_host(5));
  t.daddr = Address::v4(ip(10, 30, 0, 12));
  t.pe_data = {'a', 'b', 'c'};
  t.pe_name = "sip";
  SyncConn u;
  u.protocol = 17;
  u.flags = conn_flag::kTunnel;
  u.cport = 53;
  u.vport = 53;
  u.dport = 53;
  u.timeout_s = 300;
  u.caddr = Address::v4(ip(1, 2, 3, 4));
  u.vaddr = Address::v4(ip(5, 6, 7, 8));
  u.daddr = Address::v4(ip(9, 10, 11, 12));
  const SyncConn both[] = {t, u};
  // First entry 36 + (2 + 3) + (2 + 3) = 46 bytes at 8..53, 2 bytes of pad, the second at 56.
  const Bytes expected = {
      0x00, 0x00, 0x00, 0x5c, 0x02, 0x01, 0x00, 0x00,  // size 92 = 8 + 46 + 2 + 36, 2 conns
      0x00, 0x11, 0x00, 0x2e,                          // v4, UDP, size 46
      0x00, 0x00, 0x10, 0x83,                          // TEMPLATE | NOOUTPUT | DROUTE
      0x00, 0x01, 0x00, 0x00,                          // ASSURED, cport 0
      0x00, 0x00, 0x13, 0xc4,                          // vport 0, dport 5060
      0x00, 0x00, 0x00, 0x05,                          // fwmark 5
      0x00, 0x00, 0x01, 0x68,                          // 360 s
      0xc0, 0xa8, 0x01, 0x00,                          // caddr (the masked client)
      0x00, 0x00, 0x00, 0x05,                          // vaddr: the mark, as the kernel keys it
      0x0a, 0x1e, 0x00, 0x0c,                          // daddr
      0x02, 0x03, 'a',  'b',  'c',                     // PE data
      0x03, 0x03, 's',  'i',  'p',                     // PE name
      0x00, 0x00,                                      // padding to 56
      0x00, 0x11, 0x00, 0x24,                          // v4, UDP, size 36
      0x00, 0x00, 0x00, 0x02,                          // TUNNEL
      0x00, 0x00, 0x00, 0x35,                          // state 0, cport 53
      0x00, 0x35, 0x00, 0x35,                          // vport, dport
      0x00, 0x00, 0x00, 0x00,                          // fwmark
      0x00, 0x00, 0x01, 0x2c,                          // 300 s
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
  };
  EXPECT_EQ(encode_message(0, both), expected);
  const auto d = decode_message(expected);
  ASSERT_EQ(d.verdict, MessageVerdict::Accepted);
  ASSERT_EQ(d.conns.size(), 2u);
  EXPECT_EQ(d.conns[0], t);
  EXPECT_EQ(d.conns[1], u);
}

TEST(SyncMessage, SequenceOptionIsTwoSeqStructsInNetworkOrder) {
  SyncConn c = established_nat();
  c.flags |= conn_flag::kInSeq;
  c.seq = SeqOption{{0x01020304, 0x00000010, 0xfffffff0}, {0x0a0b0c0d, 0, 0}};
  const auto m = encode_message(1, {&c, 1});
  ASSERT_EQ(m.size(), 8u + 36 + 2 + 24);
  EXPECT_EQ(m[11], 62);  // ver_size low byte: 36 + 26
  const Bytes option(m.begin() + 44, m.end());
  const Bytes expected = {0x01, 0x18, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00,
                          0x10, 0xff, 0xff, 0xff, 0xf0, 0x0a, 0x0b, 0x0c, 0x0d,
                          0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(option, expected);
  EXPECT_EQ(decode_message(m).conns.at(0), c);
}

TEST(SyncMessage, Ipv6EntryIs72BytesWithTypeBit0) {
  SyncConn c;
  c.ipv6 = true;
  c.protocol = 6;
  c.state = 1;
  c.cport = 1;
  c.vport = 2;
  c.dport = 3;
  c.caddr.bytes[0] = 0x20;
  c.caddr.bytes[15] = 1;
  c.vaddr.bytes[15] = 2;
  c.daddr.bytes[15] = 3;
  const auto m = encode_message(0, {&c, 1});
  ASSERT_EQ(m.size(), 80u);
  EXPECT_EQ(m[8], 1);    // STYPE_F_INET6
  EXPECT_EQ(m[11], 72);  // size
  EXPECT_EQ(m[32], 0x20);
  EXPECT_EQ(m[47], 1);  // caddr's last byte: 24 + 15
  EXPECT_EQ(m[63], 2);  // vaddr at 40
  EXPECT_EQ(m[79], 3);  // daddr at 56
  EXPECT_EQ(decode_message(m).conns.at(0), c);
}

TEST(SyncMessageBuilder, FillsUpToMaxlenLikeTheKernelsBuffer) {
  // The kernel master's default: 1500 - 20 - 8 = 1472 bytes, so (1472 - 8) / 36 = 40 entries.
  MessageBuilder b(3, 1472);
  const SyncConn c = established_nat();
  int added = 0;
  while (b.add(c)) ++added;
  EXPECT_EQ(added, 40);
  EXPECT_EQ(b.bytes().size(), 8u + 40 * 36);
  EXPECT_EQ(b.bytes()[4], 40);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.bytes().size(), 8u);
  EXPECT_EQ(b.bytes()[1], 3);
}

// sync_version=0 (ip_vs_sync_conn_v0): a 4-byte header (nr_conns first), 24-byte entries with
// no type, size, fwmark or timeout, the flags in 16 bits; the buffer goes once fewer than 48
// bytes (FULL_CONN_SIZE) are left: with 1472 bytes, 4 + 60 * 24 = 1444 and 1444 + 48 > 1472.
TEST(SyncMessageBuilder, Version0IsTheOldLayoutAndFillsAsTheKernelsV0Buffer) {
  MessageBuilder b(9, 1472, 0);
  SyncConn c = established_nat();
  c.flags = conn_flag::kDroute | conn_flag::kNoOutput | conn_flag::kInactive | 0x10000;
  c.fwmark = 7;
  c.timeout_s = 900;
  ASSERT_TRUE(b.add(c));
  const auto m = b.bytes();
  ASSERT_EQ(m.size(), 28u);
  EXPECT_EQ(m[0], 1);  // nr_conns
  EXPECT_EQ(m[1], 9);  // syncid
  EXPECT_EQ(m[2] << 8 | m[3], 28);
  const Bytes entry(m.begin() + 4, m.end());
  const Bytes expected = {0,    6,                             // reserved, protocol
                          0x9c, 0x40, 0x00, 0x50, 0x1f, 0x90,  // 40000, 80, 8080
                          10,   0,    0,    2,    10,   20,   0,
                          100,  10,   30,   0,    11,   0x01, 0x83,  // the flags' low 16 bits only
                          0x00, 0x01};                               // ESTABLISHED
  EXPECT_EQ(entry, expected);
  // The kernel's backup takes this for the old format, which vsd's codec does not decode.
  EXPECT_EQ(decode_message(m).verdict, MessageVerdict::Version0);
  int added = 1;
  while (!b.full()) {
    ASSERT_TRUE(b.add(c));
    ++added;
  }
  EXPECT_EQ(added, 60);
  EXPECT_EQ(b.bytes().size(), 1444u);
  EXPECT_FALSE(b.add(c));
  // A connection with sequence data: 48 bytes.
  MessageBuilder seq(0, 1472, 0);
  c.flags |= conn_flag::kInSeq;
  ASSERT_TRUE(seq.add(c));
  EXPECT_EQ(seq.bytes().size(), 4u + 48);
  // No IPv6 form: refused, as the kernel's master never gets so far with one.
  SyncConn v6 = c;
  v6.ipv6 = true;
  EXPECT_THROW(MessageBuilder(0, 1472, 0).add(v6), std::invalid_argument);
}

TEST(SyncMessageBuilder, AnEntryLargerThanMaxlenGoesAloneAndTheCountStopsAt255) {
  MessageBuilder small(0, 20);
  EXPECT_TRUE(small.add(established_nat()));
  EXPECT_FALSE(small.add(established_nat()));
  MessageBuilder big(0, 65507);
  int added = 0;
  while (big.add(established_nat())) ++added;
  EXPECT_EQ(added, 255);
}

TEST(SyncMessageBuilder, RefusesWhatNoKernelDecodes) {
  MessageBuilder b(0, 1472);
  SyncConn c = established_nat();
  c.pe_name = "sip";  // a name without data
  EXPECT_THROW(b.add(c), std::invalid_argument);
  c.pe_data.assign(256, 1);
  EXPECT_THROW(b.add(c), std::invalid_argument);
  c.pe_data.assign(3, 1);
  c.pe_name = std::string(17, 'x');
  EXPECT_THROW(b.add(c), std::invalid_argument);
  EXPECT_TRUE(b.empty());
}

// --- what a backup refuses -------------------------------------------------------------

Bytes with(Bytes b, std::size_t at, uint8_t value) {
  b.at(at) = value;
  return b;
}

TEST(SyncDecode, HeaderChecksInTheKernelsOrder) {
  EXPECT_EQ(decode_message(Bytes{0, 0, 0}).verdict, MessageVerdict::TooShort);
  // The size field must be the datagram's length, exactly.
  Bytes longer = kEstablishedNat;
  longer.push_back(0);
  EXPECT_EQ(decode_message(longer).verdict, MessageVerdict::BadSize);
  // syncid 7: a backup with 0 takes it, 7 takes it, 8 filters it.
  EXPECT_EQ(decode_message(kEstablishedNat, 0).verdict, MessageVerdict::Accepted);
  EXPECT_EQ(decode_message(kEstablishedNat, 7).verdict, MessageVerdict::Accepted);
  EXPECT_EQ(decode_message(kEstablishedNat, 8).verdict, MessageVerdict::OtherSyncId);
  // Version other than 1, reserved or spare not zero: the old format's decoder.
  EXPECT_EQ(decode_message(with(kEstablishedNat, 5, 2)).verdict, MessageVerdict::Version0);
  EXPECT_EQ(decode_message(with(kEstablishedNat, 0, 1)).verdict, MessageVerdict::Version0);
  EXPECT_EQ(decode_message(with(kEstablishedNat, 7, 1)).verdict, MessageVerdict::Version0);
}

TEST(SyncDecode, FatalEntryErrorsDropTheRestButKeepWhatCameBefore) {
  const SyncConn two[] = {established_nat(), established_nat()};
  const Bytes good = encode_message(0, two);
  ASSERT_EQ(decode_message(good).conns.size(), 2u);
  // The second entry at 44: an unknown type (2) drops it.
  auto d = decode_message(with(good, 44, 2));
  EXPECT_EQ(d.conns.size(), 1u);
  EXPECT_NE(d.dropped_rest, "");
  // A version in the entry's top 4 bits.
  d = decode_message(with(good, 46, 0x10));
  EXPECT_EQ(d.conns.size(), 1u);
  EXPECT_NE(d.dropped_rest, "");
  // A size below the fixed part.
  d = decode_message(with(good, 47, 20));
  EXPECT_EQ(d.conns.size(), 1u);
  // A size past the datagram.
  d = decode_message(with(good, 47, 40));
  EXPECT_EQ(d.conns.size(), 1u);
  EXPECT_NE(d.dropped_rest, "");
  // nr_conns claims 3: the third is past the datagram.
  d = decode_message(with(good, 4, 3));
  EXPECT_EQ(d.conns.size(), 2u);
  EXPECT_NE(d.dropped_rest, "");
}

// One entry with an option appended by hand: type, length, data.
Bytes entry_with_option(std::initializer_list<uint8_t> option) {
  Bytes m = kEstablishedNat;
  m.insert(m.end(), option);
  const std::size_t entry = m.size() - 8;
  m[3] = uint8_t(m.size());
  m[11] = uint8_t(entry);
  return m;
}

TEST(SyncDecode, Options) {
  // An unknown option with the optional bit (0x40) is passed over.
  auto d = decode_message(entry_with_option({0x45, 0x02, 0xaa, 0xbb}));
  EXPECT_EQ(d.conns.size(), 1u);
  EXPECT_TRUE(d.skipped.empty());
  // An unknown mandatory one skips the entry; the message goes on.
  d = decode_message(entry_with_option({0x05, 0x02, 0xaa, 0xbb}));
  EXPECT_TRUE(d.conns.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.dropped_rest, "");
  // Length 0, a length past the entry, a sequence option of the wrong length: fatal.
  EXPECT_NE(decode_message(entry_with_option({0x02, 0x00})).dropped_rest, "");
  EXPECT_NE(decode_message(entry_with_option({0x02, 0x05, 0x01})).dropped_rest, "");
  EXPECT_NE(decode_message(entry_with_option({0x01, 0x02, 0x00, 0x00})).dropped_rest, "");
  // A lone option type byte with no length.
  EXPECT_NE(decode_message(entry_with_option({0x02})).dropped_rest, "");
  // PE data twice.
  EXPECT_NE(decode_message(entry_with_option({0x02, 0x01, 0x61, 0x02, 0x01, 0x62})).dropped_rest,
            "");
  // PE data without a name: that entry is skipped.
  d = decode_message(entry_with_option({0x02, 0x01, 0x61}));
  EXPECT_TRUE(d.conns.empty());
  EXPECT_EQ(d.skipped.size(), 1u);
  // A name alone is kept, and ignored by the kernel.
  d = decode_message(entry_with_option({0x03, 0x03, 's', 'i', 'p'}));
  ASSERT_EQ(d.conns.size(), 1u);
  EXPECT_EQ(d.conns[0].pe_name, "sip");
  // A name over 16 bytes is fatal.
  Bytes long_name = {0x03, 17};
  long_name.resize(19, 'x');
  Bytes m = kEstablishedNat;
  m.insert(m.end(), long_name.begin(), long_name.end());
  m[3] = uint8_t(m.size());
  m[11] = uint8_t(m.size() - 8);
  EXPECT_NE(decode_message(m).dropped_rest, "");
  // The optional bit on a known type still means that type.
  d = decode_message(entry_with_option({0x42, 0x01, 0x61, 0x03, 0x01, 0x62}));
  ASSERT_EQ(d.conns.size(), 1u);
  EXPECT_EQ(d.conns[0].pe_data, Bytes{0x61});
}

TEST(SyncDecode, ShortDatagramsNeverReadPastTheirEnd) {
  for (std::size_t n = 0; n <= kEstablishedNat.size(); ++n) {
    Bytes cut(kEstablishedNat.begin(), kEstablishedNat.begin() + n);
    if (n >= 4) cut[3] = uint8_t(n);  // so that the size check passes
    const auto d = decode_message(cut);
    if (n < kEstablishedNat.size()) {
      EXPECT_TRUE(d.conns.empty()) << n;
    }
  }
}

}  // namespace
}  // namespace vsd::sync
