// The sync message codec (message.h). Decoding follows ip_vs_process_message and
// ip_vs_proc_sync_conn check by check, so that vsd drops what a kernel backup drops.
#include "sync/message.h"

#include <cstring>
#include <stdexcept>

namespace vsd::sync {

namespace {

uint16_t get16(std::span<const uint8_t> b, std::size_t at) {
  return uint16_t(b[at] << 8 | b[at + 1]);
}

uint32_t get32(std::span<const uint8_t> b, std::size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

void put16(std::vector<uint8_t>& b, std::size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}

void put32(std::vector<uint8_t>& b, std::size_t at, uint32_t v) {
  b[at] = uint8_t(v >> 24);
  b[at + 1] = uint8_t(v >> 16);
  b[at + 2] = uint8_t(v >> 8);
  b[at + 3] = uint8_t(v);
}

std::size_t fixed_size(bool ipv6) {
  return ipv6 ? kEntryV6Size : kEntryV4Size;
}

void check_encodable(const SyncConn& c) {
  if (c.pe_data.size() > kPeDataMax)
    throw std::invalid_argument("sync: persistence-engine data over 255 bytes");
  if (c.pe_name.size() > kPeNameMax)
    throw std::invalid_argument("sync: persistence-engine name over 16 bytes");
  if (!c.pe_name.empty() && c.pe_data.empty())
    throw std::invalid_argument("sync: a persistence-engine name travels only with its data");
  if (c.wire_size() > kEntrySizeMax) throw std::invalid_argument("sync: entry over 4095 bytes");
}

// Writes the entry at `at`; the caller made room for wire_size() bytes.
void write_entry(std::vector<uint8_t>& b, std::size_t at, const SyncConn& c) {
  b[at] = c.ipv6 ? 1 : 0;
  b[at + 1] = c.protocol;
  put16(b, at + 2, uint16_t(c.wire_size() & kEntrySizeMax));  // version 0 in the top bits
  put32(b, at + 4, c.flags);
  put16(b, at + 8, c.state);
  put16(b, at + 10, c.cport);
  put16(b, at + 12, c.vport);
  put16(b, at + 14, c.dport);
  put32(b, at + 16, c.fwmark);
  put32(b, at + 20, c.timeout_s);
  const std::size_t alen = c.ipv6 ? 16 : 4;
  std::memcpy(&b[at + 24], c.caddr.bytes.data(), alen);
  std::memcpy(&b[at + 24 + alen], c.vaddr.bytes.data(), alen);
  std::memcpy(&b[at + 24 + 2 * alen], c.daddr.bytes.data(), alen);
  std::size_t p = at + fixed_size(c.ipv6);
  if (c.seq) {
    b[p++] = kOptSeqData;
    b[p++] = uint8_t(kSeqOptionSize);
    for (const SeqAdjust* s : {&c.seq->in, &c.seq->out}) {
      put32(b, p, s->init_seq);
      put32(b, p + 4, s->delta);
      put32(b, p + 8, s->previous_delta);
      p += 12;
    }
  }
  if (!c.pe_data.empty()) {
    b[p++] = kOptPeData;
    b[p++] = uint8_t(c.pe_data.size());
    std::memcpy(&b[p], c.pe_data.data(), c.pe_data.size());
    p += c.pe_data.size();
    if (!c.pe_name.empty()) {
      b[p++] = kOptPeName;
      b[p++] = uint8_t(c.pe_name.size());
      std::memcpy(&b[p], c.pe_name.data(), c.pe_name.size());
    }
  }
}

Address read_address(std::span<const uint8_t> b, std::size_t at, bool ipv6) {
  Address a;
  std::memcpy(a.bytes.data(), &b[at], ipv6 ? 16 : 4);
  return a;
}

// The outcome of one entry, as ip_vs_proc_sync_conn's return: decoded, skipped (a positive
// code: the kernel goes on with the next entry) or fatal (negative: the rest is dropped).
struct EntryResult {
  enum Kind { Decoded, Skipped, Fatal } kind = Decoded;
  std::string reason;
};

// type: the entry's first byte, read from the datagram (an entry may claim a size of 0).
EntryResult decode_entry(uint8_t type, std::span<const uint8_t> entry, SyncConn& out) {
  if (type & 1)
    out.ipv6 = true;
  else if (type != 0)
    return {EntryResult::Fatal, "unknown entry type " + std::to_string(type)};
  const std::size_t fixed = fixed_size(out.ipv6);
  if (entry.size() < fixed)
    return {EntryResult::Fatal, "entry size " + std::to_string(entry.size()) + " below " +
                                    std::to_string(fixed) + " bytes"};
  out.protocol = entry[1];
  out.flags = get32(entry, 4);
  out.state = get16(entry, 8);
  out.cport = get16(entry, 10);
  out.vport = get16(entry, 12);
  out.dport = get16(entry, 14);
  out.fwmark = get32(entry, 16);
  out.timeout_s = get32(entry, 20);
  const std::size_t alen = out.ipv6 ? 16 : 4;
  out.caddr = read_address(entry, 24, out.ipv6);
  out.vaddr = read_address(entry, 24 + alen, out.ipv6);
  out.daddr = read_address(entry, 24 + 2 * alen, out.ipv6);

  bool have_pe_data = false, have_pe_name = false;
  std::size_t p = fixed;
  while (p < entry.size()) {
    if (p + 2 > entry.size()) return {EntryResult::Fatal, "option header past the entry"};
    const uint8_t ptype = entry[p];
    const uint8_t plen = entry[p + 1];
    p += 2;
    if (plen == 0 || p + plen > entry.size())
      return {EntryResult::Fatal, "option " + std::to_string(ptype) + " of length " +
                                      std::to_string(plen) + " past the entry"};
    const auto data = entry.subspan(p, plen);
    switch (ptype & ~kOptOptionalBit) {
      case kOptSeqData:
        if (plen != kSeqOptionSize) return {EntryResult::Fatal, "sequence option not 24 bytes"};
        if (out.seq) return {EntryResult::Fatal, "sequence option twice"};
        out.seq = SeqOption{{get32(data, 0), get32(data, 4), get32(data, 8)},
                            {get32(data, 12), get32(data, 16), get32(data, 20)}};
        break;
      case kOptPeData:
        if (have_pe_data) return {EntryResult::Fatal, "persistence-engine data twice"};
        have_pe_data = true;
        out.pe_data.assign(data.begin(), data.end());
        break;
      case kOptPeName:
        if (plen > kPeNameMax) return {EntryResult::Fatal, "persistence-engine name over 16 bytes"};
        if (have_pe_name) return {EntryResult::Fatal, "persistence-engine name twice"};
        have_pe_name = true;
        out.pe_name.assign(data.begin(), data.end());
        break;
      default:
        if (!(ptype & kOptOptionalBit))
          return {EntryResult::Skipped,
                  "unknown mandatory option " + std::to_string(ptype & ~kOptOptionalBit)};
    }
    p += plen;
  }
  if (!out.pe_data.empty() && out.pe_name.empty())
    return {EntryResult::Skipped, "persistence-engine data without its name"};
  return {};
}

}  // namespace

Address Address::v4(Ipv4 a) {
  Address out;
  out.bytes[0] = uint8_t(a.value >> 24);
  out.bytes[1] = uint8_t(a.value >> 16);
  out.bytes[2] = uint8_t(a.value >> 8);
  out.bytes[3] = uint8_t(a.value);
  return out;
}

Ipv4 Address::as_v4() const {
  return Ipv4::from_octets(bytes[0], bytes[1], bytes[2], bytes[3]);
}

std::size_t SyncConn::wire_size() const {
  std::size_t n = fixed_size(ipv6);
  if (seq) n += 2 + kSeqOptionSize;
  if (!pe_data.empty()) {
    n += 2 + pe_data.size();
    if (!pe_name.empty()) n += 2 + pe_name.size();
  }
  return n;
}

MessageBuilder::MessageBuilder(uint8_t syncid, std::size_t maxlen, uint8_t version)
    : syncid_(syncid), maxlen_(maxlen), version_(version) {
  clear();
}

void MessageBuilder::clear() {
  count_ = 0;
  if (version_ == 0) {
    bytes_.assign(kHeaderV0Size, 0);
    bytes_[1] = syncid_;
    put16(bytes_, 2, uint16_t(kHeaderV0Size));
    return;
  }
  bytes_.assign(kHeaderSize, 0);
  bytes_[1] = syncid_;
  put16(bytes_, 2, uint16_t(kHeaderSize));
  bytes_[5] = kProtocolVersion;
}

bool MessageBuilder::full() const {
  return version_ == 0 && bytes_.size() + kEntryV0FullSize > maxlen_;
}

bool MessageBuilder::add(const SyncConn& conn) {
  if (version_ == 0) return add_v0(conn);
  check_encodable(conn);
  const std::size_t len = conn.wire_size();
  const std::size_t pad = (4 - bytes_.size()) & 3;
  if (count_ == 255) return false;
  if (count_ > 0 && bytes_.size() + pad + len > maxlen_) return false;
  const std::size_t at = bytes_.size() + pad;
  bytes_.resize(at + len, 0);
  write_entry(bytes_, at, conn);
  ++count_;
  put16(bytes_, 2, uint16_t(bytes_.size()));
  bytes_[4] = uint8_t(count_);
  return true;
}

bool MessageBuilder::add_v0(const SyncConn& c) {
  if (c.ipv6) throw std::invalid_argument("sync: version 0 has no IPv6 entry");
  const bool with_seq = c.flags & conn_flag::kSeqMask;
  const std::size_t len = with_seq ? kEntryV0FullSize : kEntryV0Size;
  if (count_ == 255 || full()) return false;
  const std::size_t at = bytes_.size();
  bytes_.resize(at + len, 0);
  bytes_[at + 1] = c.protocol;
  put16(bytes_, at + 2, c.cport);
  put16(bytes_, at + 4, c.vport);
  put16(bytes_, at + 6, c.dport);
  std::memcpy(&bytes_[at + 8], c.caddr.bytes.data(), 4);
  std::memcpy(&bytes_[at + 12], c.vaddr.bytes.data(), 4);
  std::memcpy(&bytes_[at + 16], c.daddr.bytes.data(), 4);
  put16(bytes_, at + 20, uint16_t(c.flags & ~conn_flag::kHashed));
  put16(bytes_, at + 22, c.state);
  if (with_seq) {
    // Copied from the conn as it is (memcpy of in_seq, out_seq): host order, not network.
    const SeqOption seq = c.seq.value_or(SeqOption{});
    std::size_t p = at + kEntryV0Size;
    for (const SeqAdjust* a : {&seq.in, &seq.out})
      for (uint32_t v : {a->init_seq, a->delta, a->previous_delta}) {
        std::memcpy(&bytes_[p], &v, 4);
        p += 4;
      }
  }
  ++count_;
  bytes_[0] = uint8_t(count_);
  put16(bytes_, 2, uint16_t(bytes_.size()));
  return true;
}

std::vector<uint8_t> encode_message(uint8_t syncid, std::span<const SyncConn> conns) {
  if (conns.size() > 255) throw std::invalid_argument("sync: more than 255 entries");
  MessageBuilder b(syncid, 0xffff);
  for (const auto& c : conns)
    if (!b.add(c)) throw std::invalid_argument("sync: message over 65535 bytes");
  return {b.bytes().begin(), b.bytes().end()};
}

std::string_view verdict_name(MessageVerdict v) {
  switch (v) {
    case MessageVerdict::Accepted:
      return "accepted";
    case MessageVerdict::TooShort:
      return "message header too short";
    case MessageVerdict::BadSize:
      return "bogus message size";
    case MessageVerdict::OtherSyncId:
      return "other syncid";
    case MessageVerdict::Version0:
      return "version 0 message";
  }
  return "?";
}

DecodedMessage decode_message(std::span<const uint8_t> d, uint8_t syncid_filter) {
  DecodedMessage out;
  if (d.size() < 4) return out;  // TooShort
  out.syncid = d[1];
  if (get16(d, 2) != d.size()) {
    out.verdict = MessageVerdict::BadSize;
    return out;
  }
  if (syncid_filter != 0 && out.syncid != syncid_filter) {
    out.verdict = MessageVerdict::OtherSyncId;
    return out;
  }
  if (d.size() < kHeaderSize || d[5] != kProtocolVersion || d[0] != 0 || d[6] != 0 || d[7] != 0) {
    out.verdict = MessageVerdict::Version0;
    return out;
  }
  out.verdict = MessageVerdict::Accepted;
  out.nr_conns = d[4];
  std::size_t next = kHeaderSize;
  for (std::size_t i = 0; i < out.nr_conns; ++i) {
    const std::size_t p = next;
    if (p + kEntryV4Size > d.size()) {
      out.dropped_rest = "entry " + std::to_string(i) + " past the datagram";
      return out;
    }
    const uint16_t ver_size = get16(d, p + 2);
    const std::size_t size = ver_size & kEntrySizeMax;
    if (p + size > d.size()) {
      out.dropped_rest =
          "entry " + std::to_string(i) + " of " + std::to_string(size) + " bytes past the datagram";
      return out;
    }
    if (ver_size >> 12) {
      out.dropped_rest =
          "entry " + std::to_string(i) + " of unknown version " + std::to_string(ver_size >> 12);
      return out;
    }
    SyncConn conn;
    const auto r = decode_entry(d[p], d.subspan(p, size), conn);
    if (r.kind == EntryResult::Fatal) {
      out.dropped_rest = "entry " + std::to_string(i) + ": " + r.reason;
      return out;
    }
    if (r.kind == EntryResult::Skipped)
      out.skipped.push_back({i, r.reason});
    else
      out.conns.push_back(std::move(conn));
    next = p + ((size + 3) & ~std::size_t(3));
  }
  return out;
}

}  // namespace vsd::sync
