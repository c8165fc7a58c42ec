// vsd --rules: an ipvsadm rule file (what `ipvsadm -S` writes and `vsadm -R` reads) loaded
// whole at start and again on SIGHUP, as a service unit's ExecReload expects.
#pragma once

#include <string>

#include "config/rules.h"
#include "ctl/result.h"

namespace vsd {

// The rules in the file at `path`, applied as -R applies them but to an empty RuleSet, so the
// file is the whole configuration (a service, mark or timeout not in it is gone). A failure
// changes nothing and says "PATH: line N: why", or "PATH: why" for a file that cannot be read.
ctl::Result<RuleSet> read_rules_file(const std::string& path);

}  // namespace vsd
