// `vslab conform`: the conformance matrix against a DUT, with the table on the terminal and
// optional JUnit XML and JSON reports. Exit status 0 only when no cell failed.
#pragma once

#include <CLI/CLI.hpp>

namespace vslab::matrix {

// Adds the subcommand to `app`; when it runs, `status` gets its exit status.
void add_conform_command(CLI::App& app, int& status);

}  // namespace vslab::matrix
