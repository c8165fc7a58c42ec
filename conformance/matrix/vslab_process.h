// For the tests that run the vslab binary: a command's exit status and output, and a builtin
// DUT configuration that switches on one of vsd's test faults (vsd --test-fault).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace vslab::matrix {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

inline Output run(const std::string& cmd) {
  Output out;
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.text.append(buffer, n);
  int status = pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// A --dut-config file (in the test's temporary folder, named per process, so tests that run
// at the same time do not share one) for vsd with `fault` switched on.
inline std::string fault_config(const std::string& fault) {
  const std::string config =
      testing::TempDir() + "vslab-fault-" + std::to_string(getpid()) + "-" + fault + ".toml";
  std::ofstream(config) << "vsd_args = [\"--test-fault\", \"" << fault << "\"]\n";
  return config;
}

}  // namespace vslab::matrix
