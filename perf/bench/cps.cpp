#include "bench/cps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

bool on_path(const std::string& program) {
  return topo::run_command({"sh", "-c", "command -v " + program}).ok();
}

// Whether a TCP connection to address:80 opens from inside the namespace.
bool port_open(const std::string& netns, vsd::Ipv4 address) {
  topo::NetnsGuard in(netns);
  const os::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(80);
  to.sin_addr.s_addr = htonl(address.value);
  timeval limit{0, 200000};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  return connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
}

}  // namespace

std::string cps_unavailable() {
  for (const char* program : {"wrk", "nginx"})
    if (!on_path(program))
      return fmt::format("{} is not installed (scripts/setup.sh installs wrk and nginx-light)",
                         program);
  return {};
}

WebServer::WebServer(const Setup& setup, const std::string& run_dir, int core) {
  std::filesystem::create_directories(run_dir);
  auto conf = run_dir + "/nginx.conf";
  std::ofstream(conf) << fmt::format(
      "worker_processes 1; daemon off; master_process off;\n"
      "pid {0}/nginx.pid; error_log {0}/nginx.err error;\n"
      "events {{ worker_connections 8192; }}\n"
      "http {{ access_log off; client_body_temp_path {0}; proxy_temp_path {0};\n"
      "  server {{ listen 80 backlog=8192; location / {{ return 200 \"ok\\n\"; }} }} }}\n",
      run_dir);
  std::vector<std::string> argv{
      "ip",    "netns", "exec", setup.path().sink_netns, "taskset", "-c", std::to_string(core),
      "nginx", "-c",    conf};
  nginx_ = os::ChildProcess::spawn(argv);
  // Ready when it accepts a connection; give up after 5 s.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!port_open(setup.path().sink_netns, setup.path().server)) {
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("nginx did not start in " + setup.path().sink_netns + " (" +
                               run_dir + "/nginx.err)");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

WebServer::~WebServer() {
  nginx_.stop(SIGTERM);
}

CpsResult measure_cps(const Setup& setup, double seconds, int core) {
  auto url = "http://" + setup.path().destination.str() + "/";
  auto r = topo::run_command({"ip", "netns", "exec", setup.path().client_netns, "taskset", "-c",
                              std::to_string(core), "wrk", "-t1", "-c64",
                              fmt::format("-d{}s", std::max(1, int(seconds + 0.5))), "-H",
                              "Connection: close", url});
  if (!r.ok()) throw std::runtime_error("wrk failed: " + r.output);
  CpsResult result;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex(R"(Requests/sec:\s+([0-9.]+))")))
    result.connections_per_second = std::stod(m[1]);
  std::regex errors(R"((Socket errors|Non-2xx)[^\n]*)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), errors);
       it != std::sregex_iterator(); ++it)
    result.errors += (result.errors.empty() ? "" : "; ") + it->str();
  return result;
}

}  // namespace vslab::bench
