#include "vsd/rules_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ctl/apply.h"

namespace vsd {

ctl::Result<RuleSet> read_rules_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ctl::refused(path + ": " + std::strerror(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return ctl::refused(path + ": read failed");
  RuleSet rules;
  if (auto failure = ctl::apply_restore(rules, text))
    return ctl::Failure{failure->exit_code, path + ": " + failure->message};
  return rules;
}

}  // namespace vsd
