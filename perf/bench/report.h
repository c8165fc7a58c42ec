// What `vslab bench` measured, and how it is shown: the terminal table (every figure as a
// ratio to its paired raw run, and the DUT's ratio to each baseline), JSON, and a PNG plot
// drawn by gnuplot (pps against frame size per configuration, and the latency CDF).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/runner.h"

namespace vslab::bench {

struct Pair {
  Sample raw, config;
  double ratio() const {
    return raw.delivered_pps > 0 ? config.delivered_pps / raw.delivered_pps : 0;
  }
};

// One latency run of a configuration at one offered load, and its paired raw run.
struct LatencyPoint {
  Percentiles config, raw;
  double offered_pps = 0;
  double load_average = 0;  // /proc/loadavg (1 minute) as the pair started
};

// An offered load the latency runs are made at: --latency-rate, or a share of the DUT's
// no-drop rate (as FD.io CSIT reports latency).
struct LatencyLoad {
  std::string label;  // "20000 pps", "10% NDR"
  double rate_pps = 0;
};

struct Row {
  std::string config;  // with " IPv6" for an IPv6 load (setups.h family_suffix)
  int family = 4;
  bool is_dut = false;
  bool is_connections_row = false;  // the DUT with a given number of established connections
  uint32_t frame_size = 60;         // without the FCS
  uint32_t flows = 0;
  std::vector<Pair> pairs;
  std::string skip_reason;
  // --ndr: the no-drop rate and the raw rate measured right before its search.
  std::optional<double> no_drop_pps, no_drop_raw_pps;
  // Latency at each of Report::latency_loads, in its order (a load not measured for this row
  // has count 0), with the raw run's right before it at the same rate.
  std::vector<LatencyPoint> latencies;
  std::vector<uint32_t> latency_ns;  // at the first load, for the CDF
};

// TCP connections per second (cps.h), each DUT run right after a raw one.
struct CpsRow {
  std::string config;
  std::vector<std::pair<double, double>> pairs;  // (raw, config) connections per second
  std::string skip_reason;
  std::string errors;  // what wrk reported, last run
};

struct Report {
  std::string mode, dut;
  double seconds = 0, latency_rate = 0, loss_threshold = 0;
  int pairs = 0;
  Cores cores;
  double load_before = 0, load_after = 0;  // /proc/loadavg, 1 minute
  std::vector<Row> rows;
  std::vector<LatencyLoad> latency_loads;
  std::vector<CpsRow> cps;
  double cps_seconds = 0;
};

// Median (min, max) of the pairs' ratios to raw; nothing when the row has no pairs.
struct Spread {
  double median = 0, min = 0, max = 0;
};
std::optional<Spread> ratio_spread(const Row& row);

std::string format_table(const Report& report);
std::string to_json(const Report& report);
// Draws the PNG with gnuplot; returns an empty string or what went wrong.
std::string write_plot(const Report& report, const std::string& png_file);
double load_average();

}  // namespace vslab::bench
