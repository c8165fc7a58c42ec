// vsd's control socket: a unix stream socket, mode 0600 (root only), one newline-terminated
// JSON request per connection and one JSON response (ctl/protocol.h). Served on a thread of
// its own, so a vsadm that stalls mid-request holds up other vsadm calls at most, never
// forwarding; the handler reaches the data plane through a CallQueue.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "os/unique_fd.h"

namespace vsd {

class ControlServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;

  // Creates the socket (and its directory) and starts serving; throws with the path and the
  // reason when the socket cannot be made.
  ControlServer(std::string path, Handler handler);
  ~ControlServer();  // stops serving, removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }
  // Stops accepting and waits for the request in progress; idempotent.
  void stop();

 private:
  void serve();
  void serve_client(int fd);

  std::string path_;
  Handler handler_;
  vslab::os::UniqueFd listen_fd_;
  vslab::os::UniqueFd stop_fd_;
  std::thread thread_;
};

}  // namespace vsd
