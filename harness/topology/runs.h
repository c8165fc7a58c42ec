// Bookkeeping of topology instances ("runs") on this machine, so that several runs (and
// ctest -j) never collide and whatever a dead run left behind can be found and removed.
// A run's namespaces are named "vsl-<pid>-<seq>-<node>" (plus "vsl-<pid>-<seq>.sw"), and a
// record in /run/vslab/runs/<prefix> names its owner process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "topology/handover.h"

namespace vslab::topo {

struct RunRecord {
  std::string prefix;  // vsl-<pid>-<seq>
  int owner_pid = 0;
  unsigned long long owner_start = 0;  // /proc/<pid>/stat starttime, guards against pid reuse
  std::string topology;                // the topology's name
  std::string file;                    // the file it came from
  bool detached = false;               // `vslab topo up --detach`: kept until `vslab topo down`
  bool from_cli = false;               // made by `vslab topo up` (what `topo exec` and `down` pick)
  std::vector<PortHandover> handovers;  // an external director's ports, to give back
};

enum class RunState { Running, Detached, Orphaned };

struct RunInfo {
  RunRecord record;  // owner_pid 0 and empty topology when no record was found
  RunState state = RunState::Orphaned;
  std::vector<std::string> netns;
};

// A fresh prefix for this process ("vsl-<pid>-<seq>").
std::string new_run_prefix();
// Parses "vsl-<pid>-<seq>..." into the prefix, or nothing for names vslab did not make.
std::optional<std::string> run_prefix_of(const std::string& netns_name);

std::string runs_dir();
// Where programs started for a run keep files (sockets, logs); removed with the run.
std::string run_files_dir(const std::string& prefix);
void write_run_record(const RunRecord& record);
void remove_run_record(const std::string& prefix);
unsigned long long process_start_time(int pid);  // 0 when the process does not exist

// Every run with a record or a namespace on this machine.
std::vector<RunInfo> list_runs();

// Removes every orphaned run (owner gone), and also detached ones when include_detached.
// Returns one line per removed run; errors are reported in `errors`.
std::vector<std::string> collect_garbage(bool include_detached, std::vector<std::string>& errors);

// Tears a run down now: gives lent ports back, kills its processes, deletes its namespaces and
// its record.
std::string destroy_run(const RunInfo& run);

}  // namespace vslab::topo
