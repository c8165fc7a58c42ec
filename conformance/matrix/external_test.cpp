// `vslab conform --dut external` against vsd started by hand (a box of the test's own, wired to
// the topology through root-namespace veths, see harness/dut/hand_started_box.h) passes and
// skips exactly the cells that `--dut builtin` does, mode by mode: the external adapter, the
// port handover and the ARP-learned MACs lose nothing against the DUT the harness starts
// itself. Runs the real vslab binary on both DUTs per mode and compares the --json reports.
// Every IPv4 cell of the mode but nat/rr/reassembly-timeout/udp: it waits out vsd's 30 s
// ipfrag_time, vsd's own timer (matrix.builtin runs it), and was more than half of the NAT
// test; what it sends and hears through the adapter, a fragment to the VIP and an ICMP error
// from the VIP, the fragments, ttl-one and no-service cells do too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dut/hand_started_box.h"
#include "topology/handover.h"
#include "topology/netns.h"
#include "topology/parse.h"
#include "topology/runs.h"

namespace vslab::matrix {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// One mode's cells take about half a minute at -j1.
constexpr auto kRunDeadline = 15min;

// The cells above, IPv4 only (the external DUT claims IPv4, builtin IPv6 too in NAT and DR),
// as globs for `vslab conform --filter`, one run each: a run costs seconds of bring-up, a cell
// a tenth of one (but that one). fnmatch has no "all but", and its '*' crosses '/', so NAT's
// two pin the slashes of an id mode/scheduler/kind/proto: the kinds not starting with 'r',
// then rewrite and routed.
std::vector<std::string> cells_to_compare(const std::string& mode) {
  if (mode != "nat") return {mode + "/*[!6]"};
  return {mode + "/*/[!r]*/*[!6]", mode + "/*/r[eo][wu]*/*[!6]"};
}

struct CellOutcome {
  std::string outcome;  // pass, fail, skip
  std::string detail;
};

struct ConformRun {
  std::string label;  // "external", "builtin"
  int exit_code = -1;
  std::string problem;  // why there is no usable report (empty when there is one)
  std::map<std::string, CellOutcome> cells;
  double seconds = 0;
  std::string output;  // what vslab printed

  std::string tally() const {
    std::map<std::string, int> n;
    for (const auto& [id, c] : cells) ++n[c.outcome];
    return fmt::format("{} pass, {} fail, {} skip", n["pass"], n["fail"], n["skip"]);
  }
  std::vector<std::string> failed() const {
    std::vector<std::string> ids;
    for (const auto& [id, c] : cells)
      if (c.outcome == "fail") ids.push_back(id + ": " + c.detail);
    return ids;
  }
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for `pid` until `deadline`; false when it is still running then.
bool wait_for(pid_t pid, std::chrono::milliseconds deadline, int& status) {
  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    int ready = poll(&pfd, 1, int(deadline.count()));
    close(pidfd);
    if (ready == 0) return false;
  }
  return waitpid(pid, &status, 0) == pid;
}

// Whatever runs the vslab process left (killed at the deadline, or crashed): given back and
// removed, so that the box's ports are home and no namespace stays.
std::string reap_runs_of(pid_t owner) {
  std::string problems;
  for (const auto& run : topo::list_runs())
    if (run.record.owner_pid == owner) {
      problems += fmt::format("vslab left run {} behind; ", run.record.prefix);
      problems += topo::destroy_run(run);
    }
  return problems;
}

// One run of vslab conform on the cells `filter` selects; `name` tells its files apart.
ConformRun conform_once(const std::string& label, const std::vector<std::string>& dut_args,
                        const std::string& filter, const fs::path& dir, const std::string& name) {
  ConformRun run;
  run.label = label;
  const fs::path json = dir / (name + ".json"), log = dir / (name + ".log");
  std::vector<std::string> argv{VSLAB_BINARY, "conform"};
  argv.insert(argv.end(), dut_args.begin(), dut_args.end());
  for (const std::string& a :
       {std::string("--filter"), filter, std::string("-j"), std::string("1"), std::string("--json"),
        json.string(), std::string("--pcap-dir"), (dir / (name + "-pcaps")).string()})
    argv.push_back(a);
  std::cout << "[ running  ] " << topo::shell_quote(argv) << std::endl;

  auto start = std::chrono::steady_clock::now();
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    run.problem = "cannot create " + log.string();
    return run;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) {
    run.problem = "fork failed";
    return run;
  }
  int status = 0;
  if (!wait_for(pid, kRunDeadline, status)) {
    run.problem =
        fmt::format("still running after {} min: stopped",
                    std::chrono::duration_cast<std::chrono::minutes>(kRunDeadline).count());
    kill(pid, SIGTERM);
    if (!wait_for(pid, 10s, status)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.problem += reap_runs_of(pid);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.output = read_text(log);

  auto report = nlohmann::json::parse(read_text(json), nullptr, false);
  if (report.is_discarded() || !report.contains("cells")) {
    run.problem += "no JSON report in " + json.string();
    return run;
  }
  for (const auto& c : report["cells"])
    run.cells[c["id"].get<std::string>()] = {c["outcome"].get<std::string>(),
                                             c["detail"].get<std::string>()};
  return run;
}

// Adds the run of one glob to `all`: the worst exit status, every problem, every cell.
void add(ConformRun& all, ConformRun run, const std::string& glob) {
  all.exit_code = std::max(all.exit_code, run.exit_code);
  if (!run.problem.empty()) all.problem += glob + ": " + run.problem + "; ";
  all.cells.merge(run.cells);
  all.seconds += run.seconds;
  all.output += run.output;
}

std::string described(const ConformRun& run) {
  return fmt::format("{}: exit {}, {} cells in {:.1f} s{}\n{}", run.label, run.exit_code,
                     run.cells.size(), run.seconds,
                     run.problem.empty() ? "" : " (" + run.problem + ")", run.output);
}

class ExternalMatchesBuiltin : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to build topologies "
                      "and the hand-started box";
  }

  void compare(const std::string& mode) {
    auto parsed =
        topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + mode + ".toml");
    ASSERT_TRUE(parsed.ok()) << parsed.errors.front();
    const fs::path dir = fs::temp_directory_path() / fmt::format("vslab-ext-{}-{}", getpid(), mode);
    fs::create_directories(dir);
    struct RemoveDir {
      fs::path dir;
      ~RemoveDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    } remove_dir{dir};

    ConformRun external, builtin;
    external.label = "external";
    builtin.label = "builtin";
    external.exit_code = builtin.exit_code = 0;
    const auto globs = cells_to_compare(mode);
    for (std::size_t i = 0; i < globs.size(); ++i) {
      const std::string tag = std::to_string(i);
      // A box a glob: each vslab run numbers its services from the same port, and a box that
      // outlived a run would still count that run's connections to them (lc, wlc, ...).
      dut::HandStartedBox box(*parsed.topology->find_role("director"));
      const auto config = dut::write_external_config(box);
      auto run = conform_once("external", {"--dut", "external", "--dut-config", config}, globs[i],
                              dir, "external" + tag);
      // The box outlived the run, and its ports are home again.
      EXPECT_TRUE(box.vsd_running()) << "the hand-started vsd died:\n" << box.log();
      for (const auto& [ifname, here] : box.ports())
        EXPECT_TRUE(topo::read_link_state(here).has_value())
            << here << " (for director:" << ifname << ") was not given back";
      if (HasFailure() || run.exit_code != 0) std::cout << "box's vsd log:\n" << box.log();
      add(external, std::move(run), globs[i]);
      add(builtin, conform_once("builtin", {"--dut", "builtin"}, globs[i], dir, "builtin" + tag),
          globs[i]);
    }

    std::cout << fmt::format("[ wall     ] {}: external {:.1f} s ({}), builtin {:.1f} s ({})\n",
                             mode, external.seconds, external.tally(), builtin.seconds,
                             builtin.tally());
    RecordProperty("external_seconds", std::to_string(external.seconds));
    RecordProperty("builtin_seconds", std::to_string(builtin.seconds));

    for (const ConformRun* run : {&external, &builtin}) {
      EXPECT_TRUE(run->problem.empty()) << described(*run);
      EXPECT_EQ(run->exit_code, 0) << described(*run);
      EXPECT_FALSE(run->cells.empty()) << described(*run);
      for (const auto& failure : run->failed())
        ADD_FAILURE() << run->label << " failed " << failure;
    }
    // Same cells, same outcome: what builtin passes external passes, what one skips the other
    // skips (a cell the box is not claimed for would show here as a skip against a pass).
    std::string differences;
    std::set<std::string> ids;
    for (const auto& [id, c] : external.cells) ids.insert(id);
    for (const auto& [id, c] : builtin.cells) ids.insert(id);
    for (const auto& id : ids) {
      auto e = external.cells.find(id), b = builtin.cells.find(id);
      const CellOutcome none{"missing", ""};
      const auto& ec = e == external.cells.end() ? none : e->second;
      const auto& bc = b == builtin.cells.end() ? none : b->second;
      if (ec.outcome == bc.outcome) continue;
      differences += fmt::format("  {}: external {} ({}), builtin {} ({})\n", id, ec.outcome,
                                 ec.detail, bc.outcome, bc.detail);
    }
    EXPECT_TRUE(differences.empty()) << "cells whose outcome differs:\n" << differences;
  }
};

TEST_F(ExternalMatchesBuiltin, Nat) {
  compare("nat");
}

TEST_F(ExternalMatchesBuiltin, Dr) {
  compare("dr");
}

TEST_F(ExternalMatchesBuiltin, Tun) {
  compare("tun");
}

TEST_F(ExternalMatchesBuiltin, Fullnat) {
  compare("fullnat");
}

}  // namespace
}  // namespace vslab::matrix
