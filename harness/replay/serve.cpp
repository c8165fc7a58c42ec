// serve.cpp: programs of a recording started in their nodes' namespaces, ready when they hold a
// socket that serves, stopped with their whole process group.
#include "replay/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "os/interrupt.h"
#include "os/unique_fd.h"
#include "topology/runs.h"

namespace vslab::replay {
namespace {

using Clock = std::chrono::steady_clock;

// Sockets that serve in the calling thread's namespace: TCP listening, UDP bound.
int serving_sockets() {
  int count = 0;
  for (const char* table : {"tcp", "tcp6", "udp", "udp6"}) {
    std::ifstream in(std::string("/proc/thread-self/net/") + table);
    std::string line;
    std::getline(in, line);  // the header
    const bool tcp = table[0] == 't';
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (!tcp || state == "0A") ++count;  // 0A: TCP_LISTEN
    }
  }
  return count;
}

int serving_sockets_in(const std::string& netns) {
  topo::NetnsGuard inside(netns);
  return serving_sockets();
}

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string env_name(const std::string& node) {
  std::string out = "VSLAB_NETNS_";
  for (char c : node)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

}  // namespace

void stop_group(os::ChildProcess& child, std::chrono::milliseconds grace) {
  if (!child.owns()) return;
  child.signal_group(SIGTERM);
  if (!child.wait_until(Clock::now() + grace)) child.kill_and_reap();
}

std::string Served::output() const {
  return file_text(log);
}

std::vector<std::string> run_environment(const topo::LiveTopology& live) {
  std::vector<std::string> vars{"VSLAB_RUN=" + live.naming().prefix};
  for (const auto& node : live.topology().nodes)
    if (!live.is_external(node.name))
      vars.push_back(env_name(node.name) + "=" + live.netns(node.name));
  return vars;
}

Served start_serving(const topo::LiveTopology& live, const ServeCommand& serve, std::size_t index,
                     int ready_timeout_s) {
  if (!live.topology().find_node(serve.node))
    throw std::invalid_argument(fmt::format("--serve {}: topology '{}' has no node '{}'",
                                            serve.node, live.topology().name, serve.node));
  const std::string netns = live.netns(serve.node);
  const auto dir = std::filesystem::path(topo::run_files_dir(live.naming().prefix)) /
                   fmt::format("serve-{}-{}", index + 1, serve.node);
  std::filesystem::create_directories(dir);
  Served served{serve.node, {}, dir.parent_path() / (dir.filename().string() + ".log")};
  const int before = serving_sockets_in(netns);
  std::vector<std::string> argv{"ip", "netns", "exec", netns, "env"};
  for (const auto& var : run_environment(live)) argv.push_back(var);
  argv.insert(argv.end(), {"VSLAB_NODE=" + serve.node, "VSLAB_NETNS=" + netns,
                           "VSLAB_SERVE_DIR=" + dir.string(), "sh", "-c",
                           "cd \"$VSLAB_SERVE_DIR\" || exit 126\n" + serve.command});
  const os::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const os::UniqueFd log_fd(
      open(served.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd) throw std::runtime_error("cannot create " + served.log.string());
  os::SpawnOptions options;
  options.stdin_fd = null_fd.get();
  options.stdout_fd = log_fd.get();
  options.stderr_fd = log_fd.get();
  options.new_process_group = true;  // stopped as a whole, and ^C is for vslab
  options.parent_death_signal = SIGTERM;
  served.process = os::ChildProcess::spawn(argv, options);
  // A program says nothing when it is ready; a socket that serves in its namespace does.
  const auto deadline = Clock::now() + std::chrono::seconds(ready_timeout_s);
  while (serving_sockets_in(netns) <= before) {
    os::throw_if_interrupted();
    if (auto status = served.process.wait_until(Clock::now() + std::chrono::milliseconds(20))) {
      throw std::runtime_error(fmt::format("--serve {}='{}' exited ({}) before it served:\n{}",
                                           serve.node, serve.command, os::exit_code_of(*status),
                                           served.output()));
    }
    if (Clock::now() >= deadline) {
      stop_group(served.process, std::chrono::seconds(2));
      throw std::runtime_error(
          fmt::format("--serve {}='{}' opened no listening TCP or bound UDP socket within {} "
                      "s:\n{}",
                      serve.node, serve.command, ready_timeout_s, served.output()));
    }
  }
  return served;
}

std::optional<topo::CommandResult> run_unless_interrupted(const std::vector<std::string>& argv) {
  auto output = os::make_pipe(O_CLOEXEC);
  const os::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  os::SpawnOptions options;
  options.stdin_fd = null_fd.get();
  options.stdout_fd = output.second.get();
  options.stderr_fd = output.second.get();
  options.new_process_group = true;
  auto child = os::ChildProcess::spawn(argv, options);
  output.second.reset();
  topo::CommandResult result;
  for (;;) {
    if (os::interrupted()) {
      stop_group(child, std::chrono::seconds(2));
      return std::nullopt;
    }
    pollfd pfd{output.first.get(), POLLIN, 0};
    // A signal ends the poll early (EINTR); the timeout covers one that came just before it.
    if (poll(&pfd, 1, 200) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(output.first.get(), buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // end of output: the command and what it started are done with it
  }
  output.first.reset();
  result.exit_code = os::exit_code_of(child.wait());
  return result;
}

}  // namespace vslab::replay
