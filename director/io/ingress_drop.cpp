#include "io/ingress_drop.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vsd {
namespace {

// Runs nft with the script on its standard input; returns its exit status and output.
int run_nft(const std::string& script, std::string& output) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execlp("nft", "nft", "-f", "-", nullptr);
    dprintf(STDERR_FILENO, "nft: %s\n", std::strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  [[maybe_unused]] auto written = write(in[1], script.data(), script.size());
  close(in[1]);
  char buf[1024];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string IngressDrop::ruleset(const std::vector<std::string>& ifnames) {
  // "add" then "delete" makes the delete safe when no table exists (a clean restart).
  std::string s = "add table netdev vsd\ndelete table netdev vsd\ntable netdev vsd {\n";
  for (std::size_t i = 0; i < ifnames.size(); ++i)
    s += "  chain ingress" + std::to_string(i) + " {\n    type filter hook ingress device \"" +
         ifnames[i] + "\" priority 0; policy drop;\n  }\n";
  return s + "}\n";
}

IngressDrop::IngressDrop(const std::vector<std::string>& ifnames) {
  std::string output;
  if (run_nft(ruleset(ifnames), output) != 0)
    throw std::runtime_error("cannot install the ingress drop (nft): " + output);
}

IngressDrop::~IngressDrop() {
  std::string output;
  run_nft("delete table netdev vsd\n", output);
}

}  // namespace vsd
