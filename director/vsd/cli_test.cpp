// vsd's command line as a user meets it, run as a program: --test-fault is documented as a
// self-test switch, and a wrong fault name stops vsd at once with exit 2, before it touches a
// namespace or a port (so this needs no root).
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

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

}  // namespace
