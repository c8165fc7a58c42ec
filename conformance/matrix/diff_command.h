// `vslab diff`: the same matrix cells (or pcap cases) on two DUTs, B's frames compared with
// A's field by field; one line per cell (SAME, DIFF with the first differing field, SKIP),
// the full report and pcaps of both sides for each DIFF. Exit status 0 when nothing differs,
// 1 when something does (or could not be compared), 2 for a usage error.
#pragma once

#include <CLI/CLI.hpp>

namespace vslab::matrix {

// Adds the subcommand to `app`; when it runs, `status` gets its exit status.
void add_diff_command(CLI::App& app, int& status);

}  // namespace vslab::matrix
