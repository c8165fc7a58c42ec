// The paired design of docs/benchmarking.md for `vslab bench`: every measurement of a
// configuration comes right after a raw one of the same frame size and flow count, and is
// reported as a ratio to it, since this machine drifts by up to 2x within a minute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/setups.h"

namespace vslab::bench {

struct RunSpec {
  uint32_t frame_size = 60;  // without the FCS
  uint32_t flows = 4096;
  double rate_pps = 0;  // 0: unlimited
  double seconds = 2;
  bool latency = false;
};

// One measurement window.
struct Sample {
  double seconds = 0;
  double offered_pps = 0;    // the client's veth tx_packets / s: what entered the next hop
  double delivered_pps = 0;  // frames the sink's ring received / s
  double cpu_busy[2] = {0, 0};
  uint64_t sink_ring_drops = 0;
  uint64_t generator_refused = 0;  // send() calls the kernel refused (EAGAIN)
  std::vector<uint32_t> latencies_ns;
  // The director's own CPU time per delivered frame, where it can be told (Setup).
  std::optional<double> director_ns_per_frame;
  double loss() const {
    return offered_pps > 0 ? std::max(0.0, 1 - delivered_pps / offered_pps) : 0;
  }
};

// Thrown when SIGINT/SIGTERM arrives during a run; everything made so far is torn down by
// the destructors on the way out.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "interrupted"; }
};
// Throws Interrupted when a signal has come (for loops that do not wait through wait_for).
void throw_if_interrupted();
// Catches SIGINT and SIGTERM for the lifetime of the object.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
};

// Sends spec's load through the path: warm-up (at least 1 s, and until the sink has seen as
// many frames as there are flows, so that a director's table holds them all), then the window.
Sample measure(const Setup& setup, const RunSpec& spec, const Cores& cores);

// The no-drop rate: binary search on the offered rate between 0 and `ceiling_pps`, `steps`
// windows of `seconds`, a rate passing when its loss is at most `loss_threshold` (a fraction).
double no_drop_rate(const Setup& setup, RunSpec spec, const Cores& cores, double ceiling_pps,
                    double loss_threshold, int steps);

struct Percentiles {
  double p50_us = 0, p99_us = 0, p999_us = 0;
  std::size_t count = 0;
};
Percentiles percentiles(std::vector<uint32_t> latencies_ns);

}  // namespace vslab::bench
