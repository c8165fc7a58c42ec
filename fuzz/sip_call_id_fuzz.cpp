// The SIP Call-ID parser (fwd/sip_call_id.h) on any UDP payload: the input is the payload.
// Besides memory errors and undefined behaviour: a Call-ID found lies inside the payload, is
// 1..255 bytes, is followed by CR or LF, and holds one "@" at most, never first or last.
#include <cstddef>
#include <cstdint>
#include <span>

#include "check.h"
#include "fwd/sip_call_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::span<const uint8_t> payload(data, size);
  const auto found = vsd::fwd::sip_call_id(payload);
  if (!found) return 0;
  const auto* begin = reinterpret_cast<const uint8_t*>(found->data());
  VSLAB_FUZZ_CHECK(begin >= data && begin + found->size() < data + size, "inside the payload");
  VSLAB_FUZZ_CHECK(!found->empty() && found->size() <= vsd::fwd::kSipCallIdMax, "length");
  const uint8_t after = begin[found->size()];
  VSLAB_FUZZ_CHECK(after == '\r' || after == '\n', "a line end after it");
  const auto at = found->find('@');
  if (at != std::string_view::npos) {
    VSLAB_FUZZ_CHECK(at != 0 && at + 1 != found->size(), "a word on each side of @");
    VSLAB_FUZZ_CHECK(found->find('@', at + 1) == std::string_view::npos, "one @ at most");
  }
  return 0;
}
