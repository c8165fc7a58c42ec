// vsadm's command line (ctl/command.h), as vsd takes it from a client: the input is argv
// without the program name, one argument per NUL-separated piece. A command that parses is
// applied to the rules of director_bed.h (ctl/apply.h) and, as vsd answers listings, formatted
// against the bed's state. Besides memory errors and undefined behaviour: a command that fails
// to apply leaves the rules exactly as they were.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "ctl/apply.h"
#include "ctl/command.h"
#include "ctl/format.h"
#include "director_bed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vslab::fuzz;
  static DirectorBed* bed = new DirectorBed;  // read only: its rules and state
  static const vsd::RuleSet rules = bed->plane().rules();
  static const vsd::DirectorState state = bed->plane().state();

  std::vector<std::string> args;
  if (size > 0) {
    args.emplace_back();
    for (std::size_t i = 0; i < size; ++i) {
      if (data[i] == 0)
        args.emplace_back();
      else
        args.back().push_back(char(data[i]));
    }
  }
  auto parsed = vsd::ctl::parse_command(args);
  if (!parsed.ok()) return 0;
  vsd::RuleSet changed = rules;
  if (vsd::ctl::apply(changed, parsed.value()))
    VSLAB_FUZZ_CHECK(changed == rules, "a failure changes nothing");
  (void)vsd::ctl::format_command(state, parsed.value());
  return 0;
}
