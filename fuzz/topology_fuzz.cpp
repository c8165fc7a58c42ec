// Topology files (harness/topology/parse.h), as `vslab topo check` and every run read them: the
// input is the file. Besides memory errors and undefined behaviour: a topology that parses
// turns into its bring-up script (`vslab topo script`) without throwing, and a rejected one
// says why.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "topology/parse.h"
#include "topology/script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = vslab::topo::parse_topology(text, "fuzz.toml");
  if (!parsed.ok()) {
    VSLAB_FUZZ_CHECK(!parsed.errors.empty(), "a rejected topology says why");
    return 0;
  }
  vslab::topo::bring_up_script(*parsed.topology, vslab::topo::Naming{"vsl-fuzz-1"});
  return 0;
}
