// vslab's command line as a user meets it: help everywhere, errors for bad files, a script
// that builds the topology by hand, and gc after a `vslab topo up` killed with SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace vslab::topo
