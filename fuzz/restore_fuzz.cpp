// vsadm -R and vsd --rules (ctl/apply.h apply_restore): the input is a rules file. Besides
// memory errors and undefined behaviour, it checks what -S promises: a failed restore changes
// nothing, and the rules a restore made save (-S -n --marks) as a text that restores to rules
// that save as the same text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check.h"
#include "ctl/apply.h"
#include "ctl/format.h"
#include "director_bed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vslab::fuzz;
  static vsd::RuleSet bed_rules = [] {
    vsd::RuleSet r;
    if (vsd::ctl::apply_restore(r, kBedRules)) std::abort();
    return r;
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // On top of rules already there, as `vsadm -R` meets a running vsd's.
  vsd::RuleSet rules = bed_rules;
  if (vsd::ctl::apply_restore(rules, text)) {
    VSLAB_FUZZ_CHECK(rules == bed_rules, "a failed restore changes nothing");
    return 0;
  }
  const std::string saved = vsd::ctl::format_save(rules, true, true);
  vsd::RuleSet again;
  const auto failure = vsd::ctl::apply_restore(again, saved);
  if (failure)
    std::fprintf(stderr, "%s\n--- saved ---\n%s", failure->message.c_str(), saved.c_str());
  VSLAB_FUZZ_CHECK(!failure, "what -S saved restores");
  VSLAB_FUZZ_CHECK(vsd::ctl::format_save(again, true, true) == saved, "saved again the same");
  return 0;
}
