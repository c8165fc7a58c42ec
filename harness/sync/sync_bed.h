// Connection synchronization against the kernel's own: topologies/sync.toml with Debian's
// kernel IPVS (under qemu) on director2 and, when asked, vsd on director, the same rules on
// both; real TCP and UDP from the client's namespace to sockets of this process in the real
// servers' namespaces, so a test knows each connection's packets one by one; and the
// `-L -n -c` listings of both, parsed. For the tests of director/sync/ that hold vsd's sync
// daemon and the codec against the kernel's (docs/ipvs.md section 14).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "dut/qemu/qemu_kernel_dut.h"
#include "os/unique_fd.h"
#include "topology/live.h"

namespace vslab::sync {

inline constexpr const char* kVip = "10.20.0.100";
inline constexpr const char* kClient = "10.10.0.2";
inline constexpr const char* kVsdNode = "director";
inline constexpr const char* kKernelNode = "director2";
inline constexpr const char* kSyncInterface = "eth1";  // both directors' rsnet port
// What both directors serve: NAT, rr, both real servers; TCP :80, UDP :53, and TCP :81
// persistent for 60 s (so that templates are synced too).
inline constexpr const char* kSyncRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m -w 1\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.12:80 -m -w 1\n"
    "-A -u 10.20.0.100:53 -s rr\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.11:53 -m -w 1\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.12:53 -m -w 1\n"
    "-A -t 10.20.0.100:81 -s rr -p 60\n"
    "-a -t 10.20.0.100:81 -r 192.168.10.11:81 -m -w 1\n"
    "-a -t 10.20.0.100:81 -r 192.168.10.12:81 -m -w 1\n";

// One line of `ipvsadm -L -n -c` (vsadm prints the same).
struct ListedConn {
  std::string protocol;                              // TCP, UDP
  int expire_s = 0;                                  // mm:ss as seconds
  std::string state;                                 // ESTABLISHED, UDP, NONE (a template), ...
  std::string source, virtual_address, destination;  // addr:port
  std::string str() const;
};
// The entries of a listing; throws std::runtime_error on a line it cannot read.
std::vector<ListedConn> parse_connection_listing(const std::string& text);

// A TCP connection from the client to the VIP and the real server's end of it.
struct TcpFlow {
  os::UniqueFd client, server;
  uint16_t client_port = 0;
  std::string server_node;  // rs1 or rs2
};
struct UdpFlow {
  os::UniqueFd client;
  uint16_t client_port = 0;
  std::string server_node;  // who got the last datagram
};

class SyncBed {
 public:
  // Brings the topology up and boots the kernel guest on director2, with vsd on director when
  // with_vsd. Throws dut::DutUnavailable when qemu or the kernel package is missing.
  SyncBed(bool with_vsd, std::string vsd_binary = {}, std::string vsadm_binary = {});
  ~SyncBed();
  SyncBed(const SyncBed&) = delete;
  SyncBed& operator=(const SyncBed&) = delete;

  topo::LiveTopology& live() { return *live_; }
  dut::qemu::QemuKernelDut& kernel() { return *kernel_; }
  dut::BuiltinDut& vsd();
  // The same rules (ipvsadm save format) on each director there is. Throws on a refusal.
  void restore(const std::string& rules);
  // Sends the client's traffic through `node` (kVsdNode or kKernelNode): the router's neighbour
  // entry for the VIP (permanent, to the node's MAC) and the real servers' default routes. The
  // kernel guest holds the VIP only while it is the one.
  void route_through(const std::string& node);
  // The guest runs the script; its output, or throws with it when it fails.
  std::string kernel_shell(const std::string& script);
  // One ipvsadm command on vsd (vsadm); its output, or throws with it when it fails.
  std::string vsd_admin(const std::vector<std::string>& args);

  // Listening TCP and bound UDP sockets on both real servers at these ports.
  void listen(const std::vector<uint16_t>& tcp_ports, const std::vector<uint16_t>& udp_ports);
  // Connects from the client's `client_port` to VIP:port and accepts it at a real server.
  TcpFlow connect(uint16_t client_port, uint16_t port);
  // One segment of `bytes` bytes from the client, waited for at the real server.
  void send(TcpFlow& flow, std::size_t bytes = 1);
  // The client closes, the server reads the end and closes too, the client reads its end.
  void close_both(TcpFlow& flow);
  // The client closes only (its FIN), the server reads the end of file.
  void close_client(TcpFlow& flow);
  UdpFlow udp(uint16_t client_port, uint16_t port);
  // One datagram from the client, waited for at a real server.
  void send(UdpFlow& flow);

 private:
  std::unique_ptr<topo::LiveTopology> live_;
  std::unique_ptr<dut::qemu::QemuKernelDut> kernel_;
  std::unique_ptr<dut::BuiltinDut> vsd_;
  std::vector<std::pair<std::string, os::UniqueFd>> tcp_listeners_, udp_servers_;
};

// The whole of a bounded wait: true once done() holds, false at the deadline.
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds deadline);

}  // namespace vslab::sync
