// vslab's command line as a user meets it: help everywhere, errors for bad files, a script
// that builds the topology by hand, gc after a `vslab topo up` killed with SIGKILL, runs that
// others own or that carry a prefix of the user's, and the long commands stopped by signals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "os/child_process.h"
#include "os/unique_fd.h"

#include "topology/live.h"
#include "topology/netns.h"
#include "topology/parse.h"
#include "topology/runs.h"
#include "topology/script.h"

namespace vslab::topo {
namespace {

const std::string kVslab = VSLAB_BINARY;
std::string topology_file(const std::string& name) {
  return std::string(VSLAB_SOURCE_DIR) + "/topologies/" + name + ".toml";
}

CommandResult vslab(std::vector<std::string> args) {
  args.insert(args.begin(), kVslab);
  return run_command(args);
}

#define SKIP_UNLESS_ROOT()                                                                 \
  if (!have_net_admin())                                                                   \
  GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network " \
                  "namespaces"

TEST(VslabCli, EverySubcommandHasHelp) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"topo", "--help"},
                                        {"topo", "up", "--help"},
                                        {"topo", "down", "--help"},
                                        {"topo", "script", "--help"},
                                        {"topo", "exec", "--help"},
                                        {"topo", "gc", "--help"},
                                        {"topo", "selftest", "--help"},
                                        {"topo", "list", "--help"},
                                        {"topo", "check", "--help"}}) {
    auto r = vslab(args);
    EXPECT_EQ(r.exit_code, 0) << args.back() << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << r.output;
  }
}

// A CI reads the exit status: a mistake on the command line is 2 (as the commands' own usage
// errors are), with a line that says what is wrong; --help and --version are 0.
TEST(VslabCli, CommandLineMistakesExitWithStatus2) {
  for (const auto& [args, says] :
       std::initializer_list<std::pair<std::vector<std::string>, std::string>>{
           {{}, "A subcommand is required"},
           {{"conform", "--no-such-option"}, "--no-such-option"},
           {{"conform", "-j", "many"}, "many"},
           {{"topo", "check"}, "files is required"},
           {{"nonsense"}, "A subcommand is required"},
       }) {
    auto r = vslab(args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(says), std::string::npos) << r.output;
  }
  EXPECT_EQ(vslab({"--version"}).exit_code, 0);
  EXPECT_EQ(vslab({"conform", "--help"}).exit_code, 0);
}

// A run that tests nothing is no pass: where the DUT claims no cell (the kernel DUT on a
// kernel without IPVS), conform says so and exits 3, unless --allow-skips accepts it.
TEST(VslabCli, ConformWhereEveryCellSkipsExitsWith3) {
  SKIP_UNLESS_ROOT();
  if (std::filesystem::exists("/proc/net/ip_vs"))
    GTEST_SKIP() << "this kernel has IPVS: the kernel DUT would run the cells";
  auto r = vslab({"conform", "--dut", "kernel", "--filter", "nat/rr/rewrite/*"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("every cell was skipped"), std::string::npos) << r.output;
  auto allowed =
      vslab({"conform", "--dut", "kernel", "--filter", "nat/rr/rewrite/*", "--allow-skips"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

// Replay judges its exit as conform does: a run where every case skipped tested nothing.
TEST(VslabCli, ReplayWhereEveryCaseSkipsExitsWith3) {
  SKIP_UNLESS_ROOT();
  if (std::filesystem::exists("/proc/net/ip_vs"))
    GTEST_SKIP() << "this kernel has IPVS: the kernel DUT would run the case";
  const std::string a_case = std::string(VSLAB_SOURCE_DIR) + "/fixtures/pcap/nat-tcp-handshake";
  auto r = vslab({"replay", "--dut", "kernel", a_case});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("every case was skipped"), std::string::npos) << r.output;
  auto allowed = vslab({"replay", "--dut", "kernel", "--allow-skips", a_case});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

// And diff: nothing compared is no pass either.
TEST(VslabCli, DiffWhereEveryCellSkipsExitsWith3) {
  SKIP_UNLESS_ROOT();
  if (std::filesystem::exists("/proc/net/ip_vs"))
    GTEST_SKIP() << "this kernel has IPVS: the kernel DUT would run the cells";
  const std::vector<std::string> args{
      "diff", "--dut", "kernel", "--against", "builtin", "--filter", "nat/rr/rewrite/tcp"};
  auto r = vslab(args);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("every cell was skipped"), std::string::npos) << r.output;
  auto with_flag = args;
  with_flag.push_back("--allow-skips");
  auto allowed = vslab(with_flag);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
}

// Without the capabilities a topology needs, the commands that build one say so and exit 4
// before they start, rather than reporting every cell or case as skipped with status 0.
TEST(VslabCli, WithoutRootTheRunningCommandsExitWith4) {
  SKIP_UNLESS_ROOT();  // to become someone else: nobody, with no capabilities
  if (!std::filesystem::exists("/usr/bin/setpriv")) GTEST_SKIP() << "needs setpriv (util-linux)";
  const std::string a_case = std::string(VSLAB_SOURCE_DIR) + "/fixtures/pcap/nat-tcp-handshake";
  for (const auto& args : std::initializer_list<std::vector<std::string>>{
           {"replay", a_case},
           {"conform", "--filter", "nat/rr/rewrite/*"},
           {"diff", "--against", "builtin", "--filter", "nat/rr/rewrite/*"}}) {
    std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                       "--clear-groups", kVslab};
    as_nobody.insert(as_nobody.end(), args.begin(), args.end());
    auto r = run_command(as_nobody);
    EXPECT_EQ(r.exit_code, 4) << args.front() << ": " << r.output;
    EXPECT_NE(r.output.find("needs root"), std::string::npos) << args.front() << ": " << r.output;
  }
}

TEST(VslabCli, CheckNamesFileLineAndProblem) {
  auto path =
      std::filesystem::temp_directory_path() / ("vslab-bad-" + std::to_string(getpid()) + ".toml");
  std::ofstream(path) << "name = \"bad\"\n[[node]]\nname = \"a\"\ncolour = \"blue\"\n";
  auto r = vslab({"topo", "check", path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(path.string() + ":4:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("colour"), std::string::npos) << r.output;
}

TEST(VslabCli, CheckAcceptsEveryShippedTopology) {
  for (const char* name : {"selftest", "nat", "dr", "tun", "fullnat"}) {
    auto r = vslab({"topo", "check", topology_file(name)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
}

TEST(VslabCli, ScriptPastedIntoAShellBuildsTheTopology) {
  SKIP_UNLESS_ROOT();
  // A prefix gc understands, so that a crash here leaves nothing gc cannot remove.
  Naming naming{new_run_prefix()};
  auto script = vslab({"topo", "script", topology_file("dr"), "--prefix", naming.prefix});
  ASSERT_EQ(script.exit_code, 0) << script.output;
  EXPECT_NE(script.output.find("ip netns add " + naming.prefix + "-director"), std::string::npos);

  auto built = run_command({"sh", "-c", script.output});
  auto parsed = parse_topology_file(topology_file("dr"));
  ASSERT_TRUE(parsed.ok());
  const auto& topology = *parsed.topology;
  std::string failures;
  if (!built.ok()) failures += "script failed: " + built.output;
  for (const auto& reach : topology.reachability) {
    auto ping = run_command({"ip", "netns", "exec", naming.node_netns(reach.from), "ping", "-n",
                             "-q", "-c", "1", "-i", "0.2", "-w", "3", reach.to});
    if (!ping.ok()) failures += reach.from + " cannot reach " + reach.to + "\n";
  }
  auto lo = run_command({"ip", "-n", naming.node_netns("rs2"), "-br", "addr", "show", "lo"});
  for (const auto& ns : netns_names(topology, naming)) delete_netns(ns);
  EXPECT_EQ(failures, "");
  EXPECT_NE(lo.output.find("10.30.0.100/32"), std::string::npos) << lo.output;
}

// Starts `vslab topo up FILE` and returns its pid once it says it is ready.
pid_t start_topo_up(const std::string& file, FILE** out) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    execl(kVslab.c_str(), kVslab.c_str(), "topo", "up", file.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  *out = fdopen(fds[0], "r");
  char line[512];
  while (fgets(line, sizeof line, *out))
    if (std::string(line).rfind("ready", 0) == 0) return pid;
  return -1;
}

std::vector<std::string> namespaces_of_pid(pid_t pid) {
  std::vector<std::string> found;
  for (const auto& ns : list_netns())
    if (ns.rfind("vsl-" + std::to_string(pid) + "-", 0) == 0) found.push_back(ns);
  return found;
}

TEST(VslabCli, GcRemovesWhatAKilledTopoUpLeftBehind) {
  SKIP_UNLESS_ROOT();
  FILE* out = nullptr;
  pid_t pid = start_topo_up(topology_file("nat"), &out);
  ASSERT_GT(pid, 0) << "vslab topo up never said ready";
  // client, router, director, rs1..rs3 and the bridges' namespace.
  EXPECT_EQ(namespaces_of_pid(pid).size(), 7u);

  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(out);
  ASSERT_EQ(namespaces_of_pid(pid).size(), 7u) << "SIGKILL leaves everything in place";

  auto gc = vslab({"topo", "gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.output;
  EXPECT_NE(gc.output.find("vsl-" + std::to_string(pid) + "-1 (nat, owner pid " +
                           std::to_string(pid) + "): 7 namespace(s) removed"),
            std::string::npos)
      << gc.output;
  EXPECT_TRUE(namespaces_of_pid(pid).empty());
  EXPECT_FALSE(std::filesystem::exists(runs_dir() + "/vsl-" + std::to_string(pid) + "-1"));
}

TEST(VslabCli, TopoUpRemovesItsTopologyOnSigterm) {
  SKIP_UNLESS_ROOT();
  FILE* out = nullptr;
  pid_t pid = start_topo_up(topology_file("selftest"), &out);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(namespaces_of_pid(pid).size(), 3u);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(namespaces_of_pid(pid).empty());
}

TEST(VslabCli, ExecRunsInsideTheNodeOfTheOnlyRun) {
  SKIP_UNLESS_ROOT();
  FILE* out = nullptr;
  pid_t pid = start_topo_up(topology_file("selftest"), &out);
  ASSERT_GT(pid, 0);
  auto prefix = "vsl-" + std::to_string(pid) + "-1";
  auto r =
      vslab({"topo", "exec", "--run", prefix, "server", "--", "ip", "-br", "addr", "show", "eth0"});
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  fclose(out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("10.2.0.2/24"), std::string::npos) << r.output;
}

// ---- Signals: a run stopped by SIGINT (a terminal's ^C, sent to vslab's whole process group)
// or SIGTERM (a CI's timeout, sent to vslab alone) tears down what it made, writes what it has
// with the cells it did not run marked so, and exits 128 + the signal.

using Clock = std::chrono::steady_clock;

// vslab started in a process group of its own, as a shell starts a foreground job; its output
// goes to a file.
struct Job {
  os::ChildProcess process;
  std::filesystem::path dir;
  std::string output() const {
    std::ifstream in(dir / "output");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
};

// A fresh folder for a job's output and reports.
std::filesystem::path job_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("vslab-signal-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Job start_job(const std::filesystem::path& dir, std::vector<std::string> args) {
  Job job;
  job.dir = dir;
  os::UniqueFd out(
      open((job.dir / "output").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  os::SpawnOptions options;
  options.stdout_fd = out.get();
  options.stderr_fd = out.get();
  options.new_process_group = true;
  args.insert(args.begin(), kVslab);
  job.process = os::ChildProcess::spawn(args, options);
  return job;
}

// The runs a job made, by itself or by its -j workers (their records name it as an ancestor).
std::vector<RunInfo> runs_of(pid_t pid) {
  std::vector<RunInfo> out;
  for (auto& run : list_runs()) {
    bool owned = run.record.owner_pid == pid;
    for (const auto& p : run.record.ancestry) owned = owned || p.pid == pid;
    if (owned) out.push_back(std::move(run));
  }
  return out;
}

// Waits until one of the job's runs has a process running in its `node`'s namespace (vsd in
// the director's, the traffic command in the client's): the run is under way. Returns the
// prefixes of the job's runs seen so far.
std::set<std::string> wait_until_running(const Job& job, const std::string& node) {
  std::set<std::string> prefixes;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !job.process.has_exited()) {
    bool busy = false;
    for (const auto& run : runs_of(job.process.pid())) {
      prefixes.insert(run.record.prefix);
      busy = busy || !pids_in_netns(run.record.prefix + "-" + node).empty();
    }
    if (busy) return prefixes;
    poll(nullptr, 0, 20);
  }
  ADD_FAILURE() << "no run of the job had a process in " << node << " within 60 s:\n"
                << job.output();
  return prefixes;
}

// Processes whose command line names the prefix (vsd's socket is in /run/vslab/<prefix>/).
std::vector<int> processes_naming(const std::string& prefix) {
  std::vector<int> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(prefix + "-") != std::string::npos ||
        cmdline.find(prefix + "/") != std::string::npos)
      found.push_back(std::stoi(name));
  }
  return found;
}

std::string signal_word(int signo) {
  return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "SIGHUP";
}

// Signals the job as the test says, waits for its end and checks its status and that it left
// nothing: no namespace, record, run files or process of any run it made.
void stop_and_check(Job& job, int signo, const std::set<std::string>& prefixes) {
  // ^C from a terminal reaches the whole foreground group; a CI's timeout only vslab.
  if (signo == SIGINT)
    ASSERT_EQ(kill(-job.process.pid(), SIGINT), 0);
  else
    ASSERT_TRUE(job.process.signal(signo));
  const pid_t pid = job.process.pid();
  auto status = job.process.wait_until(Clock::now() + std::chrono::seconds(60));
  ASSERT_TRUE(status.has_value()) << "still running 60 s after the signal:\n" << job.output();
  EXPECT_EQ(os::exit_code_of(*status), 128 + signo) << job.output();
  EXPECT_NE(job.output().find("interrupted by " + signal_word(signo)), std::string::npos)
      << job.output();
  EXPECT_FALSE(prefixes.empty());
  for (const auto& prefix : prefixes) {
    for (const auto& ns : list_netns())
      EXPECT_NE(ns.rfind(prefix, 0), 0u) << "namespace left: " << ns;
    EXPECT_FALSE(std::filesystem::exists(runs_dir() + "/" + prefix)) << "record left: " << prefix;
    EXPECT_FALSE(std::filesystem::exists(run_files_dir(prefix))) << "run files left: " << prefix;
    EXPECT_EQ(processes_naming(prefix), std::vector<int>{}) << "processes left of " << prefix;
  }
  EXPECT_TRUE(runs_of(pid).empty());
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class VslabSignals : public testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (!have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to build topologies";
  }
  std::string sig() const { return signal_word(GetParam()); }
};

TEST_P(VslabSignals, ConformWritesPartialReportsAndLeavesNothing) {
  // SIGTERM at -j2: the workers hear of it from vslab, which a CI's kill alone reaches.
  const std::string jobs = GetParam() == SIGINT ? "1" : "2";
  const auto dir = job_dir("conform-" + sig());
  const auto junit = dir / "junit.xml", json = dir / "report.json";
  auto job = start_job(dir, {"conform", "--filter", "*/rr/*", "-j", jobs, "--junit", junit.string(),
                             "--json", json.string()});
  auto prefixes = wait_until_running(job, "director");
  stop_and_check(job, GetParam(), prefixes);
  const std::string why = "interrupted by " + sig();
  EXPECT_NE(file_text(junit).find("<skipped type=\"not-run\" message=\"not run: " + why),
            std::string::npos)
      << file_text(junit);
  auto report = nlohmann::json::parse(file_text(json), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << file_text(json);
  std::size_t not_run = 0;
  for (const auto& cell : report["cells"])
    not_run += cell["outcome"] == "not-run" && cell["detail"].get<std::string>().rfind(why, 0) == 0;
  EXPECT_GT(not_run, 0u) << file_text(json);
  // Every selected cell is in the report, the ones not run included.
  EXPECT_NE(job.output().find(fmt::format("vslab conform: {} cells", report["cells"].size())),
            std::string::npos)
      << job.output();
  EXPECT_NE(job.output().find("not run"), std::string::npos) << job.output();
  std::filesystem::remove_all(job.dir);
}

TEST_P(VslabSignals, ReplayListsTheCasesNotRunAndLeavesNothing) {
  std::vector<std::string> args{"replay"};
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(VSLAB_SOURCE_DIR) + "/fixtures/pcap"))
    if (entry.is_directory()) args.push_back(entry.path().string());
  const auto dir = job_dir("replay-" + sig());
  const auto junit = dir / "junit.xml", json = dir / "report.json";
  args.insert(args.end(), {"--junit", junit.string(), "--json", json.string()});
  auto job = start_job(dir, args);
  auto prefixes = wait_until_running(job, "director");
  stop_and_check(job, GetParam(), prefixes);
  EXPECT_NE(job.output().find("NOT RUN "), std::string::npos) << job.output();
  EXPECT_NE(job.output().find(" not run"), std::string::npos) << job.output();
  // The partial reports: the cases not run are in both, marked so.
  EXPECT_NE(file_text(junit).find("<skipped type=\"not-run\""), std::string::npos)
      << file_text(junit);
  auto report = nlohmann::json::parse(file_text(json), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << file_text(json);
  EXPECT_GT(report["totals"]["not_run"].get<int>(), 0) << file_text(json);
  std::filesystem::remove_all(dir);
}

TEST_P(VslabSignals, DiffWritesItsJsonWithTheCellsNotRunAndLeavesNothing) {
  const auto dir = job_dir("diff-" + sig());
  const auto json = dir / "diff.json";
  const auto junit = dir / "diff.xml";
  auto job =
      start_job(dir, {"diff", "--against", "builtin", "--filter", "nat/*", "--json", json.string(),
                      "--junit", junit.string(), "--out", (dir / "out").string()});
  auto prefixes = wait_until_running(job, "director");
  stop_and_check(job, GetParam(), prefixes);
  EXPECT_NE(job.output().find("NOT RUN nat/"), std::string::npos) << job.output();
  auto report = nlohmann::json::parse(file_text(json), nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << file_text(json);
  std::size_t not_run = 0;
  for (const auto& cell : report["cells"]) not_run += cell["result"] == "not-run";
  EXPECT_GT(not_run, 0u);
  EXPECT_NE(file_text(junit).find("<skipped type=\"not-run\""), std::string::npos)
      << file_text(junit);
  std::filesystem::remove_all(dir);
}

TEST_P(VslabSignals, RecordStopsTheCommandAndTheServerAndWritesNothing) {
  const auto dir = job_dir("record-" + sig());
  std::ofstream(dir / "rules") << "-A -t 10.20.0.100:80 -s rr\n"
                                  "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m\n";
  auto job = start_job(dir, {"record", "--topology", "nat", "--topologies",
                             std::string(VSLAB_SOURCE_DIR) + "/topologies", "--rules",
                             (dir / "rules").string(), "--out", (dir / "case").string(), "--serve",
                             "rs1=exec busybox httpd -f -p 80", "--", "sleep", "4242"});
  // The traffic command runs: the server is up, the client sleeps.
  auto prefixes = wait_until_running(job, "client");
  stop_and_check(job, GetParam(), prefixes);
  EXPECT_FALSE(std::filesystem::exists(dir / "case" / "case.toml"));
  EXPECT_NE(job.output().find("no case written"), std::string::npos) << job.output();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Signals, VslabSignals, testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) {
                           return std::string(info.param == SIGINT    ? "Sigint"
                                              : info.param == SIGTERM ? "Sigterm"
                                                                      : "Sighup");
                         });

// A DUT that dies mid-run stops the run with one error, the cell it died in, reported as
// JUnit <error>; the cells after it are not run, not 100 failures "cannot reach vsd".
TEST(VslabCli, ConformStopsWithOneErrorWhenTheDutDies) {
  SKIP_UNLESS_ROOT();
  const auto dir = job_dir("dut-dies");
  const auto junit = dir / "junit.xml";
  auto job = start_job(dir, {"conform", "--filter", "nat/*", "--junit", junit.string()});
  auto prefixes = wait_until_running(job, "director");
  ASSERT_EQ(prefixes.size(), 1u);
  const std::string prefix = *prefixes.begin();
  // A cell has given vsd its rules: the cells are under way (vsd killed while it starts would
  // be a bed that did not come up, which the next cell tries again).
  const std::string vsadm = std::filesystem::path(kVslab).parent_path() / "vsadm";
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline &&
         run_command({vsadm, "--socket", run_files_dir(prefix) + "/vsd.sock", "-S", "-n"})
                 .output.find("-A ") == std::string::npos)
    poll(nullptr, 0, 20);
  std::vector<int> vsd = pids_in_netns(prefix + "-director");
  ASSERT_FALSE(vsd.empty());
  for (int pid : vsd) kill(pid, SIGKILL);
  auto status = job.process.wait_until(Clock::now() + std::chrono::seconds(120));
  ASSERT_TRUE(status.has_value()) << job.output();
  EXPECT_EQ(os::exit_code_of(*status), 1) << job.output();
  const auto xml = file_text(junit);
  EXPECT_NE(xml.find("errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error type=\"error\" message=\"the DUT died during this cell: vsd (pid"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("not run: the run stopped when the DUT died"), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure"), std::string::npos) << "no cell after it fails:\n" << xml;
  EXPECT_NE(job.output().find("the run stopped: the DUT died"), std::string::npos) << job.output();
  EXPECT_FALSE(std::filesystem::exists(runs_dir() + "/" + prefix));
  std::filesystem::remove_all(dir);
}

// A run another live process owns (here a child of the test, as a conform would) is not for
// `topo down` to take away without --force; with it, the run goes and its owner gets SIGTERM.
TEST(VslabCli, TopoDownRefusesALiveRunOfAnotherProcessWithoutForce) {
  SKIP_UNLESS_ROOT();
  auto parsed = parse_topology_file(topology_file("selftest"));
  ASSERT_TRUE(parsed.ok());
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  os::UniqueFd ready_in(ready[0]), ready_out(ready[1]);
  auto owner = os::ChildProcess::fork_running([&] {
    LiveTopology live(*parsed.topology);
    const std::string prefix = live.naming().prefix + "\n";
    if (write(ready_out.get(), prefix.data(), prefix.size()) < 0) return 1;
    ready_out.reset();
    pause();  // until the SIGTERM that --force sends
    return 0;
  });
  ready_out.reset();
  char buffer[64] = {};
  ASSERT_GT(read(ready_in.get(), buffer, sizeof buffer - 1), 0);
  const std::string prefix = std::string(buffer).substr(0, std::string(buffer).find('\n'));

  auto refused = vslab({"topo", "down", prefix});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("still running; not removing it (--force"), std::string::npos)
      << refused.output;
  EXPECT_TRUE(netns_exists(prefix + "-router"));
  EXPECT_FALSE(owner.has_exited());

  auto forced = vslab({"topo", "down", "--force", prefix});
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_FALSE(netns_exists(prefix + "-router"));
  const int status = owner.wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  EXPECT_FALSE(std::filesystem::exists(runs_dir() + "/" + prefix));
}

// --serve takes one NODE=COMMAND each time: the traffic command after -- keeps its options.
TEST(VslabCli, RecordServeIsNodeEqualsCommand) {
  auto r = vslab({"record", "--topology", "nat", "--rules", "/dev/null", "--out", "/nonexistent",
                  "--serve", "rs1", "--", "curl", "-s", "http://10.20.0.100/"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--serve 'rs1': give it as NODE=COMMAND"), std::string::npos) << r.output;
}

TEST(VslabCli, ABadPrefixIsAUsageError) {
  for (const std::string& bad :
       std::vector<std::string>{"bad prefix!", "a/b", "x.sw", "-lead", std::string(33, 'p')}) {
    auto r = vslab({"topo", "up", "--prefix", bad, topology_file("selftest")});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("--prefix"), std::string::npos) << r.output;
    EXPECT_EQ(vslab({"topo", "script", "--prefix", bad, topology_file("selftest")}).exit_code, 2);
  }
}

// A run made with a prefix of the user's names no pid: its record lists its namespaces, so
// list counts them and down removes them all.
TEST(VslabCli, ARunWithAUserPrefixIsListedAndRemovedWhole) {
  SKIP_UNLESS_ROOT();
  const std::string prefix = "clitest" + std::to_string(getpid());
  auto up = vslab({"topo", "up", "--detach", "--prefix", prefix, topology_file("selftest")});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_TRUE(netns_exists(prefix + "-router"));
  auto again = vslab({"topo", "up", "--detach", "--prefix", prefix, topology_file("selftest")});
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_NE(again.output.find("exists already"), std::string::npos) << again.output;

  auto list = vslab({"topo", "list"});
  auto line = list.output.find(prefix);
  ASSERT_NE(line, std::string::npos) << list.output;
  auto row = list.output.substr(line, list.output.find('\n', line) - line);
  EXPECT_NE(row.find("detached"), std::string::npos) << row;
  EXPECT_EQ(row.back(), '3') << "client, router and server: " << row;

  auto down = vslab({"topo", "down", prefix});
  EXPECT_EQ(down.exit_code, 0) << down.output;
  for (const auto& ns : list_netns()) EXPECT_NE(ns.rfind(prefix, 0), 0u) << ns;
  EXPECT_FALSE(std::filesystem::exists(runs_dir() + "/" + prefix));
}

}  // namespace
}  // namespace vslab::topo
