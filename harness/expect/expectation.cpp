// expectation.cpp: edits of the expected libtins frame, masks, and the field-by-field
// comparison with its printed diff. Edits of a header the frame lacks throw: that is a
// broken test, not a device failing it.
#include "expect/expectation.h"

#include "frames/sctp.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <tins/tins.h>

namespace vslab::expect {

struct FrameExpectation::Mask {
  enum class Kind { Ignore, AnyOf, InRange, ExactText };
  Field field;
  Kind kind;
  std::vector<std::string> texts;  // AnyOf: the accepted texts; ExactText: the one text
  uint64_t lo = 0, hi = 0;         // InRange

  std::string expected_text() const {
    switch (kind) {
      case Kind::Ignore:
        return "(ignored)";
      case Kind::AnyOf:
        return fmt::format("any of {{{}}}", fmt::join(texts, ", "));
      case Kind::InRange:
        return fmt::format("in [{}, {}]", lo, hi);
      case Kind::ExactText:
        return texts.front();
    }
    return {};
  }

  bool accepts(const FieldValue* captured) const {
    switch (kind) {
      case Kind::Ignore:
        return true;
      case Kind::AnyOf:
        return captured && std::find(texts.begin(), texts.end(), captured->text) != texts.end();
      case Kind::InRange:
        return captured && captured->number && lo <= *captured->number && *captured->number <= hi;
      case Kind::ExactText:
        // A numeric field's number in decimal names it too: a value captured from another
        // frame (replay's $variables hold numbers) matches a field dissected as hex.
        return captured &&
               (captured->text == texts.front() ||
                (captured->number && std::to_string(*captured->number) == texts.front()));
    }
    return false;
  }
};

namespace {

using Tins::IP;

[[noreturn]] void throw_missing(std::string_view edit, std::string_view what) {
  throw std::logic_error(
      fmt::format("FrameExpectation::{}: the expected frame has no {}", edit, what));
}

template <typename Int>
Int checked_int(int value, std::string_view edit) {
  if (value < 0 || value > std::numeric_limits<Int>::max()) {
    throw std::out_of_range(fmt::format("FrameExpectation::{}: {} is outside 0..{}", edit, value,
                                        std::numeric_limits<Int>::max()));
  }
  return static_cast<Int>(value);
}

Tins::IPv4Address parse_ipv4(const std::string& text, std::string_view edit) {
  try {
    return Tins::IPv4Address(text);
  } catch (const Tins::invalid_address&) {
    throw std::invalid_argument(
        fmt::format("FrameExpectation::{}: \"{}\" is not an IPv4 address", edit, text));
  }
}

// libtins reads "aa:bb:cc:dd:ee:ff:00" as a MAC by dropping the tail; only the canonical
// form is taken, so a typo cannot pass unnoticed.
Tins::EthernetII::address_type parse_mac(const std::string& text, std::string_view edit) {
  auto reject = [&] {
    return std::invalid_argument(fmt::format(
        "FrameExpectation::{}: \"{}\" is not a MAC like 02:00:00:00:00:01", edit, text));
  };
  Tins::EthernetII::address_type mac;
  try {
    mac = Tins::EthernetII::address_type(text);
  } catch (const Tins::invalid_address&) {
    throw reject();
  }
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (mac.to_string() != lower) throw reject();
  return mac;
}

Tins::EthernetII& ethernet(Tins::PDU& frame, std::string_view edit) {
  auto* eth = frame.find_pdu<Tins::EthernetII>();
  if (!eth) throw_missing(edit, "Ethernet II header");
  return *eth;
}

IP& outer_ip(Tins::PDU& frame, std::string_view edit) {
  auto* ip = frame.find_pdu<IP>();
  if (!ip) throw_missing(edit, "IPv4 header");
  return *ip;
}

// The frame's outer IPv6 header when its network layer is IPv6 (not IPv4 carrying IPv6).
Tins::IPv6* outer_ipv6(Tins::PDU& frame) {
  auto* eth = frame.find_pdu<Tins::EthernetII>();
  Tins::PDU* network = eth ? eth->inner_pdu() : frame.inner_pdu();
  return dynamic_cast<Tins::IPv6*>(network);
}

Tins::IPv6Address parse_ipv6(const std::string& text, std::string_view edit) {
  try {
    return Tins::IPv6Address(text);
  } catch (const Tins::invalid_address&) {
    throw std::invalid_argument(
        fmt::format("FrameExpectation::{}: \"{}\" is not an IPv6 address", edit, text));
  }
}

// Only an IPv4 header directly inside the outer one is IPIP; one further down (quoted in
// an ICMP error, say) is not.
IP* ipip_inner(IP& outer) {
  return dynamic_cast<IP*>(outer.inner_pdu());
}

IP& inner_ip(Tins::PDU& frame, std::string_view edit) {
  IP* inner = ipip_inner(outer_ip(frame, edit));
  if (!inner) throw_missing(edit, "inner IPv4 header (it is not IPIP)");
  return *inner;
}

// The port edits act on the TCP or UDP header the dissector reports as l4.sport/l4.dport.
void set_port(Tins::PDU& frame, std::string_view edit, bool is_source, int port) {
  Tins::PDU* l4 = nullptr;
  if (Tins::IPv6* ip6 = outer_ipv6(frame)) {
    Tins::PDU* inner = ip6->inner_pdu();
    bool is_tunnel = dynamic_cast<Tins::IPv6*>(inner) || dynamic_cast<IP*>(inner);
    l4 = is_tunnel ? inner->inner_pdu() : inner;
  } else {
    IP& outer = outer_ip(frame, edit);
    IP* inner = ipip_inner(outer);
    l4 = (inner ? inner : &outer)->inner_pdu();
  }
  uint16_t value = checked_int<uint16_t>(port, edit);
  if (auto* tcp = dynamic_cast<Tins::TCP*>(l4)) {
    is_source ? tcp->sport(value) : tcp->dport(value);
  } else if (auto* udp = dynamic_cast<Tins::UDP*>(l4)) {
    is_source ? udp->sport(value) : udp->dport(value);
  } else if (auto* raw = dynamic_cast<Tins::RawPDU*>(l4);
             raw && l4->parent_pdu() && dynamic_cast<IP*>(l4->parent_pdu()) &&
             static_cast<IP*>(l4->parent_pdu())->protocol() == frames::kProtoSctp &&
             raw->payload().size() >= 12) {
    // SCTP (frames/sctp.h): a changed port comes with a CRC32c computed again, as a director
    // that rewrites one must send it (docs/ipvs.md, "SCTP services").
    auto& bytes = raw->payload();
    const std::size_t at = is_source ? 0 : 2;
    bytes[at] = uint8_t(value >> 8);
    bytes[at + 1] = uint8_t(value);
    const uint32_t crc = frames::sctp_checksum_of(bytes);
    for (int i = 0; i < 4; ++i) bytes[8 + i] = uint8_t(crc >> (8 * i));
  } else {
    throw_missing(edit, "TCP, UDP or SCTP header under its innermost IP header");
  }
}

// Rows are keyed by name rather than Field: tcp.sport and udp.sport share Field::SrcPort
// but are different fields, and a TCP frame against a UDP one must show both.
struct RowKey {
  Field field;
  std::string name;
};

std::vector<RowKey> row_keys(const std::vector<FieldEntry>& expected,
                             const std::vector<FieldEntry>& captured) {
  std::vector<RowKey> keys;
  auto add_new = [&keys](const FieldEntry& e) {
    bool is_known =
        std::any_of(keys.begin(), keys.end(), [&e](const RowKey& k) { return k.name == e.name; });
    if (!is_known) keys.push_back({e.field, e.name});
  };
  for (const FieldEntry& e : expected) add_new(e);
  for (const FieldEntry& e : captured) add_new(e);
  // Both lists are in Field order already; this interleaves them.
  std::stable_sort(keys.begin(), keys.end(),
                   [](const RowKey& a, const RowKey& b) { return a.field < b.field; });
  return keys;
}

const FieldValue* find_value(const std::vector<FieldEntry>& entries, const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&name](const FieldEntry& e) { return e.name == name; });
  return it == entries.end() ? nullptr : &it->value;
}

std::string text_or_absent(const FieldValue* value) {
  return value ? value->text : "-";
}

}  // namespace

FrameExpectation::FrameExpectation(const Tins::PDU& frame) : frame_(frame.clone()) {}
FrameExpectation::FrameExpectation(const FrameExpectation& other)
    : frame_(other.frame_->clone()), masks_(other.masks_) {}
FrameExpectation& FrameExpectation::operator=(const FrameExpectation& other) {
  if (this != &other) {
    frame_.reset(other.frame_->clone());
    masks_ = other.masks_;
  }
  return *this;
}
FrameExpectation::FrameExpectation(FrameExpectation&&) noexcept = default;
FrameExpectation& FrameExpectation::operator=(FrameExpectation&&) noexcept = default;
FrameExpectation::~FrameExpectation() = default;

FrameExpectation& FrameExpectation::eth_dst(const std::string& mac) {
  ethernet(*frame_, "eth_dst").dst_addr(parse_mac(mac, "eth_dst"));
  return *this;
}
FrameExpectation& FrameExpectation::eth_src(const std::string& mac) {
  ethernet(*frame_, "eth_src").src_addr(parse_mac(mac, "eth_src"));
  return *this;
}
FrameExpectation& FrameExpectation::ip_src(const std::string& addr) {
  if (Tins::IPv6* ip6 = outer_ipv6(*frame_))
    ip6->src_addr(parse_ipv6(addr, "ip_src"));
  else
    outer_ip(*frame_, "ip_src").src_addr(parse_ipv4(addr, "ip_src"));
  return *this;
}
FrameExpectation& FrameExpectation::ip_dst(const std::string& addr) {
  if (Tins::IPv6* ip6 = outer_ipv6(*frame_))
    ip6->dst_addr(parse_ipv6(addr, "ip_dst"));
  else
    outer_ip(*frame_, "ip_dst").dst_addr(parse_ipv4(addr, "ip_dst"));
  return *this;
}
FrameExpectation& FrameExpectation::ttl(int ttl) {
  if (Tins::IPv6* ip6 = outer_ipv6(*frame_))
    ip6->hop_limit(checked_int<uint8_t>(ttl, "ttl"));
  else
    outer_ip(*frame_, "ttl").ttl(checked_int<uint8_t>(ttl, "ttl"));
  return *this;
}
int FrameExpectation::ttl() const {
  if (Tins::IPv6* ip6 = outer_ipv6(*frame_)) return ip6->hop_limit();
  return outer_ip(*frame_, "ttl").ttl();
}
FrameExpectation& FrameExpectation::tos(int tos) {
  if (Tins::IPv6* ip6 = outer_ipv6(*frame_))
    ip6->traffic_class(checked_int<uint8_t>(tos, "tos"));
  else
    outer_ip(*frame_, "tos").tos(checked_int<uint8_t>(tos, "tos"));
  return *this;
}
FrameExpectation& FrameExpectation::df(bool df) {
  IP& ip = outer_ip(*frame_, "df");
  int flags = ip.flags();
  flags = df ? flags | IP::DONT_FRAGMENT : flags & ~IP::DONT_FRAGMENT;
  ip.flags(static_cast<IP::Flags>(flags));
  return *this;
}
FrameExpectation& FrameExpectation::ip_id(int id) {
  outer_ip(*frame_, "ip_id").id(checked_int<uint16_t>(id, "ip_id"));
  return *this;
}
FrameExpectation& FrameExpectation::sport(int port) {
  set_port(*frame_, "sport", /*is_source=*/true, port);
  return *this;
}
FrameExpectation& FrameExpectation::dport(int port) {
  set_port(*frame_, "dport", /*is_source=*/false, port);
  return *this;
}
FrameExpectation& FrameExpectation::inner_ip_src(const std::string& addr) {
  inner_ip(*frame_, "inner_ip_src").src_addr(parse_ipv4(addr, "inner_ip_src"));
  return *this;
}
FrameExpectation& FrameExpectation::inner_ip_dst(const std::string& addr) {
  inner_ip(*frame_, "inner_ip_dst").dst_addr(parse_ipv4(addr, "inner_ip_dst"));
  return *this;
}
FrameExpectation& FrameExpectation::inner_ttl(int ttl) {
  inner_ip(*frame_, "inner_ttl").ttl(checked_int<uint8_t>(ttl, "inner_ttl"));
  return *this;
}

FrameExpectation& FrameExpectation::ignore(Field f) {
  masks_.push_back({f, Mask::Kind::Ignore, {}});
  return *this;
}
FrameExpectation& FrameExpectation::any_of(Field f, std::vector<std::string> texts) {
  if (texts.empty()) throw std::invalid_argument("FrameExpectation::any_of: no texts to accept");
  masks_.push_back({f, Mask::Kind::AnyOf, std::move(texts)});
  return *this;
}
FrameExpectation& FrameExpectation::in_range(Field f, uint64_t lo, uint64_t hi) {
  if (lo > hi) {
    throw std::invalid_argument(
        fmt::format("FrameExpectation::in_range: [{}, {}] is empty", lo, hi));
  }
  masks_.push_back({f, Mask::Kind::InRange, {}, lo, hi});
  return *this;
}
FrameExpectation& FrameExpectation::expect_text(Field f, std::string text) {
  masks_.push_back({f, Mask::Kind::ExactText, {std::move(text)}});
  return *this;
}

std::vector<FrameExpectation::MaskSpec> FrameExpectation::mask_specs() const {
  std::vector<MaskSpec> out;
  for (const auto& m : masks_)
    out.push_back({m.field, static_cast<MaskSpec::Kind>(m.kind), m.texts, m.lo, m.hi});
  return out;
}

std::vector<uint8_t> FrameExpectation::bytes() const {
  // PDU::serialize() is not const in libtins 4.0: it fills in lengths and checksums.
  std::unique_ptr<Tins::PDU> copy(frame_->clone());
  return copy->serialize();
}

Comparison FrameExpectation::compare(std::span<const uint8_t> captured) const {
  std::vector<uint8_t> expected_bytes = bytes();
  std::vector<FieldEntry> expected = dissect(expected_bytes);
  std::vector<FieldEntry> got = dissect(captured);

  // The last mask set on a field wins.
  std::map<Field, const Mask*> mask_of;
  for (const Mask& m : masks_) mask_of[m.field] = &m;

  Comparison result;
  std::vector<RowKey> keys = row_keys(expected, got);
  for (const RowKey& key : keys) {
    const FieldValue* want = find_value(expected, key.name);
    const FieldValue* seen = find_value(got, key.name);
    FieldCheck row{key.name, text_or_absent(want), text_or_absent(seen)};
    if (auto it = mask_of.find(key.field); it != mask_of.end()) {
      row.expected = it->second->expected_text();
      row.ok = it->second->accepts(seen);
    } else {
      row.ok = want && seen && want->text == seen->text;
    }
    result.rows.push_back(std::move(row));
  }
  // A mask that asserts something about a field neither frame has must not pass silently.
  for (const auto& [field, mask] : mask_of) {
    bool has_row = std::any_of(keys.begin(), keys.end(),
                               [field = field](const RowKey& k) { return k.field == field; });
    if (has_row || mask->kind == Mask::Kind::Ignore) continue;
    result.rows.push_back({field_name(field), mask->expected_text(), "-", false});
  }
  return result;
}

std::size_t Comparison::mismatches() const {
  return std::count_if(rows.begin(), rows.end(), [](const FieldCheck& r) { return !r.ok; });
}

namespace {

constexpr std::size_t kNameWidth = 17;
constexpr std::size_t kExpectedWidth = 34;
constexpr std::size_t kPayloadBytesShown = 64;
constexpr std::size_t kTextShown = 160;

// "N bytes: <hex>" as written by dissect(); splits off the hex.
std::optional<std::pair<std::string, std::string>> split_payload(const std::string& text) {
  auto colon = text.find(": ");
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{text.substr(0, colon), text.substr(colon + 2)};
}

std::size_t first_difference(const std::string& a, const std::string& b) {
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<std::size_t>(ia - a.begin());
}

// Shows 64 bytes of a payload: from the start, or for payloads that differ only further
// on, from the 16-byte line holding the first difference.
std::string shorten_payload(const std::string& text, const std::string& other) {
  auto parts = split_payload(text);
  if (!parts || parts->second.size() <= kPayloadBytesShown * 2) return text;
  const auto& [length, hex] = *parts;
  std::size_t start_byte = 0;
  if (auto other_parts = split_payload(other)) {
    std::size_t differing_byte = first_difference(hex, other_parts->second) / 2;
    if (differing_byte >= kPayloadBytesShown && differing_byte < hex.size() / 2) {
      start_byte = differing_byte / 16 * 16;
    }
  }
  std::string shown = hex.substr(start_byte * 2, kPayloadBytesShown * 2);
  bool is_cut = start_byte * 2 + shown.size() < hex.size();
  std::string from = start_byte ? fmt::format(", from byte {}", start_byte) : "";
  return fmt::format("{}{}: {}{}", length, from, shown, is_cut ? "..." : "");
}

std::string shorten(const FieldCheck& row, const std::string& text, const std::string& other) {
  if (row.name == "payload") return shorten_payload(text, other);
  if (text.size() <= kTextShown) return text;
  return text.substr(0, kTextShown) + "...";
}

}  // namespace

std::string Comparison::diff() const {
  std::string out = fmt::format("  {:<{}}{:<{}}{}\n", "field", kNameWidth, "expected",
                                kExpectedWidth, "captured");
  for (const FieldCheck& row : rows) {
    std::string expected = shorten(row, row.expected, row.captured);
    std::string captured = shorten(row, row.captured, row.expected);
    out += fmt::format("{}{:<{}}", row.ok ? "  " : "! ", row.name + " ", kNameWidth);
    if (expected.size() < kExpectedWidth) {
      out += fmt::format("{:<{}}{}\n", expected, kExpectedWidth, captured);
    } else {
      // Too wide for its column: the captured value goes under the captured heading.
      out += fmt::format("{}\n{:<{}}{}\n", expected, "", 2 + kNameWidth + kExpectedWidth, captured);
    }
  }
  out += fmt::format("{} of {} fields differ\n", mismatches(), rows.size());
  return out;
}

}  // namespace vslab::expect
