#include "bench/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bench/setups.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <class F>
double median_over(const Row& row, F&& value) {
  std::vector<double> v;
  for (const auto& p : row.pairs) v.push_back(value(p));
  return median_of(v);
}

uint32_t wire_size(uint32_t frame_size) {
  return frame_size + 4;  // with the FCS
}

// What bounds the row's figure: the device when it loses frames the generator offered, the
// generator's core when everything offered arrives (that core also runs the kernel's receive
// work on veth: docs/benchmarking.md).
std::string limited_by(const Row& row) {
  if (row.config == "raw" + family_suffix(row.family)) return "generator";
  double loss = median_over(row, [](const Pair& p) { return p.config.loss(); });
  double cpu1 = median_over(row, [](const Pair& p) { return p.config.cpu_busy[1]; });
  if (loss > 0.01) return fmt::format("device ({:.0f}% lost, core1 {:.0f}%)", loss * 100, cpu1);
  return "generator (0 lost)";
}

// Median of the director's CPU ns per delivered frame over the pairs, where measured.
std::optional<double> director_ns(const Row& row) {
  std::vector<double> v;
  for (const auto& p : row.pairs)
    if (p.config.director_ns_per_frame) v.push_back(*p.config.director_ns_per_frame);
  if (v.empty()) return std::nullopt;
  return median_of(v);
}

std::string ratio_text(const std::optional<Spread>& s) {
  if (!s) return "-";
  return fmt::format("{:.2f} ({:.2f}-{:.2f})", s->median, s->min, s->max);
}

// `config` is the name without the family's suffix.
const Row* find_row(const Report& r, const std::string& config, uint32_t size, int family) {
  const std::string name = config + family_suffix(family);
  for (const auto& row : r.rows)
    if (row.config == name && row.frame_size == size && !row.is_connections_row) return &row;
  return nullptr;
}

// With --family 4,6: each IPv6 row against its IPv4 twin of the same run, by the delivered rate
// (what an operator gets) and by the ratio to each family's own raw run (the generator's own
// IPv6 cost taken out).
std::string format_family_quotients(const Report& r) {
  std::string lines;
  const std::string suffix = family_suffix(6);
  for (const auto& row : r.rows) {
    if (row.family != 6 || row.is_connections_row || row.pairs.empty()) continue;
    const std::string base = row.config.substr(0, row.config.size() - suffix.size());
    const Row* v4 = find_row(r, base, row.frame_size, 4);
    if (!v4 || v4->pairs.empty()) continue;
    const double rate6 = median_over(row, [](const Pair& p) { return p.config.delivered_pps; });
    const double rate4 = median_over(*v4, [](const Pair& p) { return p.config.delivered_pps; });
    auto spread6 = ratio_spread(row), spread4 = ratio_spread(*v4);
    if (rate4 <= 0 || !spread6 || !spread4 || spread4->median <= 0) continue;
    std::string line = fmt::format(
        "{:<26} {:>5} B: {:.2f}x the IPv4 rate ({:.3f} / {:.3f} Mpps), {:.2f}x its ratio to raw",
        row.config, wire_size(row.frame_size), rate6 / rate4, rate6 / 1e6, rate4 / 1e6,
        spread6->median / spread4->median);
    // The director's CPU per frame: what its own speed allows, whoever set the rate.
    auto ns6 = director_ns(row), ns4 = director_ns(*v4);
    if (ns6 && ns4 && *ns6 > 0)
      line += fmt::format("; CPU per frame {:.0f} ns vs {:.0f} ns ({:.2f} of its IPv4 rate)", *ns6,
                          *ns4, *ns4 / *ns6);
    lines += line + "\n";
  }
  if (lines.empty()) return lines;
  return "\nIPv6 against IPv4 in the same run (medians; IPv6's smallest frame is 66 bytes):\n" +
         lines;
}

std::string percentiles_text(const Percentiles& p) {
  return fmt::format("{:.1f}/{:.1f}/{:.1f}", p.p50_us, p.p99_us, p.p999_us);
}

// The latency table: a column per load, a row per configuration; then the DUT against Linux
// forwarding at each load, both measured in the same run.
std::string format_latency(const Report& r) {
  if (r.latency_loads.empty()) return {};
  std::string out = fmt::format(
      "\nOne-way latency in us, p50/p99/p99.9 (each run right after a raw run at the same rate, "
      "{} B frames, {:g} s):\n{:<26}",
      r.rows.empty() ? 0 : wire_size(r.rows.front().frame_size), r.seconds, "config");
  for (const auto& load : r.latency_loads)
    out += fmt::format(" {:>24}", fmt::format("{} ({:.0f}k)", load.label, load.rate_pps / 1e3));
  out += "\n";
  auto cell = [](const Row& row, std::size_t i) -> std::string {
    if (i >= row.latencies.size() || row.latencies[i].config.count == 0) return "-";
    return percentiles_text(row.latencies[i].config);
  };
  for (const auto& row : r.rows) {
    if (row.latencies.empty() || row.is_connections_row) continue;
    out += fmt::format("{:<26}", row.config);
    for (std::size_t i = 0; i < r.latency_loads.size(); ++i)
      out += fmt::format(" {:>24}", cell(row, i));
    out += "\n";
  }
  out += fmt::format("{:<26}", "load average (1 min)");
  for (std::size_t i = 0; i < r.latency_loads.size(); ++i) {
    double low = 1e9, high = 0;
    for (const auto& row : r.rows)
      if (i < row.latencies.size() && row.latencies[i].config.count > 0) {
        low = std::min(low, row.latencies[i].load_average);
        high = std::max(high, row.latencies[i].load_average);
      }
    out += fmt::format(" {:>24}",
                       low <= high ? fmt::format("{:.1f}-{:.1f}", low, high) : std::string("-"));
  }
  out += "\n";
  for (const auto& row : r.rows) {
    if (!row.is_dut || row.is_connections_row || row.latencies.empty()) continue;
    const Row* kernel = nullptr;
    for (const auto& k : r.rows)
      if (k.config == "linux-forward" + family_suffix(row.family) && !k.latencies.empty())
        kernel = &k;
    if (!kernel) continue;
    std::string line = row.config + " over linux-forward:";
    for (std::size_t i = 0; i < r.latency_loads.size(); ++i) {
      if (i >= row.latencies.size() || i >= kernel->latencies.size() ||
          row.latencies[i].config.count == 0 || kernel->latencies[i].config.count == 0)
        continue;
      const auto& a = row.latencies[i].config;
      const auto& b = kernel->latencies[i].config;
      line += fmt::format(" {}: p50 {:+.1f} us, p99 {:+.1f} us;", r.latency_loads[i].label,
                          a.p50_us - b.p50_us, a.p99_us - b.p99_us);
    }
    line.back() = '\n';
    out += line;
  }
  return out;
}

}  // namespace

std::optional<Spread> ratio_spread(const Row& row) {
  if (row.pairs.empty()) return std::nullopt;
  std::vector<double> v;
  for (const auto& p : row.pairs) v.push_back(p.ratio());
  return Spread{median_of(v), *std::min_element(v.begin(), v.end()),
                *std::max_element(v.begin(), v.end())};
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

std::string format_table(const Report& r) {
  std::string out = fmt::format(
      "vslab bench: mode {}, DUT {}; {} pairs of {:g} s windows, each run right after a raw one\n"
      "cores: generator {}, director {}{}, sink {}; load average {:.1f} before, {:.1f} after\n\n",
      r.mode, r.dut, r.pairs, r.seconds, r.cores.generator, r.cores.director,
      r.cores.director_realtime ? " (SCHED_FIFO)" : "", r.cores.sink, r.load_before, r.load_after);
  out += fmt::format("{:<26} {:>5} {:>7} {:>10} {:>10} {:>7} {:>7} {:>20} {:>9} {:>8}  {}\n",
                     "config", "frame", "flows", "delivered", "offered", "Gbit/s", "loss%",
                     "ratio to raw (pairs)", "core0/1%", "dir ns/f", "limited by");
  for (const auto& row : r.rows) {
    if (!row.skip_reason.empty()) {
      out += fmt::format("{:<26} {:>5} {:>7} skipped: {}\n", row.config, wire_size(row.frame_size),
                         row.flows, row.skip_reason);
      continue;
    }
    if (row.pairs.empty()) continue;
    double delivered = median_over(row, [](const Pair& p) { return p.config.delivered_pps; });
    double offered = median_over(row, [](const Pair& p) { return p.config.offered_pps; });
    double loss = median_over(row, [](const Pair& p) { return p.config.loss(); });
    double cpu0 = median_over(row, [](const Pair& p) { return p.config.cpu_busy[0]; });
    double cpu1 = median_over(row, [](const Pair& p) { return p.config.cpu_busy[1]; });
    auto ns = director_ns(row);
    out += fmt::format(
        "{:<26} {:>5} {:>7} {:>9.3f}M {:>9.3f}M {:>7.2f} {:>7.2f} {:>20} {:>4.0f}/{:<4.0f} {:>8}  "
        "{}\n",
        row.config, wire_size(row.frame_size), row.flows, delivered / 1e6, offered / 1e6,
        delivered * wire_size(row.frame_size) * 8 / 1e9, loss * 100, ratio_text(ratio_spread(row)),
        cpu0, cpu1, ns ? fmt::format("{:.0f}", *ns) : "-", limited_by(row));
  }
  out +=
      "\n(delivered, offered: median pps of the configuration's runs; ratio to raw: delivered "
      "over the raw run just before it,\n median (min-max) of the pairs; raw rows are the raw "
      "runs themselves;\n dir ns/f: the director's own CPU time (its threads, and the kernel work "
      "of "
      "their system calls) per\n delivered frame, which other load on its core does not change)\n";

  // The DUT against each baseline, at every frame size: quotients of the median ratios.
  std::string versus;
  for (const auto& row : r.rows) {
    if (!row.is_dut || row.is_connections_row) continue;
    auto dut = ratio_spread(row);
    if (!dut) continue;
    std::string line = fmt::format("{} at {} bytes:", row.config, wire_size(row.frame_size));
    for (const char* base : {"af-packet-bounce", "nft-dnat", "linux-forward"}) {
      const Row* b = find_row(r, base, row.frame_size, row.family);
      auto bs = b ? ratio_spread(*b) : std::nullopt;
      if (bs && bs->median > 0) line += fmt::format(" {:.2f}x {}", dut->median / bs->median, base);
    }
    line += fmt::format(" {:.2f}x raw", dut->median);
    const Row* bounce = find_row(r, "af-packet-bounce", row.frame_size, row.family);
    auto dut_ns = director_ns(row);
    auto bounce_ns = bounce ? director_ns(*bounce) : std::nullopt;
    if (dut_ns && bounce_ns && *dut_ns > 0)
      line +=
          fmt::format("; CPU per frame {:.0f} ns vs the bounce's {:.0f} ns ({:.2f} of its rate)",
                      *dut_ns, *bounce_ns, *bounce_ns / *dut_ns);
    versus += line + "\n";
  }
  if (!versus.empty())
    out += "\nDUT against the baselines (quotients of median ratios to raw):\n" + versus;
  out += format_family_quotients(r);

  const Row* few = nullptr;
  const Row* many = nullptr;
  for (const auto& row : r.rows)
    if (row.is_connections_row && !row.pairs.empty()) {
      if (!few || row.flows < few->flows) few = &row;
      if (!many || row.flows > many->flows) many = &row;
    }
  if (few && many && few != many) {
    out += fmt::format(
        "established connections: {} connections give {:.2f}x the rate of {} (ratios to raw)",
        many->flows, ratio_spread(*many)->median / ratio_spread(*few)->median, few->flows);
    auto few_ns = director_ns(*few), many_ns = director_ns(*many);
    if (few_ns && many_ns && *many_ns > 0)
      out += fmt::format("; CPU per frame {:.0f} ns vs {:.0f} ns ({:.2f})", *many_ns, *few_ns,
                         *few_ns / *many_ns);
    out += "\n";
  }

  std::string extra;
  for (const auto& row : r.rows) {
    if (row.no_drop_pps)
      extra += fmt::format(
          "{:<26} {:>5}  no-drop rate {:.3f} Mpps (loss <= {:g}%) = {:.2f} of raw\n", row.config,
          wire_size(row.frame_size), *row.no_drop_pps / 1e6, r.loss_threshold * 100,
          row.no_drop_raw_pps && *row.no_drop_raw_pps > 0 ? *row.no_drop_pps / *row.no_drop_raw_pps
                                                          : 0);
  }
  if (!extra.empty()) out += "\n" + extra;
  out += format_latency(r);

  for (const auto& c : r.cps) {
    if (!c.skip_reason.empty()) {
      out += fmt::format("\nTCP connections/s: skipped: {}\n", c.skip_reason);
      continue;
    }
    if (c.pairs.empty()) continue;
    std::vector<double> raw, config, ratio;
    for (auto [a, b] : c.pairs) {
      raw.push_back(a);
      config.push_back(b);
      ratio.push_back(a > 0 ? b / a : 0);
    }
    out += fmt::format(
        "\nTCP connections/s (wrk -t1 -c64 \"Connection: close\" in the client, nginx in the real "
        "server, {:g} s each):\n  raw {:.0f}, {} {:.0f}: {:.2f} ({:.2f}-{:.2f}) of raw{}\n",
        r.cps_seconds, median_of(raw), c.config, median_of(config), median_of(ratio),
        *std::min_element(ratio.begin(), ratio.end()),
        *std::max_element(ratio.begin(), ratio.end()),
        c.errors.empty() ? "" : "; wrk: " + c.errors);
  }
  return out;
}

std::string to_json(const Report& r) {
  using nlohmann::json;
  auto sample = [](const Sample& s) {
    return json{{"seconds", s.seconds},
                {"offered_pps", s.offered_pps},
                {"delivered_pps", s.delivered_pps},
                {"loss", s.loss()},
                {"cpu0_busy_pct", s.cpu_busy[0]},
                {"cpu1_busy_pct", s.cpu_busy[1]},
                {"sink_ring_drops", s.sink_ring_drops},
                {"generator_refused_sends", s.generator_refused},
                {"director_ns_per_frame",
                 s.director_ns_per_frame ? json(*s.director_ns_per_frame) : json(nullptr)}};
  };
  json rows = json::array();
  for (const auto& row : r.rows) {
    json j{{"config", row.config},
           {"family", row.family},
           {"dut", row.is_dut},
           {"connections_row", row.is_connections_row},
           {"frame_bytes", wire_size(row.frame_size)},
           {"flows", row.flows}};
    if (!row.skip_reason.empty()) j["skipped"] = row.skip_reason;
    json pairs = json::array();
    for (const auto& p : row.pairs)
      pairs.push_back({{"raw", sample(p.raw)}, {"config", sample(p.config)}, {"ratio", p.ratio()}});
    j["pairs"] = pairs;
    if (auto s = ratio_spread(row)) {
      j["ratio_to_raw"] = {{"median", s->median}, {"min", s->min}, {"max", s->max}};
      j["limited_by"] = limited_by(row);
    }
    if (row.no_drop_pps) {
      j["no_drop_pps"] = *row.no_drop_pps;
      j["no_drop_raw_pps"] = row.no_drop_raw_pps.value_or(0);
    }
    auto lat = [](const Percentiles& p) {
      return json{
          {"p50_us", p.p50_us}, {"p99_us", p.p99_us}, {"p999_us", p.p999_us}, {"frames", p.count}};
    };
    json latency = json::array();
    for (std::size_t i = 0; i < row.latencies.size() && i < r.latency_loads.size(); ++i) {
      const auto& point = row.latencies[i];
      if (point.config.count == 0) continue;
      latency.push_back({{"load", r.latency_loads[i].label},
                         {"rate_pps", r.latency_loads[i].rate_pps},
                         {"offered_pps", point.offered_pps},
                         {"load_average", point.load_average},
                         {"config", lat(point.config)},
                         {"raw", lat(point.raw)}});
    }
    if (!latency.empty()) j["latency"] = latency;
    rows.push_back(j);
  }
  json top{{"mode", r.mode},
           {"dut", r.dut},
           {"window_seconds", r.seconds},
           {"pairs", r.pairs},
           {"cores",
            {{"generator", r.cores.generator},
             {"director", r.cores.director},
             {"director_realtime", r.cores.director_realtime},
             {"sink", r.cores.sink}}},
           {"latency_rate_pps", r.latency_rate},
           {"loss_threshold", r.loss_threshold},
           {"load_average_before", r.load_before},
           {"load_average_after", r.load_after},
           {"rows", rows}};
  json cps = json::array();
  for (const auto& c : r.cps) {
    json j{{"config", c.config}, {"seconds", r.cps_seconds}};
    if (!c.skip_reason.empty()) j["skipped"] = c.skip_reason;
    json pairs = json::array();
    for (auto [a, b] : c.pairs)
      pairs.push_back({{"raw_cps", a}, {"config_cps", b}, {"ratio", a > 0 ? b / a : 0}});
    j["pairs"] = pairs;
    if (!c.errors.empty()) j["wrk_errors"] = c.errors;
    cps.push_back(j);
  }
  top["cps"] = cps;
  return top.dump(2) + "\n";
}

std::string write_plot(const Report& r, const std::string& png_file) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("vslab-bench-plot-{}", getpid());
  fs::create_directories(dir);
  std::string script = fmt::format(
      "set terminal pngcairo size 1200,500\nset output '{}'\nset multiplot layout 1,2\n"
      "set title 'delivered pps (median) by frame size'\nset xlabel 'frame bytes'\n"
      "set ylabel 'Mpps'\nset key top right\nset grid\n",
      png_file);
  // Panel 1: one data file per configuration (rows of every size, connection rows left out).
  std::map<std::string, std::vector<std::pair<uint32_t, double>>> by_config;
  for (const auto& row : r.rows) {
    if (row.is_connections_row || row.pairs.empty()) continue;
    std::vector<double> d;
    for (const auto& p : row.pairs) d.push_back(p.config.delivered_pps);
    by_config[row.config].push_back({wire_size(row.frame_size), median_of(d) / 1e6});
  }
  std::string plot1, plot2;
  int n = 0;
  for (auto& [config, points] : by_config) {
    std::sort(points.begin(), points.end());
    auto file = dir / fmt::format("pps{}.dat", n++);
    std::ofstream out(file);
    for (auto [size, mpps] : points) out << size << " " << mpps << "\n";
    plot1 += fmt::format("{}'{}' using 1:2 with linespoints title '{}'", plot1.empty() ? "" : ", ",
                         file.string(), config);
  }
  // Panel 2: the latency CDF of every row that has latencies.
  for (const auto& row : r.rows) {
    if (row.latency_ns.empty()) continue;
    auto v = row.latency_ns;
    std::sort(v.begin(), v.end());
    auto file = dir / fmt::format("cdf{}.dat", n++);
    std::ofstream out(file);
    std::size_t step = std::max<std::size_t>(1, v.size() / 2000);
    for (std::size_t i = 0; i < v.size(); i += step)
      out << v[i] / 1e3 << " " << double(i + 1) / double(v.size()) << "\n";
    out << v.back() / 1e3 << " 1\n";
    plot2 += fmt::format("{}'{}' using 1:2 with lines title '{}'", plot2.empty() ? "" : ", ",
                         file.string(), row.config);
  }
  script += plot1.empty() ? "plot 0 notitle\n" : "plot " + plot1 + "\n";
  script += fmt::format(
      "set title 'latency CDF at {:.0f} pps'\nset xlabel 'one-way latency, us'\nset logscale x\n"
      "set ylabel 'fraction of frames'\nset key bottom right\n",
      r.latency_rate);
  script += plot2.empty() ? "plot 0 notitle\n" : "plot " + plot2 + "\n";
  script += "unset multiplot\n";
  auto script_file = dir / "plot.gp";
  std::ofstream(script_file) << script;
  auto result = topo::run_command({"gnuplot", script_file.string()});
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!result.ok())
    return "gnuplot failed (install gnuplot-nox; scripts/setup.sh does): " + result.output;
  return {};
}

}  // namespace vslab::bench
