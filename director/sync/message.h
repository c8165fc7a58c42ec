// The kernel's connection synchronization messages, protocol version 1 (Linux's
// net/netfilter/ipvs/ip_vs_sync.c, the format since 2.6.39 and unchanged in 6.1), as value
// types: what a master multicasts and a backup reads. Encoding lays the bytes out as the kernel
// does (the same padding and the same size limits), decoding accepts and refuses what the
// kernel's backup accepts and refuses, and never reads outside the bytes it is given. docs/ipvs.md
// section 14 gives the layout field by field.
//
// Message: an 8-byte header, then nr_conns entries, each starting on a multiple of 4 bytes:
//   0 reserved (0)  1 syncid  2-3 size (the whole datagram)  4 nr_conns  5 version (1)  6-7 spare
// Entry (IPv4: 36 bytes, IPv6: 72, then the options):
//   0 type (bit 0: IPv6)  1 protocol  2-3 version (high 4 bits, 0) and size (low 12 bits)
//   4-7 flags  8-9 state  10-11 cport  12-13 vport  14-15 dport  16-19 fwmark
//   20-23 timeout (seconds)  24.. caddr, vaddr, daddr
// Options, each type (1 byte), length (1 byte, not 0), data: 1 sequence adjustments (24 bytes),
// 2 persistence-engine data (up to 255 bytes), 3 persistence-engine name (up to 16 bytes);
// a type with bit 6 (0x40) set is optional and skipped when unknown.
// Every multi-byte field is in network byte order.
//
// Version 0 (what a master sends with net.ipv4.vs.sync_version=0, ip_vs_sync_conn_v0): a 4-byte
// header (0 nr_conns, 1 syncid, 2-3 size), then 24-byte entries with no padding:
//   0 reserved (0)  1 protocol  2-3 cport  4-5 vport  6-7 dport  8-11 caddr  12-15 vaddr
//   16-19 daddr  20-21 flags (the low 16 bits)  22-23 state
// and after an entry whose flags have a sequence bit, the two struct ip_vs_seq (24 bytes). No
// IPv6, fwmark, timeout or options: a kernel master sends no IPv6 connection in it at all.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/addr.h"

namespace vsd::sync {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr Ipv4 kDefaultGroup = Ipv4::from_octets(224, 0, 0, 81);
inline constexpr uint16_t kDefaultPort = 8848;
inline constexpr uint8_t kDefaultTtl = 1;

inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kHeaderV0Size = 4;
inline constexpr std::size_t kEntryV0Size = 24;      // SIMPLE_CONN_SIZE
inline constexpr std::size_t kEntryV0FullSize = 48;  // FULL_CONN_SIZE: with the sequence data
inline constexpr std::size_t kEntryV4Size = 36;
inline constexpr std::size_t kEntryV6Size = 72;
inline constexpr std::size_t kSeqOptionSize = 24;     // two struct ip_vs_seq, 3 x 32 bits each
inline constexpr std::size_t kPeDataMax = 255;        // IP_VS_PEDATA_MAXLEN
inline constexpr std::size_t kPeNameMax = 16;         // IP_VS_PENAME_MAXLEN
inline constexpr std::size_t kEntrySizeMax = 0x0fff;  // the 12 bits of ver_size

// Option types (IPVS_OPT_*), and the bit that makes an unknown one skippable.
inline constexpr uint8_t kOptSeqData = 1;
inline constexpr uint8_t kOptPeData = 2;
inline constexpr uint8_t kOptPeName = 3;
inline constexpr uint8_t kOptOptionalBit = 1 << 6;  // IPVS_OPT_F_PARAM

// The connection flags as they travel (IP_VS_CONN_F_* of the uapi header ip_vs.h).
namespace conn_flag {
inline constexpr uint32_t kMasq = 0;
inline constexpr uint32_t kLocalNode = 1;
inline constexpr uint32_t kTunnel = 2;
inline constexpr uint32_t kDroute = 3;
inline constexpr uint32_t kBypass = 4;
inline constexpr uint32_t kFwdMask = 0x0007;
inline constexpr uint32_t kSync = 0x0020;  // set by the backup on what it learnt by sync
inline constexpr uint32_t kHashed = 0x0040;
inline constexpr uint32_t kNoOutput = 0x0080;
inline constexpr uint32_t kInactive = 0x0100;
inline constexpr uint32_t kOutSeq = 0x0200;
inline constexpr uint32_t kInSeq = 0x0400;
inline constexpr uint32_t kSeqMask = 0x0600;
inline constexpr uint32_t kNoCport = 0x0800;
inline constexpr uint32_t kTemplate = 0x1000;
inline constexpr uint32_t kOnePacket = 0x2000;
// What a backup keeps of the flags it receives (IP_VS_CONN_F_BACKUP_MASK); it adds kSync.
inline constexpr uint32_t kBackupMask =
    kFwdMask | kNoOutput | kInactive | kSeqMask | kNoCport | kTemplate;
// What a later message may change on an entry the backup already has (BACKUP_UPD_MASK).
inline constexpr uint32_t kBackupUpdateMask = kInactive | kSeqMask;
}  // namespace conn_flag

// The template states (IP_VS_CTPL_S_*): a template's state field.
inline constexpr uint16_t kTemplateNone = 0;
inline constexpr uint16_t kTemplateAssured = 1;

// An address of either family in network byte order; an IPv4 address is the first 4 bytes.
struct Address {
  std::array<uint8_t, 16> bytes{};

  static Address v4(Ipv4 a);
  Ipv4 as_v4() const;
  bool operator==(const Address&) const = default;
};

// One struct ip_vs_seq: the sequence number adjustment of a NAT connection whose payload
// changed length (an application helper such as FTP's). vsd has none; it relays the kernel's.
struct SeqAdjust {
  uint32_t init_seq = 0;
  uint32_t delta = 0;
  uint32_t previous_delta = 0;
  bool operator==(const SeqAdjust&) const = default;
};

struct SeqOption {
  SeqAdjust in;
  SeqAdjust out;
  bool operator==(const SeqOption&) const = default;
};

// One synchronized connection or persistence template, every field as it travels (ports in
// host order here, flags and state as the kernel's numbers).
struct SyncConn {
  bool ipv6 = false;
  uint8_t protocol = 6;  // IPPROTO_*; a fwmark template carries the service's (or 0)
  uint32_t flags = 0;    // conn_flag::*
  uint16_t state = 0;    // IP_VS_TCP_S_* (vsd::TcpState's numbering), 0 for UDP, kTemplate*
  uint16_t cport = 0;
  uint16_t vport = 0;
  uint16_t dport = 0;
  uint32_t fwmark = 0;
  uint32_t timeout_s = 0;  // the entry's whole timeout in its state (cp->timeout), not what is left
  Address caddr, vaddr, daddr;
  std::optional<SeqOption> seq;
  std::vector<uint8_t> pe_data;  // empty: none
  std::string pe_name;           // empty: none

  // The entry's length on the wire, without the padding that follows it.
  std::size_t wire_size() const;
  bool operator==(const SyncConn&) const = default;
};

// Builds one datagram the way a kernel master fills its sync buffer: the header, then each
// entry padded to 4 bytes from the message's start, while it fits in maxlen bytes (the
// kernel's sync_maxlen) and fewer than 256 are in (nr_conns is 8 bits). Version 0: entries of
// 24 or 48 bytes, and the message is full (full()) once fewer than 48 bytes are left, as
// ip_vs_sync_conn_v0 queues its buffer then.
class MessageBuilder {
 public:
  MessageBuilder(uint8_t syncid, std::size_t maxlen, uint8_t version = kProtocolVersion);
  // Appends the entry; false (and nothing appended) when it does not fit. An entry larger
  // than maxlen on its own goes alone into an empty message, as the kernel sizes a new buffer
  // for it. Throws std::invalid_argument for one no kernel could decode: options over their
  // limits, or a size over 4095 bytes.
  // Version 0 throws std::invalid_argument for an IPv6 entry, which the format cannot hold.
  bool add(const SyncConn& conn);
  // Version 0: no room left for another entry of the largest size; to be sent now.
  bool full() const;
  uint8_t version() const { return version_; }
  std::size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The datagram: header with the final size and count, the entries.
  std::span<const uint8_t> bytes() const { return bytes_; }
  // Starts a new message with the same syncid and maxlen.
  void clear();

 private:
  bool add_v0(const SyncConn& conn);

  uint8_t syncid_;
  std::size_t maxlen_;
  uint8_t version_;
  std::size_t count_ = 0;
  std::vector<uint8_t> bytes_;
};

// The whole message at once, no size limit but 255 entries (tests, tools).
std::vector<uint8_t> encode_message(uint8_t syncid, std::span<const SyncConn> conns);

// What a backup makes of a datagram, in the kernel's order: the size checks, then the syncid
// filter (0 takes every syncid), then the version.
enum class MessageVerdict : uint8_t {
  Accepted,     // version 1: conns (and skipped) hold the entries
  TooShort,     // fewer than 4 bytes ("message header too short")
  BadSize,      // the size field is not the datagram's length ("bogus message size")
  OtherSyncId,  // filtered out by the syncid
  Version0,     // the old format (not version 1, or reserved/spare not 0); not decoded
};
std::string_view verdict_name(MessageVerdict v);

struct SkippedConn {
  std::size_t index = 0;  // its place in the message, from 0
  std::string reason;
};

struct DecodedMessage {
  MessageVerdict verdict = MessageVerdict::TooShort;
  uint8_t syncid = 0;
  uint8_t nr_conns = 0;  // what the header claims
  // The entries the kernel would go on to apply, in order. A backup also checks the protocol,
  // the state and the persistence engine (sync/apply.h); the codec checks the layout only.
  std::vector<SyncConn> conns;
  // Entries the kernel passes over and goes on after: IPv6 sent to a kernel without it is not
  // this case (vsd decodes IPv6); an unknown mandatory option, or PE data without a PE name.
  std::vector<SkippedConn> skipped;
  // Why the rest of the message was dropped, if it was: an entry that runs past the datagram,
  // a version other than 0 in an entry, an unknown type, a malformed option. The entries
  // before it stay decoded (the kernel has applied them by then).
  std::string dropped_rest;
};

// syncid_filter: the backup's --syncid; 0 accepts every message.
DecodedMessage decode_message(std::span<const uint8_t> datagram, uint8_t syncid_filter = 0);

}  // namespace vsd::sync
