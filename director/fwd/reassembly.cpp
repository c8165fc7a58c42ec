// Reassembler: the datagram table (hash chains + an age list, both over preallocated slots)
// and the payload block pool. Rules follow ip_fragment.c ip_frag_queue / ip_frag_reasm.
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

// ECN codepoints as bits, so a datagram remembers which it has seen (ip_fragment.c
// ip4_frag_ecn: IPFRAG_ECN_NOT_ECT, _ECT_1, _ECT_0, _CE).
constexpr uint8_t kEcnNotEct = 1;
constexpr uint8_t kEcnCe = 8;
constexpr uint8_t kEcnMask = 0x03;

uint8_t ecn_bit(uint8_t tos) {
  return uint8_t(1u << (tos & kEcnMask));
}

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
  uint64_t h = (uint64_t(key.src.value) << 32 | key.dst.value) ^ seed_;
  h ^= uint64_t(key.id) << 8 ^ key.protocol;
  h *= 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
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
  expire(now_ms);

  uint32_t offset = packet.fragment_offset;
  uint32_t end = offset + uint32_t(packet.l4_len());
  // A fragment that is not the last carries whole 8-byte units; the kernel trims the rest.
  if (packet.more_fragments) end &= ~uint32_t(7);

  Key key{packet.src, packet.dst, packet.protocol, packet.ip_id};
  uint32_t index = find(key);
  auto fail = [&](ReassemblyDrop reason) {
    if (index == kNone) return dropped(reason);
    discard(index, reason);
    return ReassemblyResult{ReassemblyStatus::Dropped, reason, {}, 0};
  };

  if (end == offset) return fail(ReassemblyDrop::BadFragment);
  if (wire::ip::kMinHeaderLen + end > kMaxIpLength) return fail(ReassemblyDrop::TooBig);

  if (index != kNone) {
    const Datagram& datagram = datagrams_[index];
    if (!packet.more_fragments) {
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
      if (!bytes_equal(datagram, offset, frame.subspan(packet.l4, end - offset))) {
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
    index = create(key, now_ms);
  }

  Datagram& datagram = datagrams_[index];
  if (!packet.more_fragments) datagram.last_in = true;
  datagram.length = std::max(datagram.length, end);
  store(datagram, offset, frame.subspan(packet.l4, end - offset));
  datagram.received += end - offset;
  datagram.ecn_seen |= ecn_bit(packet.tos);
  auto size = uint16_t(packet.ip_header_len + (end - offset));
  datagram.largest = std::max(datagram.largest, size);
  if (packet.dont_fragment) datagram.largest_df = std::max(datagram.largest_df, size);
  if (offset == 0) {
    datagram.first_in = true;
    datagram.l3 = uint8_t(packet.l3);
    datagram.ip_header_len = packet.ip_header_len;
    datagram.header_len = uint8_t(packet.l4);
    datagram.first_len = uint16_t(end);
    std::copy_n(frame.begin(), packet.l4, datagram.header.begin());
  }
  ++counters_.fragments_kept;

  if (datagram.last_in && datagram.received == datagram.length) return finish(index);
  return {ReassemblyStatus::Kept, ReassemblyDrop::None, {}, 0};
}

ReassemblyResult Reassembler::finish(uint32_t index) {
  Datagram& datagram = datagrams_[index];
  // Every byte from 0 to length came, so the first fragment did too.
  uint32_t ip_length = datagram.ip_header_len + datagram.length;
  if (ip_length > kMaxIpLength) {
    discard(index, ReassemblyDrop::TooBig);
    return {ReassemblyStatus::Dropped, ReassemblyDrop::TooBig, {}, 0};
  }
  // ip_frag_ecn_table: Not-ECT with anything else is invalid; CE with ECT marks the whole CE.
  if ((datagram.ecn_seen & kEcnNotEct) != 0 && datagram.ecn_seen != kEcnNotEct) {
    discard(index, ReassemblyDrop::EcnMismatch);
    return {ReassemblyStatus::Dropped, ReassemblyDrop::EcnMismatch, {}, 0};
  }

  std::span<uint8_t> out(output_.data(), datagram.l3 + ip_length);
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

  std::size_t at = datagram.header_len;
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
  store_be16(ip, wire::ip::kTotalLen, uint16_t(datagram.ip_header_len + datagram.first_len));
  store_be16(ip, wire::ip::kChecksum, 0);
  store_be16(ip, wire::ip::kChecksum, ipv4_header_checksum(ip.first(datagram.ip_header_len)));
  return out;
}

}  // namespace vsd::fwd
