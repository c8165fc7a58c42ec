// vsd's command line as a user meets it, run as a program: --test-fault is documented as a
// self-test switch, and a wrong fault name or a bad --rules file stops vsd at once, before it
// touches a namespace or a port (so this needs no root); --version.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "vslab_version.h"

namespace {

struct VsdRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

VsdRun run_vsd(const std::string& arguments) {
  std::string command = std::string(VSLAB_VSD_BINARY) + " " + arguments + " 2>&1";
  VsdRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    run.output.append(buffer.data(), n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(VsdTestFault, HelpSaysItIsForSelfTestsAndNamesEveryFault) {
  VsdRun run = run_vsd("--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("--test-fault NAME"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("conformance self-tests only"), std::string::npos) << run.output;
  for (const char* name : {"no-ttl-decrement", "wrr-off-by-one", "no-nat-reply-rewrite"})
    EXPECT_NE(run.output.find(name), std::string::npos) << name;
}

TEST(VsdTestFault, AnUnknownNameExitsTwoWithOneClearLine) {
  VsdRun run = run_vsd("--port vslab-none0 --test-fault no-ttl-decrement --test-fault ttl-off");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "vsd: unknown test fault `ttl-off' (known: no-ttl-decrement, wrr-off-by-one, "
            "no-nat-reply-rewrite)\n");
}

// Known names pass the check: vsd goes on, says the director is wrong on purpose, and fails
// only later, on the port that does not exist.
TEST(VsdTestFault, KnownNamesAreTakenAndAnnounced) {
  VsdRun run = run_vsd(
      "--port vslab-none0 --test-fault wrr-off-by-one --test-fault no-nat-reply-rewrite "
      "--socket /nonexistent/vsd.sock");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("test fault wrr-off-by-one is on"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("test fault no-nat-reply-rewrite is on"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("vslab-none0"), std::string::npos) << run.output;
}

TEST(VsdVersion, NamesVslabAndItsVersion) {
  VsdRun run = run_vsd("--version");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(run.output, "vsd (vslab " VSLAB_VERSION ")\n");
}

// A rules file that cannot be read or parsed stops vsd at once, before it takes a port (the
// port named here does not exist, and the message is about the file).
TEST(VsdRules, AMissingFileStopsVsdNamingIt) {
  VsdRun run = run_vsd("--port vslab-none0 --rules /nonexistent/vsd.rules");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("vsd: /nonexistent/vsd.rules: No such file or directory"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("vslab-none0"), std::string::npos) << run.output;
}

TEST(VsdRules, AFileThatDoesNotParseStopsVsdNamingTheLine) {
  auto path = testing::TempDir() + "vsd-cli-" + std::to_string(getpid()) + ".rules";
  std::ofstream(path) << "-A -t 10.20.0.100:80 -s rr\n"
                         "\n"
                         "-a -t 10.20.0.100:80 -r 192.168.10.11 -m -w heavy\n";
  VsdRun run = run_vsd("--port vslab-none0 --rules " + path);
  std::remove(path.c_str());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("vsd: " + path + ": line 3: "), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("vslab-none0"), std::string::npos) << run.output;
}

// --port is required only when vsd is to serve; --cleanup takes ports of its own.
TEST(VsdPorts, HelpTellsOfTheClaimAndOfCleanup) {
  VsdRun run = run_vsd("--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_NE(run.output.find("A port another live vsd serves is refused"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("--cleanup [PORT] ..."), std::string::npos) << run.output;
}

TEST(VsdPorts, NoPortIsAUsageError) {
  VsdRun run = run_vsd("--socket /nonexistent/vsd.sock");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output.rfind("--port is required\n", 0), 0u) << run.output;
}

// The same words as vsadm -R gives (both restore through ctl::apply_restore): what is wrong
// with the line, not a pointer to -h.
TEST(VsdRules, AGarbageLineSaysWhatIsWrongWithIt) {
  auto path = testing::TempDir() + "vsd-cli-garbage-" + std::to_string(getpid()) + ".rules";
  for (const auto& [line, words] :
       {std::pair<std::string, std::string>{"garbage here", "line 2: `garbage' is not an option"},
        {"-A -t 10.20.0.101:80 --bogus", "line 2: --bogus: unknown option"},
        {"-A -t 10.20.0.300:80", "line 2: illegal virtual server address[:port] specified"}}) {
    std::ofstream(path) << "-A -t 10.20.0.100:80 -s rr\n" << line << "\n";
    VsdRun run = run_vsd("--port vslab-none0 --rules " + path);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(run.output.find("vsd: " + path + ": " + words), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("Try "), std::string::npos) << run.output;
  }
  std::remove(path.c_str());
}

// --conn-table-size: its cost per entry in --help; a size out of range, or one that does not fit
// in memory, stops vsd at once with a line that says why (before any port is taken).
TEST(VsdConnTableSize, HelpStatesTheBytesPerEntry) {
  VsdRun run = run_vsd("--help");
  EXPECT_NE(run.output.find("--conn-table-size N"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("64 bytes each"), std::string::npos) << run.output;
}

TEST(VsdConnTableSize, ASizeOutOfRangeIsRefused) {
  for (const char* size : {"8", "0", "-5", "many", "4294967296"}) {
    VsdRun run = run_vsd(std::string("--port vslab-none0 --conn-table-size ") + size);
    EXPECT_EQ(run.exit_code, 2) << size;
    EXPECT_NE(run.output.find("--conn-table-size"), std::string::npos) << size << run.output;
    EXPECT_EQ(run.output.find("vslab-none0"), std::string::npos) << size << run.output;
  }
}

TEST(VsdConnTableSize, ATableLargerThanMemoryIsRefusedWithItsSize) {
  VsdRun run = run_vsd("--port vslab-none0 --conn-table-size 2147482624");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("--conn-table-size 2147482624 needs 131071 MiB"), std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("vslab-none0"), std::string::npos) << run.output;
}

// --sysctl is checked before any namespace or port, as the kernel checks a write to /proc/sys.
TEST(VsdSysctl, HelpNamesTheOptionAndTheAlias) {
  VsdRun run = run_vsd("--help");
  EXPECT_NE(run.output.find("--sysctl NAME=VALUE"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("The same as --sysctl sloppy_tcp=1"), std::string::npos) << run.output;
}

TEST(VsdSysctl, AnUnknownNameExitsTwoNamingIt) {
  VsdRun run = run_vsd("--port vslab-none0 --sysctl net.ipv4.vs.expire_nodest=1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "vsd: unknown sysctl 'net.ipv4.vs.expire_nodest': vsd knows the net.ipv4.vs "
            "settings of Linux 6.1\n");
}

TEST(VsdSysctl, AValueOutOfRangeExitsTwoWithTheRange) {
  VsdRun run = run_vsd("--port vslab-none0 --sysctl drop_packet=7");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "vsd: invalid value '7' for net.ipv4.vs.drop_packet: allowed is 0 (off), 1 (on while "
            "memory is short), 2, or 3 (always on)\n");
}

TEST(VsdSysctl, WithoutAnEqualsSignExitsTwo) {
  VsdRun run = run_vsd("--port vslab-none0 --sysctl conn_reuse_mode");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output, "vsd: --sysctl conn_reuse_mode: expected NAME=VALUE\n");
}

TEST(VsdSysctl, ASyncPortsNotAPowerOfTwoIsRefused) {
  VsdRun run = run_vsd("--port vslab-none0 --sysctl sync_ports=3");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(
      run.output.find("invalid value '3' for net.ipv4.vs.sync_ports: allowed is a power of 2"),
      std::string::npos)
      << run.output;
}

// Good settings pass the check: vsd goes on and fails only later, on the port.
TEST(VsdSysctl, KubeProxysSettingsAndTheAliasAreTaken) {
  VsdRun run = run_vsd(
      "--port vslab-none0 --sysctl expire_nodest_conn=1 --sysctl "
      "net.ipv4.vs.expire_quiescent_template=1 --sysctl conn_reuse_mode=0 --sloppy-tcp "
      "--socket /nonexistent/vsd.sock");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.output.find("sysctl"), std::string::npos) << run.output;
}

}  // namespace
