#include "dut/dut.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
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
  const auto* director = topology.topology().find_role(role_);
  if (!director)
    throw std::runtime_error("topology '" + topology.topology().name + "' has no " + role_ +
                             " node");
  netns_ = topology.netns(director->name);
  auto run_dir = std::filesystem::path(topo::run_files_dir(topology.naming().prefix));
  std::filesystem::create_directories(run_dir);
  const std::string stem = role_ == "director" ? "vsd" : "vsd-" + role_;
  socket_ = (run_dir / (stem + ".sock")).string();

  std::vector<std::string> argv{"ip", "netns", "exec", netns_, vsd_, "--socket", socket_};
  for (const auto& iface : director->interfaces) argv.insert(argv.end(), {"--port", iface.name});
  argv.insert(argv.end(), vsd_args_.begin(), vsd_args_.end());
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  output_fd_.reset(out[0]);
  os::UniqueFd output_end(out[1]);
  log_path_ = (run_dir / (stem + ".log")).string();
  os::UniqueFd log_fd(open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd) throw std::runtime_error("cannot create " + log_path_);
  // stdout carries only the ready line; the log goes to a file nobody has to drain.
  const os::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  os::SpawnOptions options;
  options.stdin_fd = null_fd.get();
  options.stdout_fd = output_end.get();
  options.stderr_fd = log_fd.get();
  // A terminal's ^C reaches the harness, which stops the run and then vsd; vsd killed by the
  // same ^C first would fail every cell still running with "cannot reach vsd".
  options.new_process_group = true;
  vsd_process_ = os::ChildProcess::spawn(argv, options);
  output_end.reset();  // vsd's end: its exit is then an end of file here
  log_fd.reset();

  // Ready is a line vsd prints once its ports and control socket are open.
  ready_line_.clear();  // a restart waits for the new vsd's line
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ready_line_.find("vsd: ready") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{output_fd_.get(), POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("vsd did not become ready within 10 s:\n" + log());
    char buf[1024];
    ssize_t n = read(output_fd_.get(), buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("vsd exited before it was ready:\n" + log());
    ready_line_.append(buf, static_cast<size_t>(n));
  }
  output_fd_.reset();
}

Result BuiltinDut::restore(const std::string& rules) {
  return run_with_input({vsadm_, "--socket", socket_, "-R"}, rules);
}

Result BuiltinDut::admin(const std::vector<std::string>& args) {
  std::vector<std::string> argv{vsadm_, "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_with_input(argv, "");
}

Result BuiltinDut::set_ipvs_sysctl(const std::string& name, const std::string& value) {
  return admin({"--sysctl", name + "=" + value});
}

void BuiltinDut::stop() {
  vsd_process_.stop(SIGTERM);
  output_fd_.reset();
}

std::optional<std::string> BuiltinDut::failure(bool look_closer) const {
  if (!vsd_process_.owns()) return std::nullopt;
  if (look_closer && !vsd_process_.has_exited() && !accepts_control()) {
    // Its socket refuses: vsd is on its way out, or wedged; give the exit 2 s to show.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!vsd_process_.has_exited() && std::chrono::steady_clock::now() < deadline)
      poll(nullptr, 0, 10);
    if (!vsd_process_.has_exited())
      return fmt::format("vsd (pid {}) no longer accepts control connections on {}",
                         vsd_process_.pid(), socket_);
  }
  if (!vsd_process_.has_exited()) return std::nullopt;
  std::string text = log();
  // The last lines say why, when vsd could say it.
  std::size_t cut = text.size();
  for (int lines = 0; cut > 0 && lines < 6; ++lines) {
    auto newline = text.rfind('\n', cut - 1);
    cut = newline == std::string::npos ? 0 : newline;
  }
  if (cut > 0) text = text.substr(cut + 1);
  return fmt::format("vsd (pid {}) is no longer running{}{}", vsd_process_.pid(),
                     text.empty() ? "" : "; its log ends:\n", text);
}

bool BuiltinDut::accepts_control() const {
  const os::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (!fd || socket_.size() >= sizeof address.sun_path) return true;  // cannot tell: assume so
  std::memcpy(address.sun_path, socket_.c_str(), socket_.size() + 1);
  return connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

// Where ldirectord looks for ipvsadm, in its order; vsadm is bound over each that exists.
constexpr const char* kIpvsadmPaths[] = {"/sbin/ipvsadm", "/usr/sbin/ipvsadm"};

Result Dut::set_ipvs_sysctl(const std::string& name, const std::string& /*value*/) {
  return {1, name + "'s DUT (" + this->name() + ") has no way to set net.ipv4.vs." + name};
}

std::string ipvs_sysctl_script(const std::string& name, const std::string& value) {
  const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == '_';
  });
  const bool value_ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == ' ' || c == 'x';
  });
  if (!name_ok || !value_ok)
    throw std::invalid_argument("not an IPVS sysctl assignment: " + name + "=" + value);
  return "echo '" + value + "' > /proc/sys/net/ipv4/vs/" + name;
}

std::optional<std::string> Dut::health_checker_unavailable() const {
  return name() + " runs no program beside the director for a health checker";
}

std::vector<std::string> Dut::beside_director(const std::vector<std::string>& /*argv*/) const {
  throw DutUnavailable(*health_checker_unavailable());
}

std::optional<std::string> BuiltinDut::health_checker_unavailable() const {
  // A bind mount needs a file to cover; Debian's ipvsadm package provides one.
  for (const char* path : kIpvsadmPaths) {
    if (access(path, F_OK) == 0) return std::nullopt;
  }
  return "neither /sbin/ipvsadm nor /usr/sbin/ipvsadm exists for vsadm to be bound over "
         "(apt-get install ipvsadm)";
}

std::vector<std::string> BuiltinDut::beside_director(const std::vector<std::string>& argv) const {
  if (auto why = health_checker_unavailable()) throw DutUnavailable(*why);
  if (netns_.empty()) throw std::logic_error("builtin DUT: beside_director before start");
  // A mount namespace of the checker's own (unshare makes its mounts private), so the
  // machine's /sbin/ipvsadm stays what it is. The script's $0 is vsadm, "$@" the checker.
  std::string script;
  for (const char* path : kIpvsadmPaths) {
    script += fmt::format("if [ -e {0} ]; then mount --bind \"$0\" {0} || exit 126; fi; ", path);
  }
  script += "exec \"$@\"";
  std::vector<std::string> out{"env",     "VSD_SOCKET=" + socket_,
                               "ip",      "netns",
                               "exec",    netns_,
                               "unshare", "--mount",
                               "sh",      "-c",
                               script,    vsadm_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
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

std::unique_ptr<Dut> make_dut_from_environment(const std::string& vsd_binary,
                                               const std::string& vsadm_binary) {
  DutSpec spec;
  if (const char* kind = std::getenv("VSLAB_DUT"); kind && *kind) spec.kind = kind;
  if (const char* file = std::getenv("VSLAB_DUT_CONFIG"); file && *file) spec.config_file = file;
  spec.vsd_binary = vsd_binary;
  spec.vsadm_binary = vsadm_binary;
  return make_dut(spec);
}

bool lists_line_with(const std::string& listing, const std::vector<std::string>& words) {
  std::istringstream lines(listing);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::set<std::string> held{std::istream_iterator<std::string>(in),
                               std::istream_iterator<std::string>()};
    if (std::all_of(words.begin(), words.end(), [&](const auto& w) { return held.count(w); }))
      return true;
  }
  return false;
}

}  // namespace vslab::dut
