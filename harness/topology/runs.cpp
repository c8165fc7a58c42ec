#include "topology/runs.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/core.h>

#include "topology/netns.h"

namespace vslab::topo {
namespace fs = std::filesystem;

std::string new_run_prefix() {
  static std::atomic<int> sequence{0};
  return fmt::format("vsl-{}-{}", getpid(), ++sequence);
}

std::optional<std::string> run_prefix_of(const std::string& netns_name) {
  static const std::regex pattern(R"(^(vsl-[0-9]+-[0-9]+)([-.].*)?$)");
  std::smatch m;
  if (!std::regex_match(netns_name, m, pattern)) return std::nullopt;
  return m[1].str();
}

std::optional<std::string> prefix_problem(const std::string& prefix) {
  if (prefix.empty()) return "the prefix is empty";
  if (prefix.size() > kMaxPrefixLength)
    return fmt::format("'{}' is {} bytes; at most {}", prefix, prefix.size(), kMaxPrefixLength);
  if (!std::isalnum(static_cast<unsigned char>(prefix.front())))
    return fmt::format("'{}' must start with a letter or a digit", prefix);
  for (char c : prefix)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return fmt::format("'{}' holds '{}'; a prefix is letters, digits, '-' and '_'", prefix,
                         std::string(1, c));
  return std::nullopt;
}

std::string runs_dir() {
  return "/run/vslab/runs";
}

std::string run_files_dir(const std::string& prefix) {
  return "/run/vslab/" + prefix;
}

void write_run_record(const RunRecord& r) {
  fs::create_directories(runs_dir());
  auto path = fs::path(runs_dir()) / r.prefix;
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << "pid=" << r.owner_pid << "\nstart=" << r.owner_start << "\ntopology=" << r.topology
        << "\nfile=" << r.file << "\ndetached=" << r.detached << "\ncli=" << r.from_cli << "\n";
    for (const auto& h : r.handovers) out << "handover=" << h.record_value() << "\n";
    for (const auto& ns : r.netns) out << "netns=" << ns << "\n";
    for (const auto& p : r.ancestry) out << "ancestor=" << p.pid << ":" << p.start << "\n";
    if (!out) throw std::runtime_error("cannot write run record " + tmp.string());
  }
  fs::rename(tmp, path);  // atomic: a reader never sees half a record
}

void remove_run_record(const std::string& prefix) {
  std::error_code ec;
  fs::remove(fs::path(runs_dir()) / prefix, ec);
}

unsigned long long process_start_time(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return 0;
  // Fields after the command name start with field 3 (state); starttime is field 22.
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string field;
  for (int i = 3; i < 22 && rest >> field; ++i) {
    // A zombie (killed, not yet reaped by its parent) owns nothing any more: its runs are
    // orphans, and gc right after a kill -9 must not wait for the reaping.
    if (i == 3 && field == "Z") return 0;
  }
  unsigned long long start = 0;
  rest >> start;
  return start;
}

std::vector<ProcessId> process_ancestry(int pid) {
  std::vector<ProcessId> out;
  // A bound: a loop in what /proc says cannot hang us.
  for (int depth = 0; depth < 64; ++depth) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) break;
    std::istringstream rest(stat.substr(close_paren + 2));
    std::string state;
    int parent = 0;
    rest >> state >> parent;
    if (parent <= 1) break;
    out.push_back({parent, process_start_time(parent)});
    pid = parent;
  }
  return out;
}

namespace {

std::optional<RunRecord> read_run_record(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  RunRecord r;
  r.prefix = path.filename().string();
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto key = line.substr(0, eq), value = line.substr(eq + 1);
    try {
      if (key == "pid") r.owner_pid = std::stoi(value);
      if (key == "start") r.owner_start = std::stoull(value);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (key == "topology") r.topology = value;
    if (key == "file") r.file = value;
    if (key == "detached") r.detached = value == "1";
    if (key == "cli") r.from_cli = value == "1";
    if (key == "netns") r.netns.push_back(value);
    if (key == "ancestor") {
      ProcessId p;
      if (std::sscanf(value.c_str(), "%d:%llu", &p.pid, &p.start) == 2) r.ancestry.push_back(p);
    }
    if (key == "handover") {
      // Records are written whole (write_run_record renames a finished file), so a line that
      // does not read back is not ours to act on.
      if (auto handover = PortHandover::from_record_value(value))
        r.handovers.push_back(std::move(*handover));
    }
  }
  return r;
}

RunState state_of(const RunRecord& r, bool has_record) {
  if (has_record && r.detached) return RunState::Detached;
  if (r.owner_pid <= 0) return RunState::Orphaned;
  auto start = process_start_time(r.owner_pid);
  if (start == 0) return RunState::Orphaned;
  // Without a record (killed between namespace and record?) trust the pid alone.
  if (has_record && start != r.owner_start) return RunState::Orphaned;
  return RunState::Running;
}

}  // namespace

std::vector<RunInfo> list_runs() {
  std::map<std::string, RunInfo> runs;
  std::map<std::string, bool> has_record;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs_dir(), ec)) {
    if (entry.path().extension() == ".tmp") continue;
    if (auto r = read_run_record(entry.path())) {
      runs[r->prefix].record = *r;
      has_record[r->prefix] = true;
    }
  }
  // Files a run's programs kept (a DUT's socket and log) belong to it too.
  for (const auto& entry : fs::directory_iterator("/run/vslab", ec))
    if (auto prefix = run_prefix_of(entry.path().filename().string()))
      runs[*prefix].record.prefix = *prefix;
  const auto existing = list_netns();
  for (const auto& ns : existing) {
    auto prefix = run_prefix_of(ns);
    if (!prefix) continue;
    auto& run = runs[*prefix];
    run.record.prefix = *prefix;
    run.netns.push_back(ns);
  }
  // A prefix of the user's names no pid: its record says which namespaces are the run's.
  for (auto& [prefix, run] : runs) {
    if (run_prefix_of(prefix)) continue;
    for (const auto& ns : run.record.netns)
      if (std::binary_search(existing.begin(), existing.end(), ns)) run.netns.push_back(ns);
  }
  std::vector<RunInfo> out;
  for (auto& [prefix, run] : runs) {
    if (!has_record[prefix] && run_prefix_of(prefix)) {
      // The pid is part of the prefix: "vsl-<pid>-<seq>".
      run.record.owner_pid = std::stoi(prefix.substr(4, prefix.find('-', 4) - 4));
    }
    run.state = state_of(run.record, has_record[prefix]);
    out.push_back(std::move(run));
  }
  return out;
}

std::string destroy_run(const RunInfo& run) {
  std::string errors;
  // First: a lent veth would be destroyed with the namespace it was lent to.
  std::set<std::string> holding;
  for (const auto& handover : run.record.handovers) {
    auto given = give_back(handover);
    errors += given.problem;
    if (given.held) holding.insert(handover.netns);
  }
  bool complete = holding.empty();
  for (const auto& ns : run.netns) {
    if (holding.contains(ns)) continue;
    auto err = delete_netns(ns);
    if (!err.empty()) errors += err + "\n";
    complete = complete && err.empty();
  }
  if (complete) {
    remove_run_record(run.record.prefix);
    std::error_code ec;
    fs::remove_all(run_files_dir(run.record.prefix), ec);
  }
  return errors;
}

std::vector<std::string> collect_garbage(bool include_detached, std::vector<std::string>& errors) {
  std::vector<std::string> removed;
  for (const auto& run : list_runs()) {
    bool garbage =
        run.state == RunState::Orphaned || (include_detached && run.state == RunState::Detached);
    if (!garbage) continue;
    auto err = destroy_run(run);
    if (!err.empty()) {
      errors.push_back(err);
      continue;
    }
    removed.push_back(fmt::format("{} ({}, owner pid {}): {} namespace(s) removed",
                                  run.record.prefix,
                                  run.record.topology.empty() ? "no record" : run.record.topology,
                                  run.record.owner_pid, run.netns.size()));
  }
  return removed;
}

}  // namespace vslab::topo
