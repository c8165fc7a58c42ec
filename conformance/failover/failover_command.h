// `vslab failover`: the failover scenario against a pair of directors, its report on stdout.
#pragma once

namespace CLI {
class App;
}

namespace vslab::failover {

// Adds the subcommand; its exit status goes to `status`: 0 when every phase did what the spec
// predicts, 1 when one did not or no verdict was reached, 2 for a usage error, 3 when it was
// skipped (a missing feature, named; --allow-skips makes that 0), 4 without root.
void add_failover_command(CLI::App& app, int& status);

}  // namespace vslab::failover
