// case.toml (harness/replay/case.h), as `vslab replay` reads a bug report: the input is the
// file, read as if it were in fixtures/pcap/nat-tcp-handshake (whose pcaps it may name) with the
// topologies of topologies/. Besides memory errors and undefined behaviour: a rejected case
// says why.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "replay/case.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = vslab::replay::parse_case(text, VSLAB_SOURCE_DIR "/fixtures/pcap/nat-tcp-handshake",
                                          VSLAB_SOURCE_DIR "/topologies");
  if (!loaded.ok()) VSLAB_FUZZ_CHECK(!loaded.errors.empty(), "a rejected case says why");
  return 0;
}
