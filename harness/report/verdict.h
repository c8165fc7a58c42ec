// What became of one cell or case of a run, as every report of vslab spells it.
#pragma once

#include <optional>
#include <string_view>

namespace vslab::report {

// Fail is a verdict on the DUT (a check saw what the spec forbids); Error means no verdict was
// reached (the DUT or the harness broke: a bed that did not come up, a DUT that died, a worker
// lost); Skip has a reason (not applicable, not claimed, unavailable here); NotRun is a cell
// that was selected but never started (a run stopped early).
enum class Verdict { Pass, Fail, Error, Skip, NotRun };

std::string_view verdict_name(Verdict v);  // "pass", "fail", "error", "skip", "not-run"
std::optional<Verdict> parse_verdict(std::string_view text);

}  // namespace vslab::report
