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

// A process as it was: a pid alone may be another process's by now.
struct ProcessId {
  int pid = 0;
  unsigned long long start = 0;  // /proc/<pid>/stat starttime
  bool operator==(const ProcessId&) const = default;
};

struct RunRecord {
  std::string prefix;  // vsl-<pid>-<seq>
  int owner_pid = 0;
  unsigned long long owner_start = 0;  // /proc/<pid>/stat starttime, guards against pid reuse
  std::string topology;                // the topology's name
  std::string file;                    // the file it came from
  bool detached = false;               // `vslab topo up --detach`: kept until `vslab topo down`
  bool from_cli = false;               // made by `vslab topo up` (what `topo exec` and `down` pick)
  std::vector<PortHandover> handovers;  // an external director's ports, to give back
  // The run's namespaces, written before any exists: how a run with a prefix of the user's
  // (`topo up --prefix`), which names no pid, is found by list, down and gc.
  std::vector<std::string> netns;
  // The owner's parent, grandparent, ... up to init, as they were when the run was made: which
  // test suite (ctest) or CI job made it, even after the owner is gone.
  std::vector<ProcessId> ancestry;
};

enum class RunState { Running, Detached, Orphaned };

struct RunInfo {
  RunRecord record;  // owner_pid 0 and empty topology when no record was found
  RunState state = RunState::Orphaned;
  std::vector<std::string> netns;
};

// A fresh prefix for this process ("vsl-<pid>-<seq>").
std::string new_run_prefix();
// The longest prefix a user may give (`topo up --prefix`, `topo script --prefix`): namespace
// names are "<prefix>-<node>" (nodes up to 32 bytes) and files under /run. Interface names
// never carry the prefix (veths are made inside their namespaces), so IFNAMSIZ is no limit.
inline constexpr std::size_t kMaxPrefixLength = 32;
// Why `prefix` cannot name a run's namespaces, or nothing: 1 to kMaxPrefixLength of
// [A-Za-z0-9_-], starting with a letter or digit ('.' would clash with "<prefix>.sw", '/' and
// spaces are no file names that iproute2 takes).
std::optional<std::string> prefix_problem(const std::string& prefix);
// Parses "vsl-<pid>-<seq>..." into the prefix, or nothing for names vslab did not make.
std::optional<std::string> run_prefix_of(const std::string& netns_name);

std::string runs_dir();
// Where programs started for a run keep files (sockets, logs); removed with the run.
std::string run_files_dir(const std::string& prefix);
void write_run_record(const RunRecord& record);
void remove_run_record(const std::string& prefix);
unsigned long long process_start_time(int pid);  // 0 when the process does not exist
// pid's parent, its parent, ... up to and without init (empty when pid is gone).
std::vector<ProcessId> process_ancestry(int pid);

// Every run with a record or a namespace on this machine.
std::vector<RunInfo> list_runs();

// Removes every orphaned run (owner gone), and also detached ones when include_detached.
// Returns one line per removed run; errors are reported in `errors`.
std::vector<std::string> collect_garbage(bool include_detached, std::vector<std::string>& errors);

// Tears a run down now: gives lent ports back, kills its processes, deletes its namespaces and
// its record.
std::string destroy_run(const RunInfo& run);

}  // namespace vslab::topo
