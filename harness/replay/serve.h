// The programs `vslab record` runs: servers on the real servers for the length of a recording
// (--serve NODE='COMMAND') and the traffic command, each in a process group of its own, both
// stopped when a signal asks vslab to stop.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "os/child_process.h"
#include "topology/live.h"
#include "topology/netns.h"

namespace vslab::replay {

// A program run on a node for the recording (a web server on a real server), from start to
// the end of the traffic command.
struct ServeCommand {
  std::string node;
  std::string command;  // for sh -c
};

struct Served {
  std::string node;
  os::ChildProcess process;
  std::filesystem::path log;  // its standard output and error
  std::string output() const;
};

// The run's names for programs started in it: VSLAB_RUN (the run prefix) and, for each node
// with a namespace here, VSLAB_NETNS_<NODE> (the node name in capitals, other characters
// than letters and digits as '_'), e.g. VSLAB_NETNS_RS1=vsl-4242-1-rs1.
std::vector<std::string> run_environment(const topo::LiveTopology& live);

// Starts `serve` with sh -c in its node's namespace, in an empty folder of the run (also
// VSLAB_SERVE_DIR), with run_environment() and VSLAB_NODE and VSLAB_NETNS set, and returns
// once a new listening TCP or bound UDP socket is in that namespace. Throws with the
// program's output when it exits first or serves nothing within ready_timeout_s; throws
// os::Interrupted when a signal comes meanwhile.
Served start_serving(const topo::LiveTopology& live, const ServeCommand& serve, std::size_t index,
                     int ready_timeout_s);

// Stops a program started in a group of its own: SIGTERM to the group, SIGKILL after `grace`.
void stop_group(os::ChildProcess& child, std::chrono::milliseconds grace);

// Runs argv to its end, or until a signal asks the harness to stop: then its group gets
// SIGTERM (SIGKILL 2 s later) and nullopt comes back.
std::optional<topo::CommandResult> run_unless_interrupted(const std::vector<std::string>& argv);

}  // namespace vslab::replay
