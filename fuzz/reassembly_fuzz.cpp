// Reassembly (fwd/reassembly.h) as the data plane feeds it: the input is records (records.h),
// each a frame; the IPv4 and IPv6 fragments among them go to one Reassembler (one table serves
// both families, keys kept apart), the clock moving (tag & 63) seconds before each, so that
// datagrams also time out. A datagram completed is parsed and cut again at the size it arrived
// in, as the data plane sends it on (fragment_ipv4, fragment_ipv6); a timed-out one hands its
// first fragment to the expiry handler (the ICMP time exceeded).
// Besides memory errors and undefined behaviour: the storage in use never passes the limit,
// and nothing is in use once every datagram has timed out.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "check.h"
#include "fwd/fragment.h"
#include "fwd/ipv6.h"
#include "fwd/packet.h"
#include "fwd/reassembly.h"
#include "records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vsd::fwd;
  const ReassemblyLimits limits{8, 32 << 10, 30000};
  Reassembler reassembler(limits);
  reassembler.on_expired([](std::span<const uint8_t> first) {
    std::vector<uint8_t> copy(first.begin(), first.end());
    classify(copy);
  });
  static std::vector<uint8_t> memory(64 * 2048);
  std::array<FragmentBuffer, 64> outs;
  uint64_t now_ms = 1'000'000;
  for (const auto& r : vslab::fuzz::split_records({data, size})) {
    now_ms += uint64_t(r.tag & 63) * 1000;
    std::vector<uint8_t> frame(r.bytes.begin(), r.bytes.end());
    if (const auto p = parse_ipv6(frame); p && p->fragment) {
      const auto result = reassembler.add6(frame, *p, now_ms);
      VSLAB_FUZZ_CHECK(reassembler.bytes_in_use() <= limits.max_bytes, "storage within the limit");
      if (result.status != ReassemblyStatus::Complete) continue;
      std::vector<uint8_t> whole(result.frame.begin(), result.frame.end());
      // Its fragmentable part may itself be anything: the data plane drops what does not parse.
      const auto w = parse_ipv6(whole);
      if (!w || w->fragment) continue;
      for (std::size_t i = 0; i < outs.size(); ++i)
        outs[i] = {std::span(memory).subspan(i * 2048, 2048), 0};
      const std::size_t n =
          fragment_ipv6(whole, ipv6_refragment_size(result.largest_fragment), 7, outs);
      for (std::size_t i = 0; i < n; ++i) {
        const auto piece = parse_ipv6(outs[i].buffer.first(outs[i].length));
        VSLAB_FUZZ_CHECK(piece.has_value(), "an IPv6 fragment sent on parses");
      }
      continue;
    }
    const auto c = classify(frame);
    if (c.verdict != Verdict::Ipv4 || !c.packet.is_fragment()) continue;
    const auto result = reassembler.add(frame, c.packet, now_ms);
    VSLAB_FUZZ_CHECK(reassembler.bytes_in_use() <= limits.max_bytes, "storage within the limit");
    if (result.status != ReassemblyStatus::Complete) continue;
    std::vector<uint8_t> whole(result.frame.begin(), result.frame.end());
    const auto w = classify(whole);
    if (w.verdict != Verdict::Ipv4 || w.packet.is_fragment()) continue;
    for (std::size_t i = 0; i < outs.size(); ++i)
      outs[i] = {std::span(memory).subspan(i * 2048, 2048), 0};
    const std::size_t n = fragment_ipv4(whole, result.largest_fragment, outs);
    for (std::size_t i = 0; i < n; ++i)
      VSLAB_FUZZ_CHECK(classify(outs[i].buffer.first(outs[i].length)).verdict == Verdict::Ipv4,
                       "a fragment sent on classifies");
  }
  reassembler.expire(now_ms + limits.timeout_ms + 1);
  VSLAB_FUZZ_CHECK(reassembler.datagrams_in_progress() == 0 && reassembler.bytes_in_use() == 0,
                   "everything timed out is freed");
  return 0;
}
