// Reassembly for the fragment slow path (spec section 3): IPVS sees only whole datagrams, so vsd
// gathers fragments as the kernel's ip_defrag (net/ipv4/ip_fragment.c) and nf_defrag_ipv6
// (net/ipv6/netfilter/nf_conntrack_reasm.c) do, both over inet_fragment.c's queue, and hands
// the caller the whole datagram as one Ethernet frame. One table serves either family (vsd keeps
// one per family, as the kernel does, each with its own limits); only the header a fragment
// brings and the one a whole datagram gets differ. Every buffer is allocated at construction;
// adding a fragment allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "fwd/ipv6.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// Defaults are the kernel's for IPv4: ipfrag_time 30 s, ipfrag_high_thresh 4 MiB (IPv6's
// nf_conntrack_frag6_timeout is 60 s: kReassemblyLimits6). The kernel has no count limit;
// max_datagrams bounds the table vsd preallocates.
struct ReassemblyLimits {
  std::size_t max_datagrams = 1024;
  std::size_t max_bytes = std::size_t(4) << 20;  // payload storage, counted in whole blocks
  uint64_t timeout_ms = 30000;                   // from the datagram's first fragment
};

// nf_defrag_ipv6's defaults: nf_conntrack_frag6_timeout 60 s, nf_conntrack_frag6_high_thresh
// 4 MiB.
inline constexpr ReassemblyLimits kReassemblyLimits6{1024, std::size_t(4) << 20, 60000};

enum class ReassemblyStatus : uint8_t {
  Kept,      // stored (or an exact duplicate of bytes already held): the datagram waits
  Complete,  // ReassemblyResult::frame holds the whole datagram
  Dropped,   // see ReassemblyResult::drop
};

// Why a fragment was dropped; one counter each. "Discards" also throw away every fragment
// of the datagram held so far, as the kernel's inet_frag_kill does.
enum class ReassemblyDrop : uint8_t {
  None,
  NotFragment,           // IPv4: neither MF nor an offset; IPv6: no fragment header
  BadView,               // the view does not describe the frame (offsets outside it), or its
                         // headers are longer than a datagram's stored header
  BadFragment,           // discards: empty, past the end the last fragment set, or a second
                         // last fragment with a different end (ip_frag_queue); IPv6 also a
                         // fragment with M whose length is not a multiple of 8
  Overlap,               // discards: covers received bytes partly (RFC 5722 as the kernel
                         // applies it to IPv4 since 4.19, CVE-2018-5391)
  ConflictingDuplicate,  // lies wholly within received bytes but differs from them: the first
                         // copy stays, as the kernel's IPFRAG_DUP keeps it
  TooBig,                // discards: the datagram would pass 65535 bytes (ip_frag_reasm)
  EcnMismatch,           // discards: Not-ECT mixed with ECT/CE (ip_frag_ecn_table)
  TooManyDatagrams,      // a new datagram while max_datagrams are in progress
  OutOfMemory,           // not enough free storage for the fragment's bytes (high_thresh)
  Count,
};

inline constexpr std::size_t kReassemblyDropCount = std::size_t(ReassemblyDrop::Count);

// Counter names, indexed by ReassemblyDrop ("none", "not_fragment", ...).
extern const std::array<std::string_view, kReassemblyDropCount> kReassemblyDropNames;
std::string_view reassembly_drop_name(ReassemblyDrop reason);

struct ReassemblyCounters {
  std::array<uint64_t, kReassemblyDropCount> drops{};  // fragments, by reason
  uint64_t fragments_kept = 0;
  uint64_t duplicates = 0;  // exact duplicates, reported as Kept
  uint64_t completed = 0;   // datagrams
  uint64_t discarded = 0;   // datagrams thrown away by a drop that discards
  uint64_t expired = 0;     // datagrams that did not complete within timeout_ms
};

struct ReassemblyResult {
  ReassemblyStatus status = ReassemblyStatus::Dropped;
  ReassemblyDrop drop = ReassemblyDrop::None;
  // Complete only: the first fragment's Ethernet header and IPv4 header (options kept) with
  // total length set, MF and offset cleared, DF set only when the largest fragment had it,
  // CE merged into TOS, checksum recomputed; then the payload. IPv6: the first fragment's
  // Ethernet header, IPv6 header and extension headers with the fragment header taken out (the
  // header before it names what the fragment header named), payload length set, CE merged into
  // the traffic class; then the payload. Valid until the next add().
  std::span<uint8_t> frame;
  // Complete only: the IP length (header + payload) of the largest fragment received, duplicates
  // not counted: the size the director fragments at again (the kernel's frag_max_size; for
  // IPv6, 40 + the largest fragment's payload length, its fragment header counted).
  uint16_t largest_fragment = 0;
};

class Reassembler {
 public:
  explicit Reassembler(const ReassemblyLimits& limits = {});

  // Adds one fragment; `packet` is classify()'s view of `frame` (is_fragment() true). The
  // frame is copied, so the caller may release it whatever the result. Datagrams older than
  // the timeout are expired first.
  ReassemblyResult add(std::span<const uint8_t> frame, const PacketView& packet, uint64_t now_ms);
  // The same for an IPv6 fragment; `packet` is parse_ipv6()'s view of `frame` (fragment true).
  ReassemblyResult add6(std::span<const uint8_t> frame, const Packet6& packet, uint64_t now_ms);

  // Drops the datagrams whose first fragment came timeout_ms or more before now_ms; returns
  // how many (counters().expired too). add() expires first as well.
  std::size_t expire(uint64_t now_ms);

  // Called for each expired datagram whose first fragment had come, with that fragment as it
  // arrived (Ethernet and IP header, then the payload it carried, the IP total length matching
  // it; for IPv6 its fragment header kept), so the caller can send "fragment reassembly time
  // exceeded" as the kernel's ip_expire and ip6frag_expire_frag_queue do; the span is valid
  // during the call only.
  using ExpiredHandler = std::function<void(std::span<const uint8_t> first_fragment)>;
  void on_expired(ExpiredHandler handler) { on_expired_ = std::move(handler); }

  const ReassemblyCounters& counters() const { return counters_; }
  std::size_t datagrams_in_progress() const { return in_progress_; }
  std::size_t bytes_in_use() const { return (block_count_ - free_blocks_.size()) * kBlockSize; }
  const ReassemblyLimits& limits() const { return limits_; }

  // Payload is stored in blocks of this size, each datagram holding up to kBlocksPerDatagram.
  static constexpr std::size_t kBlockSize = 1024;
  static constexpr std::size_t kBlocksPerDatagram = 65536 / kBlockSize;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr std::size_t kUnitsPerBlock = kBlockSize / 8;  // 8-byte fragment units
  static constexpr std::size_t kWordsPerBlock = kUnitsPerBlock / 64;
  // Ethernet + IPv6 + the extension headers before a fragment header (IPv4 with options is
  // shorter); a fragment with longer headers is refused as BadView.
  static constexpr std::size_t kMaxStoredHeader = 14 + 40 + 96;

  // The kernel's queue keys: ip4_frag_match compares saddr, daddr, protocol and id;
  // ip6frag_key saddr, daddr and the 32-bit id. IPv4 addresses sit in the first four bytes,
  // `v6` keeps the families apart.
  struct Key {
    Ip6 src{};
    Ip6 dst{};
    uint32_t id = 0;
    uint8_t protocol = 0;
    bool v6 = false;
    bool operator==(const Key&) const = default;
  };

  // One fragment as either family's front end describes it to the common queue.
  struct Piece {
    Key key;
    uint32_t offset = 0;  // of the payload, in bytes
    uint32_t end = 0;     // offset + payload bytes kept
    bool more = false;
    std::span<const uint8_t> payload;
    std::span<const uint8_t> header;  // Ethernet up to the payload (IPv6: fragment header too)
    uint16_t l3 = 0;
    uint16_t size = 0;     // what counts towards frag_max_size
    bool df = false;       // IPv4 only
    uint8_t ecn = 0;       // the ECN codepoint
    uint32_t max_end = 0;  // the payload end past which the datagram is too big
    // IPv6: where the fragment header is and the byte naming it, from the frame's start.
    uint16_t fragment_at = 0;
    uint16_t names_fragment_at = 0;
  };

  struct Datagram {
    Key key;
    bool last_in = false;   // the MF=0 fragment came: length is final
    bool first_in = false;  // offset 0 came: header holds its Ethernet + IPv4 header
    uint8_t ecn_seen = 0;   // bit per ECN codepoint received
    bool v6 = false;
    uint8_t header_len = 0;
    uint8_t l3 = 0;
    uint8_t ip_header_len = 0;  // IPv6: fixed, extension and fragment headers
    uint8_t fragment_at = 0;    // IPv6 only, as in Piece
    uint8_t names_fragment_at = 0;
    uint16_t first_len = 0;  // payload bytes the first fragment brought
    uint32_t length = 0;     // payload end: the highest seen, final once last_in
    uint32_t received = 0;   // payload bytes held; never counts a byte twice
    uint16_t largest = 0;
    uint16_t largest_df = 0;  // the largest fragment that carried DF
    uint64_t created_ms = 0;
    uint32_t hash_next = kNone;
    uint32_t older = kNone;  // age list, oldest at oldest_
    uint32_t newer = kNone;
    std::array<uint8_t, kMaxStoredHeader> header{};
    std::array<uint32_t, kBlocksPerDatagram> blocks{};
  };

  uint32_t bucket_of(const Key& key) const;
  uint32_t find(const Key& key) const;
  uint32_t create(const Key& key, uint64_t now_ms);
  void release(uint32_t index);
  std::span<const uint8_t> first_fragment(const Datagram& datagram);
  void discard(uint32_t index, ReassemblyDrop reason);
  bool range_state(const Datagram& datagram, uint32_t from, uint32_t to, bool& all) const;
  bool bytes_equal(const Datagram& datagram, uint32_t from, std::span<const uint8_t> bytes) const;
  std::size_t blocks_missing(const Datagram& datagram, uint32_t from, uint32_t to) const;
  void store(Datagram& datagram, uint32_t from, std::span<const uint8_t> bytes);
  ReassemblyResult add_piece(const Piece& piece, uint64_t now_ms);
  ReassemblyResult finish(uint32_t index);
  std::span<uint8_t> finish_header4(const Datagram& datagram, uint32_t ip_length);
  std::span<uint8_t> finish_header6(const Datagram& datagram);
  ReassemblyResult dropped(ReassemblyDrop reason);

  ReassemblyLimits limits_;
  std::size_t block_count_ = 0;
  std::vector<Datagram> datagrams_;
  std::vector<uint32_t> free_datagrams_;  // stack of unused indices
  std::vector<uint32_t> buckets_;         // heads of hash chains, power-of-two count
  std::vector<uint8_t> block_bytes_;
  std::vector<uint64_t> block_units_;  // bit per 8-byte unit received
  std::vector<uint32_t> free_blocks_;  // stack of unused block indices
  ExpiredHandler on_expired_;
  std::vector<uint8_t> output_;  // the completed frame, or an expired first fragment
  uint32_t seed_ = 0;
  uint32_t oldest_ = kNone;
  uint32_t newest_ = kNone;
  std::size_t in_progress_ = 0;
  ReassemblyCounters counters_;
};

}  // namespace vsd::fwd
