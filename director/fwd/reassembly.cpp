// Reassembler: the datagram table (hash chains + an age list, both over preallocated slots)
// and the payload block pool. Rules follow ip_fragment.c ip_frag_queue / ip_frag_reasm and
// nf_conntrack_reasm.c nf_ct_frag6_queue / nf_ct_frag6_reasm, which share inet_fragment.c's
// queue (inet_frag_queue_insert's overlap and duplicate rules).
#include "fwd/reassembly.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/wire.h"

namespace vsd::fwd {

const std::array<std::string_view, kReassemblyDropCount> kReassemblyDropNames = {
    "none",          "not_fragment", "bad_view",
    "bad_fragment",  "overlap",      "conflicting_duplicate",
    "too_big",       "ecn_mismatch", "too_many_datagrams",
    "out_of_memory",
};

std::string_view reassembly_drop_name(ReassemblyDrop reason) {
  auto index = std::size_t(reason);
  return index < kReassemblyDropCount ? kReassemblyDropNames[index] : "unknown";
}

namespace {

constexpr uint32_t kMaxIpLength = 65535;
constexpr std::size_t kL3 = Packet6::kL3;

// ECN codepoints as bits, so a datagram remembers which it has seen (ip_fragment.c
// ip4_frag_ecn: IPFRAG_ECN_NOT_ECT, _ECT_1, _ECT_0, _CE).
constexpr uint8_t kEcnNotEct = 1;
constexpr uint8_t kEcnCe = 8;
constexpr uint8_t kEcnMask = 0x03;

// True when the view's offsets all lie inside the frame and describe one IPv4 header whose
// bytes, with the link header before it, fit the stored copy: classify() guarantees this, but
// reassembly must stay in bounds whatever it is given.
bool view_fits(std::span<const uint8_t> frame, const PacketView& packet, std::size_t max_header) {
  if (packet.ip_header_len < wire::ip::kMinHeaderLen ||
      packet.ip_header_len > wire::ip::kMaxHeaderLen) {
    return false;
  }
  if (std::size_t(packet.l4) != std::size_t(packet.l3) + packet.ip_header_len) return false;
  if (packet.l4 > max_header) return false;
  if (packet.ip_total_len < packet.ip_header_len) return false;
  if (packet.l3_end() > frame.size()) return false;
  if (packet.fragment_offset % 8 != 0) return false;
  return std::size_t(packet.fragment_offset) <= std::size_t(wire::ip::kOffsetMask) * 8;
}

Ip6 widened(Ipv4 address) {
  Ip6 out{};
  const uint32_t value = address.value;
  for (std::size_t i = 0; i < 4; ++i) out[i] = uint8_t(value >> (24 - 8 * i));
  return out;
}

uint64_t half(const Ip6& a, std::size_t from) {
  uint64_t h = 0;
  for (std::size_t i = from; i < from + 8; ++i) h = h << 8 | a[i];
  return h;
}

uint64_t mix(uint64_t h) {
  h *= 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

}  // namespace

Reassembler::Reassembler(const ReassemblyLimits& limits)
    : limits_(limits),
      block_count_(limits.max_bytes / kBlockSize),
      datagrams_(limits.max_datagrams),
      block_bytes_(block_count_ * kBlockSize),
      block_units_(block_count_ * kWordsPerBlock),
      output_(kMaxStoredHeader + kMaxIpLength) {
  std::size_t bucket_count = 16;
  while (bucket_count < 2 * limits.max_datagrams) bucket_count *= 2;
  buckets_.assign(bucket_count, kNone);
  free_datagrams_.reserve(limits.max_datagrams);
  for (std::size_t i = limits.max_datagrams; i-- > 0;) free_datagrams_.push_back(uint32_t(i));
  free_blocks_.reserve(block_count_);
  for (std::size_t i = block_count_; i-- > 0;) free_blocks_.push_back(uint32_t(i));
  // A secret seed, as the kernel keys its fragment hash (inet_frags rnd), so a sender cannot
  // aim every datagram at one chain.
  seed_ = uint32_t(std::random_device{}());
}

uint32_t Reassembler::bucket_of(const Key& key) const {
  uint64_t h = mix(half(key.src, 0) ^ seed_);
  h = mix(h ^ half(key.src, 8));
  h = mix(h ^ half(key.dst, 0));
  h = mix(h ^ half(key.dst, 8));
  h = mix(h ^ (uint64_t(key.id) << 16 | uint64_t(key.protocol) << 1 | uint64_t(key.v6)));
  return uint32_t(h & (buckets_.size() - 1));
}

uint32_t Reassembler::find(const Key& key) const {
  for (uint32_t i = buckets_[bucket_of(key)]; i != kNone; i = datagrams_[i].hash_next) {
    if (datagrams_[i].key == key) return i;
  }
  return kNone;
}

uint32_t Reassembler::create(const Key& key, uint64_t now_ms) {
  uint32_t index = free_datagrams_.back();
  free_datagrams_.pop_back();
  Datagram& datagram = datagrams_[index];
  datagram.key = key;
  datagram.last_in = false;
  datagram.first_in = false;
  datagram.ecn_seen = 0;
  datagram.header_len = 0;
  datagram.l3 = 0;
  datagram.ip_header_len = 0;
  datagram.length = 0;
  datagram.received = 0;
  datagram.largest = 0;
  datagram.largest_df = 0;
  datagram.created_ms = now_ms;
  datagram.blocks.fill(kNone);
  uint32_t bucket = bucket_of(key);
  datagram.hash_next = buckets_[bucket];
  buckets_[bucket] = index;
  datagram.older = newest_;
  datagram.newer = kNone;
  if (newest_ != kNone) datagrams_[newest_].newer = index;
  newest_ = index;
  if (oldest_ == kNone) oldest_ = index;
  ++in_progress_;
  return index;
}

void Reassembler::release(uint32_t index) {
  Datagram& datagram = datagrams_[index];
  uint32_t* link = &buckets_[bucket_of(datagram.key)];
  while (*link != index) link = &datagrams_[*link].hash_next;
  *link = datagram.hash_next;
  if (datagram.older != kNone)
    datagrams_[datagram.older].newer = datagram.newer;
  else
    oldest_ = datagram.newer;
  if (datagram.newer != kNone)
    datagrams_[datagram.newer].older = datagram.older;
  else
    newest_ = datagram.older;
  for (uint32_t& block : datagram.blocks) {
    if (block == kNone) continue;
    free_blocks_.push_back(block);
    block = kNone;
  }
  free_datagrams_.push_back(index);
  --in_progress_;
}

void Reassembler::discard(uint32_t index, ReassemblyDrop reason) {
  release(index);
  ++counters_.discarded;
  ++counters_.drops[std::size_t(reason)];
}

ReassemblyResult Reassembler::dropped(ReassemblyDrop reason) {
  ++counters_.drops[std::size_t(reason)];
  return {ReassemblyStatus::Dropped, reason, {}, 0};
}

// Whether any 8-byte unit of payload [from, to) was received; `all` says whether every one
// was. Fragments start on 8-byte boundaries and only the last may end off one, so units
// overlap exactly when bytes do.
bool Reassembler::range_state(const Datagram& datagram, uint32_t from, uint32_t to,
                              bool& all) const {
  bool any = false;
  all = true;
  for (uint32_t unit = from / 8; unit < (to + 7) / 8; ++unit) {
    uint32_t block = datagram.blocks[unit / kUnitsPerBlock];
    uint32_t in_block = unit % kUnitsPerBlock;
    bool got = block != kNone &&
               (block_units_[block * kWordsPerBlock + in_block / 64] >> (in_block % 64) & 1) != 0;
    any = any || got;
    all = all && got;
  }
  return any;
}

bool Reassembler::bytes_equal(const Datagram& datagram, uint32_t from,
                              std::span<const uint8_t> bytes) const {
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t at = from + done;
    std::size_t in_block = at % kBlockSize;
    std::size_t n = std::min(kBlockSize - in_block, bytes.size() - done);
    uint32_t block = datagram.blocks[at / kBlockSize];
    if (block == kNone) return false;
    if (std::memcmp(&block_bytes_[block * kBlockSize + in_block], &bytes[done], n) != 0) {
      return false;
    }
    done += n;
  }
  return true;
}

std::size_t Reassembler::blocks_missing(const Datagram& datagram, uint32_t from,
                                        uint32_t to) const {
  std::size_t missing = 0;
  for (std::size_t block = from / kBlockSize; block < (to + kBlockSize - 1) / kBlockSize; ++block) {
    if (datagram.blocks[block] == kNone) ++missing;
  }
  return missing;
}

void Reassembler::store(Datagram& datagram, uint32_t from, std::span<const uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    std::size_t at = from + done;
    std::size_t in_block = at % kBlockSize;
    std::size_t n = std::min(kBlockSize - in_block, bytes.size() - done);
    uint32_t& block = datagram.blocks[at / kBlockSize];
    if (block == kNone) {
      block = free_blocks_.back();
      free_blocks_.pop_back();
      std::fill_n(&block_units_[block * kWordsPerBlock], kWordsPerBlock, uint64_t(0));
    }
    std::memcpy(&block_bytes_[block * kBlockSize + in_block], &bytes[done], n);
    for (std::size_t unit = in_block / 8; unit < (in_block + n + 7) / 8; ++unit) {
      block_units_[block * kWordsPerBlock + unit / 64] |= uint64_t(1) << (unit % 64);
    }
    done += n;
  }
}

ReassemblyResult Reassembler::add(std::span<const uint8_t> frame, const PacketView& packet,
                                  uint64_t now_ms) {
  if (!packet.is_fragment()) return dropped(ReassemblyDrop::NotFragment);
  if (!view_fits(frame, packet, kMaxStoredHeader)) return dropped(ReassemblyDrop::BadView);
  Piece piece;
  piece.key = {widened(packet.src), widened(packet.dst), packet.ip_id, packet.protocol, false};
  piece.offset = packet.fragment_offset;
  piece.end = piece.offset + uint32_t(packet.l4_len());
  // A fragment that is not the last carries whole 8-byte units; the kernel trims the rest.
  if (packet.more_fragments) piece.end &= ~uint32_t(7);
  piece.more = packet.more_fragments;
  piece.payload = frame.subspan(packet.l4, piece.end - piece.offset);
  piece.header = frame.first(packet.l4);
  piece.l3 = packet.l3;
  piece.size = uint16_t(packet.ip_header_len + (piece.end - piece.offset));
  piece.df = packet.dont_fragment;
  piece.ecn = packet.tos & kEcnMask;
  piece.max_end = kMaxIpLength - wire::ip::kMinHeaderLen;
  return add_piece(piece, now_ms);
}

ReassemblyResult Reassembler::add6(std::span<const uint8_t> frame, const Packet6& packet,
                                   uint64_t now_ms) {
  if (!packet.fragment) return dropped(ReassemblyDrop::NotFragment);
  // parse_ipv6 keeps every header inside the frame; a chain it refused is not taken.
  if (packet.other || packet.l3_end() > frame.size() || packet.l4_at > packet.l3_end() ||
      packet.l4_at > kMaxStoredHeader)
    return dropped(ReassemblyDrop::BadView);
  Piece piece;
  piece.key = {packet.src, packet.dst, packet.fragment_id, 0, true};
  piece.offset = packet.fragment_offset;
  piece.end = piece.offset + uint32_t(packet.upper_len());
  piece.more = packet.more_fragments;
  // nf_ct_frag6_queue: a fragment with M must end on an 8-byte unit; the queue is killed.
  if (piece.more && (piece.end & 7) != 0) {
    const uint32_t index = find(piece.key);
    if (index != kNone) discard(index, ReassemblyDrop::BadFragment);
    if (index == kNone) ++counters_.drops[std::size_t(ReassemblyDrop::BadFragment)];
    return {ReassemblyStatus::Dropped, ReassemblyDrop::BadFragment, {}, 0};
  }
  piece.payload = frame.subspan(packet.l4_at, piece.end - piece.offset);
  piece.header = frame.first(packet.l4_at);
  piece.l3 = uint16_t(kL3);
  piece.size = uint16_t(std::min<uint32_t>(kMaxIpLength, wire6::kHeaderLen + packet.payload_len));
  piece.ecn = uint8_t(load_be32(frame, kL3) >> 20) & kEcnMask;
  // nf_ct_frag6_queue refuses an end past IPV6_MAXPLEN; nf_ct_frag6_reasm a payload length
  // past it once the unfragmentable headers are added (finish()).
  piece.max_end = kMaxIpLength;
  piece.fragment_at = packet.fragment_at;
  piece.names_fragment_at = packet.names_fragment_at;
  return add_piece(piece, now_ms);
}

ReassemblyResult Reassembler::add_piece(const Piece& piece, uint64_t now_ms) {
  expire(now_ms);
  const uint32_t offset = piece.offset;
  const uint32_t end = piece.end;

  uint32_t index = find(piece.key);
  auto fail = [&](ReassemblyDrop reason) {
    if (index == kNone) return dropped(reason);
    discard(index, reason);
    return ReassemblyResult{ReassemblyStatus::Dropped, reason, {}, 0};
  };

  if (end == offset) return fail(ReassemblyDrop::BadFragment);
  if (end > piece.max_end) return fail(ReassemblyDrop::TooBig);

  if (index != kNone) {
    const Datagram& datagram = datagrams_[index];
    if (!piece.more) {
      // Bytes already beyond this end, or a second last fragment with another end.
      if (end < datagram.length || (datagram.last_in && end != datagram.length)) {
        return fail(ReassemblyDrop::BadFragment);
      }
    } else if (datagram.last_in && end > datagram.length) {
      return fail(ReassemblyDrop::BadFragment);
    }
    bool all = false;
    if (range_state(datagram, offset, end, all)) {
      if (!all) return fail(ReassemblyDrop::Overlap);
      if (!bytes_equal(datagram, offset, piece.payload)) {
        return dropped(ReassemblyDrop::ConflictingDuplicate);
      }
      ++counters_.duplicates;
      return {ReassemblyStatus::Kept, ReassemblyDrop::None, {}, 0};
    }
    if (blocks_missing(datagram, offset, end) > free_blocks_.size()) {
      return dropped(ReassemblyDrop::OutOfMemory);
    }
  } else {
    if (in_progress_ >= limits_.max_datagrams) return dropped(ReassemblyDrop::TooManyDatagrams);
    std::size_t needed = (end - 1) / kBlockSize - offset / kBlockSize + 1;
    if (needed > free_blocks_.size()) return dropped(ReassemblyDrop::OutOfMemory);
    index = create(piece.key, now_ms);
  }

  Datagram& datagram = datagrams_[index];
  datagram.v6 = piece.key.v6;
  if (!piece.more) datagram.last_in = true;
  datagram.length = std::max(datagram.length, end);
  store(datagram, offset, piece.payload);
  datagram.received += end - offset;
  datagram.ecn_seen |= uint8_t(1u << piece.ecn);
  datagram.largest = std::max(datagram.largest, piece.size);
  if (piece.df) datagram.largest_df = std::max(datagram.largest_df, piece.size);
  if (offset == 0) {
    datagram.first_in = true;
    datagram.l3 = uint8_t(piece.l3);
    datagram.header_len = uint8_t(piece.header.size());
    datagram.ip_header_len = uint8_t(piece.header.size() - piece.l3);
    datagram.fragment_at = uint8_t(piece.fragment_at);
    datagram.names_fragment_at = uint8_t(piece.names_fragment_at);
    datagram.first_len = uint16_t(end);
    std::copy(piece.header.begin(), piece.header.end(), datagram.header.begin());
  }
  ++counters_.fragments_kept;

  if (datagram.last_in && datagram.received == datagram.length) return finish(index);
  return {ReassemblyStatus::Kept, ReassemblyDrop::None, {}, 0};
}

ReassemblyResult Reassembler::finish(uint32_t index) {
  Datagram& datagram = datagrams_[index];
  // Every byte from 0 to length came, so the first fragment did too. IPv6 loses the fragment
  // header; the limit is on the payload length there (nf_ct_frag6_reasm), the total length
  // for IPv4.
  const uint32_t headers = datagram.ip_header_len - (datagram.v6 ? kFragmentHeaderLen : 0);
  const uint32_t ip_length = headers + datagram.length;
  if (ip_length - (datagram.v6 ? wire6::kHeaderLen : 0) > kMaxIpLength) {
    discard(index, ReassemblyDrop::TooBig);
    return {ReassemblyStatus::Dropped, ReassemblyDrop::TooBig, {}, 0};
  }
  // ip_frag_ecn_table, for both families: Not-ECT with anything else is invalid; CE with ECT
  // marks the whole CE.
  if ((datagram.ecn_seen & kEcnNotEct) != 0 && datagram.ecn_seen != kEcnNotEct) {
    discard(index, ReassemblyDrop::EcnMismatch);
    return {ReassemblyStatus::Dropped, ReassemblyDrop::EcnMismatch, {}, 0};
  }

  std::span<uint8_t> out =
      datagram.v6 ? finish_header6(datagram) : finish_header4(datagram, ip_length);
  std::size_t at = out.size();
  out = std::span<uint8_t>(output_.data(), at + datagram.length);
  for (uint32_t done = 0; done < datagram.length;) {
    uint32_t n = std::min<uint32_t>(kBlockSize, datagram.length - done);
    std::memcpy(&out[at + done], &block_bytes_[datagram.blocks[done / kBlockSize] * kBlockSize], n);
    done += n;
  }

  ReassemblyResult result{ReassemblyStatus::Complete, ReassemblyDrop::None, out, datagram.largest};
  release(index);
  ++counters_.completed;
  return result;
}

std::span<uint8_t> Reassembler::finish_header4(const Datagram& datagram, uint32_t ip_length) {
  std::span<uint8_t> out(output_.data(), datagram.header_len);
  std::copy_n(datagram.header.begin(), datagram.header_len, out.begin());
  std::span<uint8_t> ip = out.subspan(datagram.l3);
  store_be16(ip, wire::ip::kTotalLen, uint16_t(ip_length));
  // ip_frag_reasm sets DF only when the largest fragment carried it, so a DF datagram is never
  // forwarded larger than its sender's fragments.
  bool dont_fragment = datagram.largest_df != 0 && datagram.largest_df == datagram.largest;
  store_be16(ip, wire::ip::kFlagsFragment, dont_fragment ? wire::ip::kDontFragment : 0);
  if ((datagram.ecn_seen & kEcnCe) != 0) ip[wire::ip::kTos] |= kEcnMask;
  store_be16(ip, wire::ip::kChecksum, 0);
  store_be16(ip, wire::ip::kChecksum, ipv4_header_checksum(ip.first(datagram.ip_header_len)));
  return out;
}

std::span<uint8_t> Reassembler::finish_header6(const Datagram& datagram) {
  // nf_ct_frag6_reasm: the fragment header goes, the header that named it names what it named.
  const std::size_t fragment_at = datagram.fragment_at;
  const std::size_t after = fragment_at + kFragmentHeaderLen;
  std::span<uint8_t> out(output_.data(), datagram.header_len - kFragmentHeaderLen);
  std::copy_n(datagram.header.begin(), fragment_at, out.begin());
  std::copy(datagram.header.begin() + std::ptrdiff_t(after),
            datagram.header.begin() + datagram.header_len,
            out.begin() + std::ptrdiff_t(fragment_at));
  out[datagram.names_fragment_at] = datagram.header[fragment_at];
  const std::size_t payload = out.size() - kL3 - wire6::kHeaderLen + datagram.length;
  store_be16(out, kL3 + wire6::kPayloadLen, uint16_t(payload));
  if ((datagram.ecn_seen & kEcnCe) != 0) out[kL3 + 1] |= uint8_t(kEcnMask << 4);
  return out;
}

std::size_t Reassembler::expire(uint64_t now_ms) {
  std::size_t count = 0;
  while (oldest_ != kNone) {
    uint64_t created = datagrams_[oldest_].created_ms;
    if (now_ms < created || now_ms - created < limits_.timeout_ms) break;
    if (datagrams_[oldest_].first_in && on_expired_)
      on_expired_(first_fragment(datagrams_[oldest_]));
    release(oldest_);
    ++count;
  }
  counters_.expired += count;
  return count;
}

std::span<const uint8_t> Reassembler::first_fragment(const Datagram& datagram) {
  // The first fragment's own bytes are those from 0 up to its end: later fragments hold only
  // bytes past it (an overlap would have discarded the datagram).
  std::span<uint8_t> out(output_.data(), datagram.header_len + datagram.first_len);
  std::copy_n(datagram.header.begin(), datagram.header_len, out.begin());
  for (uint32_t done = 0; done < datagram.first_len;) {
    uint32_t n = std::min<uint32_t>(kBlockSize, datagram.first_len - done);
    std::memcpy(&out[datagram.header_len + done],
                &block_bytes_[datagram.blocks[done / kBlockSize] * kBlockSize], n);
    done += n;
  }
  // A first fragment whose payload was not whole 8-byte units was trimmed when stored.
  std::span<uint8_t> ip = out.subspan(datagram.l3);
  if (datagram.v6) {
    store_be16(ip, wire6::kPayloadLen,
               uint16_t(datagram.ip_header_len - wire6::kHeaderLen + datagram.first_len));
    return out;
  }
  store_be16(ip, wire::ip::kTotalLen, uint16_t(datagram.ip_header_len + datagram.first_len));
  store_be16(ip, wire::ip::kChecksum, 0);
  store_be16(ip, wire::ip::kChecksum, ipv4_header_checksum(ip.first(datagram.ip_header_len)));
  return out;
}

}  // namespace vsd::fwd
