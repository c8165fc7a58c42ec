// Real TCP and UDP for the scale-out scenario: servers in the real servers' namespaces that
// answer every question with their own name and the question, and clients that open many flows
// and ask, flow by flow, which real server answers. Sockets are opened inside a namespace and used
// from this one (docs/design.md: a socket stays bound to the namespace it was opened in).
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "os/unique_fd.h"

namespace vslab::scaleout {

// One TCP listener and one UDP socket per real server, bound to address:port (the VIP on the
// server's lo, so that UDP answers come from the VIP as DR needs), served by one thread until
// destroyed. Throws std::runtime_error when a socket cannot be opened.
class NameServers {
 public:
  struct Server {
    std::string name;   // what it answers: "rs1"
    std::string netns;  // where its sockets live
  };
  NameServers(const std::vector<Server>& servers, const std::string& address, uint16_t port);
  ~NameServers();
  NameServers(const NameServers&) = delete;
  NameServers& operator=(const NameServers&) = delete;

 private:
  struct Listening {
    std::string name;
    os::UniqueFd tcp, udp;
  };
  void serve();

  std::vector<Listening> listening_;
  os::UniqueFd stop_read_, stop_write_;
  std::thread thread_;
};

// A client's flow: a connected socket and the source port the director sees.
struct ClientFlow {
  os::UniqueFd fd;
  uint16_t port = 0;
};

// `count` TCP connections (handshake done) or connected UDP sockets from the netns to
// address:port, each from a port of its own. Throws std::runtime_error naming the flows that
// could not be opened within timeout_ms.
std::vector<ClientFlow> open_tcp_flows(const std::string& netns, const std::string& address,
                                       uint16_t port, int count, int timeout_ms);
std::vector<ClientFlow> open_udp_flows(const std::string& netns, const std::string& address,
                                       uint16_t port, int count);

// What came back on a flow for one message: the server's name, or why nothing did.
struct Answer {
  std::string server;
  std::string error;  // "reset", "closed", "refused", "no answer within N ms", ...
};
// Sends a question on each flow (all first, then waits), and collects the answer to it, one
// per flow; a late answer to an earlier ask on the same flow is passed over, not taken for it.
std::vector<Answer> ask_each(const std::vector<ClientFlow*>& flows, int timeout_ms);

}  // namespace vslab::scaleout
