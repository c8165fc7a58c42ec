#include "matrix/kinds/kind.h"

#include <algorithm>

#include <fmt/format.h>

namespace vslab::matrix {

std::string Applicability::skip_reason(Mode mode, std::string_view scheduler) const {
  const bool in_mode = modes.empty() || std::find(modes.begin(), modes.end(), mode) != modes.end();
  const bool for_scheduler = schedulers.empty() || std::find(schedulers.begin(), schedulers.end(),
                                                             scheduler) != schedulers.end();
  if (in_mode && for_scheduler) return {};
  return fmt::format(fmt::runtime(reason), name(mode));
}

const ScenarioKind* find_kind(std::string_view name) {
  const auto& all = scenario_kinds();
  auto it = std::find_if(all.begin(), all.end(),
                         [&](const ScenarioKind& kind) { return kind.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace vslab::matrix
