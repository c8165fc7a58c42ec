// `vslab record`: real traffic (a command run in the client's namespace, e.g. curl) through a
// DUT, captured on the client and every real server, written as a case whose inputs are what
// the hosts sent and whose expectations are what they received. The one place where
// expectations come from a run: the case's description says so, for a person to review.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "replay/serve.h"

namespace vslab::replay {

struct RecordOptions {
  std::string topology;  // a name (topologies_dir/<name>.toml) or a file
  std::filesystem::path topologies_dir;
  std::string rules;  // ipvsadm save format
  std::filesystem::path out;
  std::vector<std::string> command;  // run inside the client's namespace
  dut::DutSpec dut;
  // Started after the DUT has its rules, each in its node's namespace, in a process group of
  // its own, with the environment of run_environment() and VSLAB_NODE, VSLAB_NETNS and
  // VSLAB_SERVE_DIR (its working directory: an empty folder of the run); the traffic command
  // starts once each has a listening socket (TCP) or a bound one (UDP). Stopped with SIGTERM
  // to its group when the command is done, SIGKILL 2 s later.
  std::vector<ServeCommand> serve;
  // Seconds a serve command gets to open its socket.
  int serve_ready_timeout_s = 10;
};

struct RecordResult {
  bool ok = false;
  std::string message;  // what was written, or why nothing was
  std::string command_output;
  int command_exit = 0;
  bool interrupted = false;  // SIGINT, SIGTERM or SIGHUP (os/interrupt.h): nothing written
};

// Never throws: a failure to bring the topology up or start the DUT is a message.
RecordResult record_case(const RecordOptions& options);

}  // namespace vslab::replay
