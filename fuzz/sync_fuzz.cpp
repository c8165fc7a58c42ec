// A datagram to the sync daemon's port (director/sync/message.h): decode_message on every
// input, with no syncid filter and with the last byte as the filter. Besides memory errors and
// undefined behaviour: a filter only ever removes a whole message; what decodes re-encodes
// into a message that decodes to the same entries; no more entries than the header claims.
#include <cstddef>
#include <cstdint>
#include <span>

#include "check.h"
#include "sync/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vsd::sync;
  const std::span<const uint8_t> input(data, size);
  const auto d = decode_message(input);
  const auto filtered = decode_message(input, size ? data[size - 1] : 0);
  VSLAB_FUZZ_CHECK(filtered.verdict == MessageVerdict::OtherSyncId ||
                       (filtered.verdict == d.verdict && filtered.conns == d.conns),
                   "a syncid filter takes a message whole or not at all");
  if (d.verdict != MessageVerdict::Accepted) return 0;
  VSLAB_FUZZ_CHECK(d.conns.size() + d.skipped.size() <= d.nr_conns, "no more entries than claimed");
  for (const auto& c : d.conns) {
    // A name without data decodes (the kernel ignores it) but is not something to send.
    if (!c.pe_name.empty() && c.pe_data.empty()) return 0;
  }
  const auto again = decode_message(encode_message(d.syncid, d.conns), d.syncid);
  VSLAB_FUZZ_CHECK(again.verdict == MessageVerdict::Accepted, "a re-encoded message is accepted");
  VSLAB_FUZZ_CHECK(again.conns == d.conns, "a re-encoded message decodes to the same entries");
  return 0;
}
