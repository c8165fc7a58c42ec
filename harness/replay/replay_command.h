// `vslab replay CASE_DIR...`: runs pcap cases (fixtures/pcap/README.md) against a DUT and prints
// one line per case: PASS, FAIL with the field diff, or SKIP with the reason. `vslab record`
// writes a case from real traffic.
#pragma once

#include <CLI/CLI.hpp>

namespace vslab::replay {

void add_replay_command(CLI::App& app, int& status);
// `vslab record --topology T --rules R --out CASE_DIR -- COMMAND...` (record.h).
void add_record_command(CLI::App& app, int& status);

}  // namespace vslab::replay
