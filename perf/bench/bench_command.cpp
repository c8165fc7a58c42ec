#include "bench/bench_command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/core.h>

#include "bench/cps.h"
#include "bench/report.h"
#include "bench/runner.h"
#include "bench/setups.h"
#include "dut/dut.h"
#include "dut/kinds.h"
#include "io/idle_spin.h"
#include "topology/data_dir.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

struct Options {
  std::string mode = "nat";
  std::vector<int> families{4};
  std::string dut = "builtin";
  std::string dut_config, vsd_binary, vsadm_binary;
  // Builtin only: a DUT row per count, vsd --workers N, measured in the same rounds.
  std::vector<uint32_t> workers;
  bool baselines = false;
  std::vector<uint32_t> sizes{64};
  uint32_t flows = 4096;
  std::vector<uint32_t> connections{1000, 1000000};
  double duration = 2;
  // Five: on this shared machine a median of three still moved a quotient by 0.3 between runs.
  int pairs = 5;
  bool no_drop = false;
  double loss_threshold_pct = 0.1;
  int no_drop_steps = 7;
  double latency_rate = 20000;
  double cps_seconds = 2;
  unsigned bounce_idle_spin_us = vsd::kDefaultIdleSpinUs;
  std::string json_file, plot_file;
  std::string topology_dir = vslab::topo::bench_topology_dir().string();
  Cores cores;
};

struct Config {
  std::unique_ptr<Setup> setup;
  bool is_dut = false;
  uint32_t flows = 0;          // connection rows: their flow count; 0: the main flow count
  const Setup* raw = nullptr;  // the raw path of the same family, paired with every run
};

Row& row_for(Report& report, const std::string& config, uint32_t size, uint32_t flows, bool is_dut,
             bool connections, int family) {
  for (auto& row : report.rows)
    if (row.config == config && row.frame_size == size && row.flows == flows) return row;
  Row row;
  row.config = config;
  row.family = family;
  row.frame_size = size;
  row.flows = flows;
  row.is_dut = is_dut;
  row.is_connections_row = connections;
  report.rows.push_back(row);
  return report.rows.back();
}

int run_bench(const Options& o) {
  if (!topo::have_net_admin()) {
    std::cerr << "vslab bench: needs root (CAP_NET_ADMIN) to build namespaces\n";
    return 77;
  }
  try {
    (void)bench_rules(o.mode);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  std::unique_ptr<dut::Dut> first_dut;
  if (!o.workers.empty() && o.dut != "builtin") {
    std::cerr << "vslab bench: --workers is for --dut builtin (vsd's own option)\n";
    return 2;
  }
  // workers 0: vsd's default (no --workers).
  auto new_dut_with = [&](uint32_t workers) {
    auto spec = dut::dut_spec(o.dut, o.dut_config, o.vsd_binary, o.vsadm_binary);
    if (workers != 0)
      spec.vsd_args.insert(spec.vsd_args.end(), {"--workers", std::to_string(workers)});
    return dut::make_dut(std::move(spec));
  };
  auto new_dut = [&] { return new_dut_with(o.workers.empty() ? 0 : o.workers.front()); };
  try {
    first_dut = new_dut();
  } catch (const std::invalid_argument& e) {
    std::cerr << "vslab bench: --dut " << o.dut << ": " << e.what() << "\n";
    return 2;
  }
  if (!first_dut->claims_mode(o.mode)) {
    std::cerr << "vslab bench: " << first_dut->name() << " does not claim mode " << o.mode << "\n";
    return 2;
  }
  // Each family once, IPv4 first: "6,4,6" is "4,6".
  std::vector<int> families = o.families;
  std::sort(families.begin(), families.end());
  families.erase(std::unique(families.begin(), families.end()), families.end());
  for (int family : families)
    if (!first_dut->claims_family_in(family, o.mode)) {
      std::cerr << "vslab bench: " << first_dut->name() << " does not claim IPv" << family
                << " in mode " << o.mode << "\n";
      return 2;
    }

  Report report;
  report.mode = o.mode;
  report.dut = o.dut;
  report.seconds = o.duration;
  report.pairs = o.pairs;
  report.cores = o.cores;
  report.latency_rate = o.latency_rate;
  report.cps_seconds = o.cps_seconds;
  report.loss_threshold = o.loss_threshold_pct / 100;
  report.load_before = load_average();
  std::vector<uint32_t> frame_sizes;
  for (uint32_t s : o.sizes) frame_sizes.push_back(s - 4);  // the FCS is not in memory

  InterruptGuard interrupts;
  try {
    std::cerr << "vslab bench: bringing up the topologies\n";
    // One raw path per family: every configuration is paired with the raw run of its own
    // family's frames.
    std::vector<std::unique_ptr<Setup>> raws;
    std::vector<Config> configs;
    const std::string dut_label = (o.dut == "builtin" ? "vsd" : first_dut->name()) + " " + o.mode;
    auto workers_label = [&](uint32_t n) { return fmt::format("{} {}w", dut_label, n); };
    const std::string label = o.workers.empty() ? dut_label : workers_label(o.workers.front());
    for (int family : families) {
      raws.push_back(make_raw(o.topology_dir, false, family));
      const Setup* raw = raws.back().get();
      if (o.baselines) {
        configs.push_back({make_linux_forward(o.topology_dir, false, family), false, 0, raw});
        configs.push_back({make_linux_forward(o.topology_dir, true, family), false, 0, raw});
        configs.push_back(
            {make_bounce(o.topology_dir, o.cores, o.bounce_idle_spin_us, family), false, 0, raw});
      }
      auto dut = first_dut ? std::move(first_dut) : new_dut();
      configs.push_back(
          {make_dut(o.topology_dir, std::move(dut), o.mode, label, o.cores, false, family), true, 0,
           raw});
      for (std::size_t i = 1; i < o.workers.size(); ++i)
        configs.push_back({make_dut(o.topology_dir, new_dut_with(o.workers[i]), o.mode,
                                    workers_label(o.workers[i]), o.cores, false, family),
                           true, 0, raw});
      // Each connection-count row has a DUT of its own, so its table holds those flows only.
      if (configs.back().setup->skip_reason().empty())
        for (uint32_t n : o.connections)
          configs.push_back({make_dut(o.topology_dir, new_dut(), o.mode,
                                      fmt::format("{} {} conns", label, n), o.cores, false, family),
                             true, n, raw});
    }

    for (const auto& c : configs)
      for (uint32_t size : frame_sizes) {
        if (c.flows && size != frame_sizes.front()) continue;
        Row& row = row_for(report, c.setup->name(), size, c.flows ? c.flows : o.flows, c.is_dut,
                           c.flows != 0, c.setup->path().family);
        row.skip_reason = c.setup->skip_reason();
      }
    for (const auto& raw : raws)
      for (uint32_t size : frame_sizes)
        row_for(report, raw->name(), size, o.flows, false, false, raw->path().family);
    // Looked up each time: row_for may grow the vector.
    auto raw_row = [&](const Config& c, uint32_t size) -> Row& {
      return row_for(report, c.raw->name(), size, o.flows, false, false, c.raw->path().family);
    };

    // Rounds go over every configuration, so a slow spell of the machine hits all alike.
    for (int round = 1; round <= o.pairs; ++round)
      for (std::size_t si = 0; si < frame_sizes.size(); ++si)
        for (const auto& c : configs) {
          uint32_t size = frame_sizes[si];
          if (!c.setup->skip_reason().empty() || (c.flows && si != 0)) continue;
          RunSpec spec{size, c.flows ? c.flows : o.flows, 0, o.duration, false};
          Pair p;
          p.raw = measure(*c.raw, spec, o.cores);
          p.config = measure(*c.setup, spec, o.cores);
          row_for(report, c.setup->name(), size, spec.flows, c.is_dut, c.flows != 0,
                  c.setup->path().family)
              .pairs.push_back(p);
          if (!c.flows) raw_row(c, size).pairs.push_back({p.raw, p.raw});
          std::cerr << fmt::format(
              "round {}/{} {:>4} B {:<26} {:.2f} of raw ({:.3f} / {:.3f} Mpps, loss {:.2f}%)\n",
              round, o.pairs, size + 4, c.setup->name(), p.ratio(), p.config.delivered_pps / 1e6,
              p.raw.delivered_pps / 1e6, p.config.loss() * 100);
        }

    if (o.no_drop)
      for (const auto& c : configs)
        for (uint32_t size : frame_sizes) {
          if (!c.setup->skip_reason().empty() || c.flows) continue;
          RunSpec spec{size, o.flows, 0, o.duration, false};
          Sample raw_sample = measure(*c.raw, spec, o.cores);
          Row& row = row_for(report, c.setup->name(), size, o.flows, c.is_dut, false,
                             c.setup->path().family);
          row.no_drop_raw_pps = raw_sample.delivered_pps;
          row.no_drop_pps = no_drop_rate(*c.setup, spec, o.cores, raw_sample.offered_pps,
                                         report.loss_threshold, o.no_drop_steps);
          std::cerr << fmt::format("no-drop {:>4} B {:<26} {:.3f} Mpps\n", size + 4,
                                   c.setup->name(), *row.no_drop_pps / 1e6);
        }
    // Latency at the fixed rate, then at shares of the DUT's no-drop rate where it was found.
    if (o.latency_rate > 0)
      report.latency_loads.push_back({fmt::format("{:.0f} pps", o.latency_rate), o.latency_rate});
    const Row* dut_row = nullptr;
    for (const auto& row : report.rows)
      if (row.is_dut && !row.is_connections_row && row.frame_size == frame_sizes.front() &&
          row.no_drop_pps && *row.no_drop_pps > 0)
        dut_row = &row;
    if (dut_row && o.latency_rate > 0)
      for (int share : {10, 50, 90})
        report.latency_loads.push_back(
            {fmt::format("{}% NDR", share), *dut_row->no_drop_pps * share / 100});
    for (std::size_t li = 0; li < report.latency_loads.size(); ++li)
      for (const auto& c : configs) {
        if (!c.setup->skip_reason().empty() || c.flows) continue;
        const LatencyLoad& load = report.latency_loads[li];
        RunSpec spec{frame_sizes.front(), o.flows, load.rate_pps, o.duration, true};
        Row& row = row_for(report, c.setup->name(), spec.frame_size, o.flows, c.is_dut, false,
                           c.setup->path().family);
        LatencyPoint point;
        point.load_average = load_average();
        Sample raw_sample = measure(*c.raw, spec, o.cores);
        Sample s = measure(*c.setup, spec, o.cores);
        point.raw = percentiles(raw_sample.latencies_ns);
        point.config = percentiles(s.latencies_ns);
        point.offered_pps = s.offered_pps;
        row.latencies.resize(report.latency_loads.size());
        row.latencies[li] = point;
        if (li == 0) row.latency_ns = std::move(s.latencies_ns);
        // The raw row shows the first raw run at each load.
        Row& raw_row = row_for(report, c.raw->name(), spec.frame_size, o.flows, false, false,
                               c.raw->path().family);
        raw_row.latencies.resize(report.latency_loads.size());
        if (raw_row.latencies[li].config.count == 0) {
          LatencyPoint raw_point = point;
          raw_point.config = point.raw;
          raw_point.offered_pps = raw_sample.offered_pps;
          raw_row.latencies[li] = raw_point;
          if (li == 0) raw_row.latency_ns = std::move(raw_sample.latencies_ns);
        }
        std::cerr << fmt::format(
            "latency at {:<10} {:<26} p50 {:.1f} us p99 {:.1f} us p99.9 {:.1f} us (raw {:.1f} / "
            "{:.1f} / {:.1f}; load average {:.1f})\n",
            load.label, c.setup->name(), point.config.p50_us, point.config.p99_us,
            point.config.p999_us, point.raw.p50_us, point.raw.p99_us, point.raw.p999_us,
            point.load_average);
      }

    // TCP connections in IPv4 only: wrk and nginx against bench.toml's IPv4 addresses.
    if (o.cps_seconds > 0 && configs.back().setup->skip_reason().empty()) {
      CpsRow row;
      row.config = label;
      // In DR and TUN the real server answers the client itself, and bench.toml gives it no
      // way to the client but through the director.
      row.skip_reason = o.mode == "nat" || o.mode == "fullnat"
                            ? cps_unavailable()
                            : "measured in NAT and FULLNAT only (DR and TUN real servers answer "
                              "the client directly, which bench.toml has no path for)";
      if (row.skip_reason.empty()) {
        auto raw_tcp = make_raw(o.topology_dir, true);
        auto dut_tcp = make_dut(o.topology_dir, new_dut(), o.mode, label, o.cores, true);
        auto run_dir =
            std::filesystem::temp_directory_path() / fmt::format("vslab-bench-{}", getpid());
        WebServer raw_server(*raw_tcp, (run_dir / "raw").string(), o.cores.sink);
        WebServer dut_server(*dut_tcp, (run_dir / "dut").string(), o.cores.sink);
        for (int round = 1; round <= o.pairs; ++round) {
          auto a = measure_cps(*raw_tcp, o.cps_seconds, o.cores.generator);
          throw_if_interrupted();
          auto b = measure_cps(*dut_tcp, o.cps_seconds, o.cores.generator);
          throw_if_interrupted();
          row.pairs.push_back({a.connections_per_second, b.connections_per_second});
          row.errors = b.errors;
          std::cerr << fmt::format("cps round {}/{}: raw {:.0f}, {} {:.0f}\n", round, o.pairs,
                                   a.connections_per_second, label, b.connections_per_second);
        }
        std::error_code ec;
        std::filesystem::remove_all(run_dir, ec);
      }
      report.cps.push_back(row);
    }
    std::cerr << "vslab bench: tearing down\n";
  } catch (const Interrupted&) {
    std::cerr << "vslab bench: interrupted; everything it made is removed\n";
    return 130;
  } catch (const std::exception& e) {
    std::cerr << "vslab bench: " << e.what() << "\n";
    return 1;
  }
  report.load_after = load_average();
  // Raw rows first, then the rest in the order measured.
  std::stable_partition(report.rows.begin(), report.rows.end(),
                        [](const Row& r) { return r.config == "raw" + family_suffix(r.family); });
  std::cout << format_table(report) << std::flush;
  int status = 0;
  if (!o.json_file.empty()) {
    std::ofstream out(o.json_file);
    out << to_json(report);
    if (!out) {
      std::cerr << "vslab bench: cannot write " << o.json_file << "\n";
      status = 1;
    }
  }
  if (!o.plot_file.empty())
    if (auto problem = write_plot(report, o.plot_file); !problem.empty()) {
      std::cerr << "vslab bench: " << problem << "\n";
      status = 1;
    }
  return status;
}

}  // namespace

void add_bench_command(CLI::App& app, int& status) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "bench",
      "Forwarding figures of a DUT against the raw path and the baselines (perf/README.md)");
  cmd->add_option("--mode", o->mode, "Forwarding method: nat, dr, tun or fullnat")
      ->capture_default_str();
  cmd->add_option("--dut", o->dut, dut::dut_kinds_help())->capture_default_str();
  cmd->add_option("--dut-config", o->dut_config, "The DUT's TOML file (kernel, external)");
  cmd->add_option("--vsd", o->vsd_binary, "vsd binary (default: beside vslab)");
  cmd->add_option("--workers", o->workers,
                  "Builtin DUT: one row per count, vsd --workers N, in the same rounds (e.g. 1,2)")
      ->delimiter(',')
      ->check(CLI::Range(1u, 64u));
  cmd->add_option("--vsadm", o->vsadm_binary, "vsadm binary (default: beside vslab)");
  cmd->add_flag("--baselines", o->baselines,
                "Also measure Linux forwarding, nftables DNAT (numgen inc) and the AF_PACKET "
                "bounce forwarder with the ingress drop");
  cmd->add_option("--family", o->families,
                  "Address families of the load: 4, 6 or 4,6 (each configuration in each, "
                  "paired with a raw run of its own family; with both, IPv6 against IPv4)")
      ->delimiter(',')
      ->check(CLI::IsMember({4, 6}))
      ->capture_default_str();
  cmd->add_option("--sizes", o->sizes, "Frame sizes in bytes with the FCS (64..1518)")
      ->delimiter(',')
      ->check(CLI::Range(64u, 1518u))
      ->capture_default_str();
  cmd->add_option("--flows", o->flows, "UDP flows in the load")
      ->check(CLI::Range(1u, 16000000u))
      ->capture_default_str();
  cmd->add_option("--conns", o->connections,
                  "DUT rows with this many established connections (flows) at the first size; "
                  "0 for none")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--duration", o->duration, "Seconds per measurement window (after a warm-up)")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  cmd->add_option("--pairs", o->pairs, "Raw/configuration pairs per row")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_flag("--ndr", o->no_drop, "Find each configuration's no-drop rate by binary search");
  cmd->add_option("--loss-threshold", o->loss_threshold_pct,
                  "Loss (percent) a no-drop rate may have")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--ndr-steps", o->no_drop_steps, "Steps of the no-drop search")
      ->check(CLI::Range(1, 30))
      ->capture_default_str();
  cmd->add_option("--latency-rate", o->latency_rate,
                  "Offered pps of the latency runs (stamped frames, first size); 0 for none")
      ->check(CLI::Range(0.0, 10e6))
      ->capture_default_str();
  cmd->add_option("--cps-duration", o->cps_seconds,
                  "Seconds per TCP connections-per-second run (wrk against nginx, NAT); 0 for none")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  cmd->add_option("--bounce-idle-spin-us", o->bounce_idle_spin_us,
                  "Microseconds the bounce forwarder spins before it sleeps (as vsd's "
                  "--idle-spin-us, whose default it follows)")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  cmd->add_option("--json", o->json_file, "Write every run and summary as JSON");
  cmd->add_option("--plot", o->plot_file, "Write a PNG: pps by frame size, latency CDF (gnuplot)");
  cmd->add_option("--topology-dir", o->topology_dir, "Where bench.toml and raw.toml are")
      ->capture_default_str();
  cmd->add_option("--generator-core", o->cores.generator, "Core of the generator")
      ->capture_default_str();
  cmd->add_option("--director-core", o->cores.director,
                  "Core of the director (everything in its namespace)")
      ->capture_default_str();
  cmd->add_option("--sink-core", o->cores.sink, "Core of the sink")->capture_default_str();
  cmd->add_flag("--realtime-director", o->cores.director_realtime,
                "Run the director's threads (the DUT's namespace, the bounce) at SCHED_FIFO "
                "priority 1, as on a core of its own; on a loaded machine the only way its "
                "latency says anything");
  cmd->callback([o, &status] {
    o->connections.erase(std::remove(o->connections.begin(), o->connections.end(), 0u),
                         o->connections.end());
    status = run_bench(*o);
  });
}

}  // namespace vslab::bench
