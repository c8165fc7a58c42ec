// An expected frame: a libtins frame (usually the injected one, edited the way the spec says
// the device rewrites it) plus masks for fields the check does not pin down exactly.
// Compared field by field against a captured frame, with a readable diff.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <tins/pdu.h>

#include "expect/fields.h"

namespace vslab::expect {

struct FieldCheck {
  std::string name;      // "ip.ttl"
  std::string expected;  // "63", "(ignored)", "any of {a, b}", "in [1024, 65535]", "-" = absent
  std::string captured;  // "-" when the captured frame lacks the field
  bool ok = true;
};

struct Comparison {
  std::vector<FieldCheck> rows;  // every field of either frame, in wire order
  std::size_t mismatches() const;
  bool ok() const { return mismatches() == 0; }
  // Table: a line per field, "!" in front of mismatches; header "field expected captured".
  std::string diff() const;
};

class FrameExpectation {
 public:
  // Copies the frame; checksums are recomputed when it is serialised, so expected checksums
  // are "valid" unless a test says otherwise.
  explicit FrameExpectation(const Tins::PDU& frame);
  FrameExpectation(const FrameExpectation& other);
  FrameExpectation& operator=(const FrameExpectation& other);
  FrameExpectation(FrameExpectation&&) noexcept;
  FrameExpectation& operator=(FrameExpectation&&) noexcept;
  ~FrameExpectation();

  // Edits of the expected frame (outer headers). On an IPv6 frame ip_src and ip_dst take IPv6
  // text, ttl() sets the hop limit and tos() the traffic class; df() and ip_id() are IPv4's.
  FrameExpectation& eth_dst(const std::string& mac);
  FrameExpectation& eth_src(const std::string& mac);
  FrameExpectation& ip_src(const std::string& addr);
  FrameExpectation& ip_dst(const std::string& addr);
  FrameExpectation& ttl(int ttl);
  int ttl() const;  // the outer TTL (hop limit) expected
  FrameExpectation& tos(int tos);
  FrameExpectation& df(bool df);
  FrameExpectation& ip_id(int id);
  FrameExpectation& sport(int port);  // TCP or UDP of the innermost IPv4
  FrameExpectation& dport(int port);
  // Edits of the inner IPv4 header of an IPIP frame.
  FrameExpectation& inner_ip_src(const std::string& addr);
  FrameExpectation& inner_ip_dst(const std::string& addr);
  FrameExpectation& inner_ttl(int ttl);

  // Masks.
  FrameExpectation& ignore(Field f);
  FrameExpectation& any_of(Field f, std::vector<std::string> texts);
  FrameExpectation& in_range(Field f, uint64_t lo, uint64_t hi);
  // Accept any value for the checksum field but require it to be as captured ("valid",
  // "zero", "invalid (...)"): e.g. expect(Field::L4Checksum, "zero") for a zero UDP checksum.
  // A numeric field also matches its number in decimal ("74565" for ip6.flow 0x12345).
  FrameExpectation& expect_text(Field f, std::string text);

  // The expected frame as bytes (checksums recomputed), for expect-<port>.pcap.
  std::vector<uint8_t> bytes() const;

  // The masks as data, in the order they were added (to write the check down as a case).
  struct MaskSpec {
    enum class Kind { Ignore, AnyOf, InRange, ExactText };
    Field field;
    Kind kind;
    std::vector<std::string> texts;  // AnyOf: the accepted texts; ExactText: the one text
    uint64_t lo = 0, hi = 0;         // InRange
  };
  std::vector<MaskSpec> mask_specs() const;
  Comparison compare(std::span<const uint8_t> captured) const;

 private:
  struct Mask;
  std::unique_ptr<Tins::PDU> frame_;
  std::vector<Mask> masks_;
};

}  // namespace vslab::expect
