// TCP connections per second through a configuration, as the ceilings of docs/benchmarking.md were
// measured them: wrk with "Connection: close" (one request per connection) in the client's
// namespace against nginx in the real server's, so that every request is a handshake through the
// director and back (NAT: the real server's replies return through it).
#pragma once

#include <string>

#include "bench/setups.h"
#include "os/child_process.h"

namespace vslab::bench {

struct CpsResult {
  double connections_per_second = 0;
  std::string errors;  // wrk's socket errors and non-2xx lines, empty when none
};

// Why cps cannot be measured here (wrk or nginx missing), or empty.
std::string cps_unavailable();

// Starts nginx in the setup's real-server namespace on `cores.sink` for the lifetime of the
// object (it is killed with its namespace in any case).
class WebServer {
 public:
  WebServer(const Setup& setup, const std::string& run_dir, int core);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

 private:
  os::ChildProcess nginx_;
};

// wrk -t1 -c64 for `seconds` against http://DESTINATION/ from the client's namespace.
CpsResult measure_cps(const Setup& setup, double seconds, int core);

}  // namespace vslab::bench
