// `vslab bench`: end-to-end forwarding figures for a DUT and the baselines it is compared
// with, every figure a ratio to a raw run paired with it (perf/README.md).
#pragma once

#include <CLI/CLI.hpp>

namespace vslab::bench {

void add_bench_command(CLI::App& app, int& status);

}  // namespace vslab::bench
