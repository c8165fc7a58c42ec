// vsd's control socket: a unix stream socket, mode 0600 (root only), one newline-terminated
// JSON request per connection and one JSON response (ctl/protocol.h). Served from the data
// plane's own loop between two batches, so a rule change is applied whole or not at all and
// never races a packet.
#pragma once

#include <functional>
#include <string>

namespace vsd {

class ControlServer {
 public:
  // Creates the socket (and its directory); throws with the path and the reason.
  explicit ControlServer(std::string path);
  ~ControlServer();  // removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int fd() const { return listen_fd_; }
  const std::string& path() const { return path_; }
  // Accepts one pending client and answers it with handler(request line).
  void serve_one(const std::function<std::string(const std::string&)>& handler);

 private:
  std::string path_;
  int listen_fd_ = -1;
};

}  // namespace vsd
