// The control protocol (ctl/protocol.h) as vsd serves it: each line of the input is one
// request to ctl::handle_request, in turn, on the director of director_bed.h, so that a request
// meets rules an earlier one installed. Besides memory errors and undefined behaviour: every
// answer is one JSON object with "ok" and "exit" (a request never kills vsd, nor goes
// unanswered).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "ctl/protocol.h"
#include "director_bed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vslab::fuzz;
  DirectorBed bed;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const std::size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    const std::string answer = vsd::ctl::handle_request(line, bed.plane());
    const auto json = nlohmann::json::parse(answer, nullptr, /*allow_exceptions=*/false);
    VSLAB_FUZZ_CHECK(json.is_object(), "the answer is a JSON object");
    VSLAB_FUZZ_CHECK(json.contains("ok") && json["ok"].is_boolean(), "the answer says ok");
    VSLAB_FUZZ_CHECK(json.contains("exit") && json["exit"].is_number_integer(),
                     "the answer has an exit code");
  }
  return 0;
}
