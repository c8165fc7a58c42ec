#include "io/ingress_drop.h"

#include <fcntl.h>
#include <sys/wait.h>

#include <stdexcept>
#include <system_error>

#include "os/child_process.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vsd {
namespace {

// Runs nft with the script on its standard input; returns its exit status and output.
int run_nft(const std::string& script, std::string& output) {
  try {
    auto in = vslab::os::make_pipe(O_CLOEXEC);
    auto out = vslab::os::make_pipe(O_CLOEXEC);
    vslab::os::SpawnOptions options;
    options.stdin_fd = in.first.get();
    options.stdout_fd = out.second.get();
    options.stderr_fd = out.second.get();
    auto nft = vslab::os::ChildProcess::spawn({"nft", "-f", "-"}, options);
    in.first.reset();
    out.second.reset();
    vslab::os::write_all(in.second.get(), script);
    in.second.reset();
    vslab::os::read_to_end(out.first.get(), output);
    const int status = nft.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  } catch (const std::system_error&) {
    return -1;  // no pipe or no fork
  }
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
