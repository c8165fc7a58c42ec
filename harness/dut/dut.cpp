#include "dut/dut.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/config_reader.h"
#include "dut/run.h"
#include "topology/runs.h"

namespace vslab::dut {

BuiltinDut::BuiltinDut(std::string vsd_binary, std::string vsadm_binary,
                       std::vector<std::string> vsd_args)
    : vsd_(std::move(vsd_binary)),
      vsadm_(std::move(vsadm_binary)),
      vsd_args_(std::move(vsd_args)) {}

BuiltinDut::~BuiltinDut() {
  stop();
}

void BuiltinDut::start(const topo::LiveTopology& topology) {
  const auto* director = topology.topology().find_role("director");
  if (!director)
    throw std::runtime_error("topology '" + topology.topology().name + "' has no director node");
  netns_ = topology.netns(director->name);
  auto run_dir = std::filesystem::path(topo::run_files_dir(topology.naming().prefix));
  std::filesystem::create_directories(run_dir);
  socket_ = (run_dir / "vsd.sock").string();

  std::vector<std::string> argv{"ip", "netns", "exec", netns_, vsd_, "--socket", socket_};
  for (const auto& iface : director->interfaces) argv.insert(argv.end(), {"--port", iface.name});
  argv.insert(argv.end(), vsd_args_.begin(), vsd_args_.end());
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  log_path_ = (run_dir / "vsd.log").string();
  int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot create " + log_path_);
  pid_ = fork();
  if (pid_ == 0) {
    // stdout carries only the ready line; the log goes to a file nobody has to drain.
    dup2(out[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(log_fd);
  output_fd_ = out[0];

  // Ready is a line vsd prints once its ports and control socket are open.
  ready_line_.clear();  // a restart waits for the new vsd's line
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ready_line_.find("vsd: ready") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{output_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("vsd did not become ready within 10 s:\n" + log());
    char buf[1024];
    ssize_t n = read(output_fd_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("vsd exited before it was ready:\n" + log());
    ready_line_.append(buf, static_cast<size_t>(n));
  }
  close(output_fd_);
  output_fd_ = -1;
}

Result BuiltinDut::restore(const std::string& rules) {
  return run_with_input({vsadm_, "--socket", socket_, "-R"}, rules);
}

Result BuiltinDut::admin(const std::vector<std::string>& args) {
  std::vector<std::string> argv{vsadm_, "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_with_input(argv, "");
}

void BuiltinDut::stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (output_fd_ >= 0) {
    close(output_fd_);
    output_fd_ = -1;
  }
}

std::string BuiltinDut::log() const {
  std::ifstream in(log_path_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> parse_builtin_config(std::string_view text,
                                              const std::string& source_name) {
  ConfigErrors errors(source_name);
  std::vector<std::string> vsd_args;
  if (auto root = parse_config(text, source_name, errors)) {
    reject_unknown_keys(*root, {"vsd_args"}, "at top level", errors);
    if (auto args = optional_strings(*root, "vsd_args", errors))
      for (auto& arg : *args) vsd_args.push_back(std::move(arg.value));
  }
  errors.throw_if_any();
  return vsd_args;
}

std::unique_ptr<Dut> make_builtin_dut(const DutSpec& spec) {
  if (spec.vsd_binary.empty() || spec.vsadm_binary.empty())
    throw std::invalid_argument("builtin DUT: the paths of vsd and vsadm must be given");
  auto vsd_args = spec.vsd_args;
  if (!spec.config_file.empty())
    for (auto& arg : parse_builtin_config(read_config_text(spec.config_file), spec.config_file))
      vsd_args.push_back(std::move(arg));
  return std::make_unique<BuiltinDut>(spec.vsd_binary, spec.vsadm_binary, std::move(vsd_args));
}

}  // namespace vslab::dut
