// `vslab mutate`: mutation testing of the conformance suite (conformance/mutate/README.md).
#pragma once

#include <CLI/CLI.hpp>

namespace vslab::mutate {

void add_mutate_command(CLI::App& app, int& status);

}  // namespace vslab::mutate
