// `vslab scaleout`: the scale-out scenario on the command line (scenario.h).
#pragma once

namespace CLI {
class App;
}

namespace vslab::scaleout {

// Adds the subcommand to app; its callback sets status to the command's exit status.
void add_scaleout_command(CLI::App& app, int& status);

}  // namespace vslab::scaleout
