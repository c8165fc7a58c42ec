// Two vsd on one pair of segments, for the sync daemon's tests: a master (node "master") and a
// backup (node "backup"), both NAT directors with the same rules. The router reaches the VIP
// through the master only (a permanent neighbour entry: the VIP does not move here), and the
// real servers route back through the master. Each vsd is started as a program in its node's
// namespace with a control socket of its own, and stopped with the bed.
//
//   client --- router ===(front)=== master eth0 10.20.0.2, backup eth0 10.20.0.3
//                        (back) === master eth1 192.168.10.1, backup eth1 192.168.10.2,
//                                   rs1 192.168.10.11, rs2 192.168.10.12
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dut/run.h"
#include "os/child_process.h"
#include "os/unique_fd.h"
#include "topology/live.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vsd {

inline constexpr const char* kSyncBedTopology = R"(
name = "sync"
description = "a vsd master and a vsd backup on shared segments"
[lvs]
mode = "nat"
vip = "10.20.0.100"
[[node]]
name = "client"
role = "client"
routes = [{ to = "default", via = "10.10.0.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["10.10.0.2/24"]
[[node]]
name = "router"
role = "router"
sysctls = { "net.ipv4.ip_forward" = 1 }
  [[node.interface]]
  name = "eth0"
  addresses = ["10.10.0.1/24"]
  [[node.interface]]
  name = "eth1"
  addresses = ["10.20.0.1/24"]
[[node]]
name = "master"
role = "director"
sysctls = { "net.ipv4.ip_forward" = 0 }
routes = [{ to = "default", via = "10.20.0.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["10.20.0.2/24"]
  [[node.interface]]
  name = "eth1"
  addresses = ["192.168.10.1/24"]
[[node]]
name = "backup"
role = "backup"
sysctls = { "net.ipv4.ip_forward" = 0 }
routes = [{ to = "default", via = "10.20.0.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["10.20.0.3/24"]
  [[node.interface]]
  name = "eth1"
  addresses = ["192.168.10.2/24"]
[[node]]
name = "rs1"
role = "rs1"
routes = [{ to = "default", via = "192.168.10.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["192.168.10.11/24"]
[[node]]
name = "rs2"
role = "rs2"
routes = [{ to = "default", via = "192.168.10.1" }]
  [[node.interface]]
  name = "eth0"
  addresses = ["192.168.10.12/24"]
[[link]]
a = "client:eth0"
b = "router:eth0"
[[bridge]]
name = "front"
ports = ["router:eth1", "master:eth0", "backup:eth0"]
[[bridge]]
name = "back"
ports = ["master:eth1", "backup:eth1", "rs1:eth0", "rs2:eth0"]
)";

// One vsd started as a program in a node's namespace.
class VsdProcess {
 public:
  VsdProcess(const vslab::topo::LiveTopology& live, const std::string& node,
             const std::string& run_dir)
      : socket_(run_dir + "/" + node + ".sock"), log_path_(run_dir + "/" + node + ".log") {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    vslab::os::UniqueFd read_end(out[0]), write_end(out[1]);
    vslab::os::UniqueFd log_fd(
        open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    vslab::os::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    vslab::os::SpawnOptions options;
    options.stdin_fd = null_fd.get();
    options.stdout_fd = write_end.get();
    options.stderr_fd = log_fd.get();
    options.new_process_group = true;
    process_ = vslab::os::ChildProcess::spawn(
        {"ip", "netns", "exec", live.netns(node), VSLAB_VSD_BINARY, "--socket", socket_, "--port",
         "eth0", "--port", "eth1", "--conn-table-size", "4096"},
        options);
    write_end.reset();
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen.find("vsd: ready") == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{read_end.get(), POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0)
        throw std::runtime_error(node + ": vsd did not become ready:\n" + log());
      char buf[256];
      const ssize_t n = read(read_end.get(), buf, sizeof buf);
      if (n <= 0) throw std::runtime_error(node + ": vsd exited:\n" + log());
      seen.append(buf, std::size_t(n));
    }
  }
  ~VsdProcess() { process_.stop(SIGTERM); }
  VsdProcess(const VsdProcess&) = delete;
  VsdProcess& operator=(const VsdProcess&) = delete;

  vslab::dut::Result vsadm(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv{VSLAB_VSADM_BINARY, "--socket", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return vslab::dut::run_with_input(argv, input);
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string socket_, log_path_;
  vslab::os::ChildProcess process_;
};

class SyncBed {
 public:
  SyncBed() : live_(parse()) {
    run_dir_ = std::filesystem::temp_directory_path() /
               ("vslab-sync-bed-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(run_dir_);
    // The router sends the VIP's traffic to the master only.
    auto pin =
        live_.exec("router", {"ip", "neigh", "replace", "10.20.0.100", "lladdr",
                              live_.mac("master", "eth0"), "dev", "eth1", "nud", "permanent"});
    if (!pin.ok()) throw std::runtime_error("ip neigh: " + pin.output);
    master_ = std::make_unique<VsdProcess>(live_, "master", run_dir_);
    backup_ = std::make_unique<VsdProcess>(live_, "backup", run_dir_);
  }
  ~SyncBed() {
    master_.reset();
    backup_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  }
  vslab::topo::LiveTopology& live() { return live_; }
  VsdProcess& master() { return *master_; }
  VsdProcess& backup() { return *backup_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  static vslab::topo::Topology parse() {
    auto parsed = vslab::topo::parse_topology(kSyncBedTopology, "sync_bed.h");
    if (!parsed.ok()) throw std::runtime_error("the sync bed's topology does not parse");
    return *parsed.topology;
  }
  vslab::topo::LiveTopology live_;
  std::string run_dir_;
  std::unique_ptr<VsdProcess> master_, backup_;
};

}  // namespace vsd
