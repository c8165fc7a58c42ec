// `vslab record`: real traffic (a command run in the client's namespace, e.g. curl) through a
// DUT, captured on the client and every real server, written as a case whose inputs are what
// the hosts sent and whose expectations are what they received. The one place where
// expectations come from a run: the case's description says so, for a person to review.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dut/dut.h"

namespace vslab::replay {

struct RecordOptions {
  std::string topology;  // a name (topologies_dir/<name>.toml) or a file
  std::filesystem::path topologies_dir;
  std::string rules;  // ipvsadm save format
  std::filesystem::path out;
  std::vector<std::string> command;  // run inside the client's namespace
  dut::DutSpec dut;
};

struct RecordResult {
  bool ok = false;
  std::string message;  // what was written, or why nothing was
  std::string command_output;
  int command_exit = 0;
};

// Never throws: a failure to bring the topology up or start the DUT is a message.
RecordResult record_case(const RecordOptions& options);

}  // namespace vslab::replay
