// vsd's control socket: a unix stream socket, mode 0600 (root only), one newline-terminated
// JSON request per connection and its answer (ctl/protocol.h). No client can stop, slow down
// or bloat it for the others:
// - Many clients at once: one thread polls every client and the listener (reading requests,
//   writing answers, deadlines), and one handler thread makes the answers, a step each in turn
//   (ctl::Answer), so a listing of a million connections takes turns with a vsadm -A, and a
//   request that waits on the data plane never stops the reading of others.
// - A request must be complete (its '\n' received) within 3 s of the connect, and at most
//   ctl::kMaxRequestBytes long; otherwise the client gets an error line and is dropped.
// - An answer's client must keep reading: its answer is stepped only while less than
//   kOutputHighWater bytes wait for it, and a client that reads nothing for 30 s while output
//   waits is dropped.
// - At most 64 clients at once. One more: the oldest client still sending its request is
//   dropped with an error line; when every client is being answered, the new one is refused
//   with "vsd: too many control clients".
// - Memory: after a client whose buffers grew past a megabyte is gone, the heap is trimmed
//   (malloc_trim), so one 16 MB request does not leave vsd 16 MB larger for good.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctl/protocol.h"
#include "os/unique_fd.h"

namespace vsd {

// The defaults are what vsd runs with (see the top of this file).
struct ControlLimits {
  std::chrono::milliseconds request_deadline{3000};  // from the connect to the request's '\n'
  std::chrono::milliseconds stall_limit{30000};      // output waits and the client reads none
  std::size_t max_clients = 64;
};

class ControlServer {
 public:
  // Runs on the handler thread, one request at a time: its answer (ctl::start_request).
  using Handler = std::function<std::unique_ptr<ctl::Answer>(const std::string& request)>;

  using Limits = ControlLimits;
  static constexpr std::size_t kOutputHighWater = 1u << 20;

  // Creates the socket (and its directory) and starts serving; throws with the path and the
  // reason when the socket cannot be made, or when another process answers on it
  // (check_not_in_use).
  ControlServer(std::string path, Handler handler, Limits limits = {});
  ~ControlServer();  // stops serving, removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Throws "another vsd answers on PATH (pid N)" when a process accepts connections on path.
  // A socket file nobody listens on is a dead vsd's and may be replaced; vsd calls this before
  // it takes any port, so a second vsd changes nothing of the first's.
  static void check_not_in_use(const std::string& path);

  const std::string& path() const { return path_; }
  // Stops accepting, drops every client and waits for both threads; idempotent.
  void stop();

 private:
  struct Client;
  using ClientPtr = std::shared_ptr<Client>;
  using Clock = std::chrono::steady_clock;

  void serve();   // the polling thread
  void answer();  // the handler thread
  void accept_clients();
  void read_request(const ClientPtr& client);
  bool write_output(const ClientPtr& client);  // false: the client is gone
  void hand_over(const ClientPtr& client, std::string request);
  // Sends a last line without waiting (what fits), then drops the client.
  void refuse(const ClientPtr& client, const std::string& error);
  void drop(const ClientPtr& client);
  void wake_poller();

  std::string path_;
  Handler handler_;
  Limits limits_;
  vslab::os::UniqueFd listen_fd_;
  vslab::os::UniqueFd stop_fd_;
  vslab::os::UniqueFd wake_fd_;     // the handler's "output waits" to the polling thread
  std::vector<ClientPtr> clients_;  // the polling thread's, in connect order

  std::mutex mutex_;
  std::condition_variable runnable_changed_;
  std::deque<ClientPtr> runnable_;  // clients whose answer may take a step, in turn
  bool stopping_ = false;

  std::thread poller_;
  std::thread handler_thread_;
};

}  // namespace vsd
