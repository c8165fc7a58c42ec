#include "matrix/diff_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dut/kinds.h"
#include "dut/schedulers.h"
#include "matrix/bed.h"
#include "matrix/runner.h"
#include "matrix/scenarios.h"
#include "os/interrupt.h"
#include "replay/diff.h"
#include "report/exit_status.h"
#include "report/report.h"
#include "topology/data_dir.h"
#include "topology/netns.h"

namespace vslab::matrix {
namespace {

struct DiffOptions {
  std::vector<std::string> cases;
  std::string dut = "builtin", dut_config;
  std::string against, against_config;
  std::string filter;
  std::string json, junit;
  std::string out_dir;
  std::string topologies = topo::topology_dir().string();
  std::string vsd, vsadm;
  int jobs = 1;
  bool allow_skips = false;
};

// One compared cell or case, whichever it came from.
struct Row {
  std::string id;
  replay::DiffResult::Kind kind = replay::DiffResult::Kind::Error;
  std::string line, report, dir;
  double seconds = 0;
  bool not_run = false;  // the run stopped before it (kind Skip, line "NOT RUN id: why")
};

std::string kind_name(replay::DiffResult::Kind k) {
  switch (k) {
    case replay::DiffResult::Kind::Same:
      return "same";
    case replay::DiffResult::Kind::Diff:
      return "diff";
    case replay::DiffResult::Kind::Skip:
      return "skip";
    case replay::DiffResult::Kind::Error:
      return "error";
  }
  return "?";
}

std::string folder_of(const Cell& c) {
  return fmt::format("{}_{}_{}_{}", name(c.mode), c.scheduler, c.kind_name(), c.proto_name());
}

// Every frame the bed's hosts received since the cell began, read a little longer first so
// that frames still on their way are in (the same window as a "no other frame" check).
std::vector<replay::InputFrame> received_on(conformance::ModeBed& bed) {
  std::vector<port::Port*> ports{bed.client().port};
  for (auto* p : bed.rs_ports()) ports.push_back(p);
  for (auto* p : ports) p->wait_until([](auto&) { return false; }, std::chrono::milliseconds(30));
  std::vector<replay::InputFrame> out;
  for (auto* p : ports)
    for (const auto& f : p->captured())
      if (!check::is_neighbour_noise(f.bytes)) out.push_back({p->label(), f});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto &x = a.frame.timestamp, &y = b.frame.timestamp;
    return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_usec < y.tv_usec;
  });
  return out;
}

// A matrix cell's outcome carries the diff through run_cells (and its -j workers' JSON):
// pass = SAME, skip = SKIP (detail: the reason), fail = DIFF or ERROR (detail: the line, then
// the report), case_dir = the cell's diff folder.
CellResult as_cell_result(const Cell& cell, const replay::DiffResult& d, const std::string& dir) {
  CellResult r{cell, Outcome::Fail, d.line + "\n" + d.report, 0, {}, dir};
  if (d.kind == replay::DiffResult::Kind::Same) r.outcome = Outcome::Pass;
  if (d.kind == replay::DiffResult::Kind::Error) r.outcome = Outcome::Error;
  if (d.kind == replay::DiffResult::Kind::Skip) {
    r.outcome = Outcome::Skip;
    r.detail = d.line.substr(d.line.find(": ") + 2);
  }
  return r;
}

Row row_of(const CellResult& r) {
  Row row;
  row.id = r.cell.id();
  row.seconds = r.seconds;
  row.dir = r.case_dir;
  switch (r.outcome) {
    case Outcome::Pass:
      row.kind = replay::DiffResult::Kind::Same;
      row.line = "SAME " + row.id;
      break;
    case Outcome::Skip:
      row.kind = replay::DiffResult::Kind::Skip;
      row.line = fmt::format("SKIP {}: {}", row.id, r.detail);
      break;
    case Outcome::NotRun:
      row.kind = replay::DiffResult::Kind::Skip;
      row.not_run = true;
      row.line = fmt::format("NOT RUN {}: {}", row.id, r.detail);
      break;
    case Outcome::Fail:
    case Outcome::Error: {
      auto end = r.detail.find('\n');
      row.line = r.detail.substr(0, end);
      row.report = end == std::string::npos ? "" : r.detail.substr(end + 1);
      if (r.outcome == Outcome::Fail && row.line.rfind("DIFF ", 0) == 0) {
        row.kind = replay::DiffResult::Kind::Diff;
      } else {
        // B's error, or the runner's own (a bed that did not come up, a worker that died).
        row.kind = replay::DiffResult::Kind::Error;
        if (row.line.rfind("ERROR ", 0) != 0)
          row.line = fmt::format("ERROR {}: {}", row.id, row.line);
      }
      break;
    }
  }
  return row;
}

// A row as a report entry: SAME passes, DIFF fails, ERROR errs; the row's own keys (result,
// line, report, dir) kept as they were in diff's JSON.
report::Entry entry_of(const Row& row, bool is_case) {
  report::Entry e;
  e.id = row.id;
  if (is_case) {
    e.classname = "diff.case";
    e.name = row.id;
  } else {
    const auto cut = row.id.find('/', row.id.find('/') + 1);
    e.classname = row.id.substr(0, cut);
    std::replace(e.classname.begin(), e.classname.end(), '/', '.');
    e.name = cut == std::string::npos ? row.id : row.id.substr(cut + 1);
  }
  switch (row.kind) {
    case replay::DiffResult::Kind::Same:
      e.verdict = report::Verdict::Pass;
      break;
    case replay::DiffResult::Kind::Diff:
      e.verdict = report::Verdict::Fail;
      break;
    case replay::DiffResult::Kind::Skip:
      e.verdict = report::Verdict::Skip;
      break;
    case replay::DiffResult::Kind::Error:
      e.verdict = report::Verdict::Error;
      break;
  }
  e.detail = row.report.empty() ? row.line : row.line + "\n" + row.report;
  if (row.not_run) {
    e.verdict = report::Verdict::NotRun;
    e.detail = row.line.substr(row.line.find(": ") + 2);  // why: "interrupted by SIGINT"
  }
  e.seconds = row.seconds;
  e.fields = {{"result", row.not_run ? "not-run" : kind_name(row.kind)},
              {"line", row.line},
              {"report", row.report},
              {"dir", row.dir}};
  return e;
}

// What B may not run, learnt once per process: its claims, or that it cannot run here.
struct Against {
  dut::DutSpec spec;
  std::unique_ptr<dut::Dut> dut;
  std::string unavailable;
  // B's topology and DUT per mode, kept across that mode's cells as A's bed is; remade when
  // A's bed was (its virtual ports start again) or after an error.
  std::map<Mode, std::unique_ptr<replay::ReplaySession>> sessions;
  std::map<Mode, uint16_t> last_vport;
};

CellResult diff_cell(MatrixBed& mb, const Cell& cell, Against& b, const DiffOptions& o,
                     const std::filesystem::path& out_dir) {
  auto start = std::chrono::steady_clock::now();
  const auto dir = out_dir / folder_of(cell);
  replay::DiffResult d;
  auto& bed = mb.bed();
  const std::string mode(name(cell.mode)), scheduler(cell.scheduler);
  if (cell.scheduler == dut::kTwosScheduler) {
    // Which server a connection gets is not comparable, not even between one director and
    // itself (a whole-matrix run of vsd against vsd differed in every twos cell that opens a
    // connection); conform checks twos statistically instead.
    d = {replay::DiffResult::Kind::Skip,
         fmt::format("SKIP {}: not comparable: twos picks servers at random (spec 6)", cell.id()),
         "", false};
  } else if (cell.kind_name() == "reassembly-timeout" ||
             (cell.kind_name() == "thresholds" && cell.scheduler == "rr")) {
    // Their answers come after waits a case does not carry: the director's own ICMP 30 s
    // after the last frame, or (thresholds' rr cell) once `-L -n` shows the counts fallen.
    // Replayed on B without the wait they would differ by the replay, not by B; conform
    // judges them on each DUT.
    d = {replay::DiffResult::Kind::Skip,
         fmt::format("SKIP {}: not comparable: the cell waits (on a timer or a listing) where "
                     "a replayed case cannot; vslab conform judges it on each DUT",
                     cell.id()),
         "", false};
  } else if (!b.unavailable.empty()) {
    d = {replay::DiffResult::Kind::Skip,
         fmt::format("SKIP {}: B ({}): {}", cell.id(), o.against, b.unavailable), "", true};
  } else if (!b.dut->claims_mode(mode) || !b.dut->claims_scheduler(scheduler)) {
    d = {replay::DiffResult::Kind::Skip,
         fmt::format("SKIP {}: not claimed by B ({}): {} {}", cell.id(), o.against,
                     b.dut->claims_mode(mode) ? "scheduler" : "mode",
                     b.dut->claims_mode(mode) ? scheduler : mode),
         "", false};
  } else if (!b.dut->claims_family_in(number(cell.family), mode)) {
    d = {replay::DiffResult::Kind::Skip,
         fmt::format("SKIP {}: B ({}): {}", cell.id(), o.against,
                     b.dut->unclaimed_family_in(number(cell.family), mode)),
         "", false};
  } else {
    auto on_a = run_cell(mb, cell, dir / "A-own-check");
    if (on_a.outcome == Outcome::Skip) {
      d = {replay::DiffResult::Kind::Skip,
           fmt::format("SKIP {}: A ({}): {}", cell.id(), o.dut, on_a.detail), "", false};
    } else {
      replay::Observed a;
      a.topology = mode;
      a.rules = bed.restored_rules();
      // The restore's leading -C only empties what earlier cells left; a replay starts empty.
      if (a.rules.rfind("-C\n", 0) == 0) a.rules.erase(0, 3);
      for (const auto& edit : bed.rule_edits())
        a.admin.push_back({int(edit.sent_before) + 1, edit.args, edit.until_unlisted});
      for (auto& [port, frame] : bed.checker().sent_since_start())
        a.sent.push_back({port->label(), frame});
      a.received = received_on(bed);
      std::string note;
      if (on_a.outcome == Outcome::Fail)
        note = "A itself fails the cell (" + on_a.detail.substr(0, on_a.detail.find('\n')) +
               "); the comparison covers what A did";
      auto& session = b.sessions[cell.mode];
      auto& last_vport = b.last_vport[cell.mode];
      if (mb.vport() <= last_vport) session.reset();
      last_vport = mb.vport();
      try {
        if (!session) session = std::make_unique<replay::ReplaySession>(bed.topology(), b.spec);
        d = replay::diff_against(cell.id(), a, bed.topology(), {dir, o.topologies}, b.spec, o.dut,
                                 o.against, note, session.get());
        if (d.kind == replay::DiffResult::Kind::Error) session.reset();
      } catch (const dut::DutUnavailable& e) {
        b.unavailable = e.what();
        d = {replay::DiffResult::Kind::Skip,
             fmt::format("SKIP {}: B ({}): {}", cell.id(), o.against, b.unavailable), "", true};
      } catch (const std::exception& e) {
        session.reset();
        d = {replay::DiffResult::Kind::Error,
             fmt::format("ERROR {}: B ({}) did not come up: {}", cell.id(), o.against, e.what()),
             "", false};
      }
    }
  }
  if (d.kind != replay::DiffResult::Kind::Diff) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  auto r = as_cell_result(cell, d, d.kind == replay::DiffResult::Kind::Diff ? dir.string() : "");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

int diff(const DiffOptions& o) {
  if (o.against.empty()) {
    std::cerr << "vslab diff: --against KIND is required: the DUT whose frames are compared with "
                 "--dut's (builtin, kernel, external, ...)\n";
    return 2;
  }
  if (!o.cases.empty() && !o.filter.empty()) {
    std::cerr << "vslab diff: --filter selects matrix cells; it cannot be used with case "
                 "folders\n";
    return 2;
  }
  std::vector<Cell> cells;
  if (o.cases.empty()) {
    for (const auto& c : all_cells())
      if (matches(c, o.filter)) cells.push_back(c);
    if (cells.empty()) {
      std::cerr << "vslab diff: no cell matches --filter '" << o.filter
                << "' (cells are named mode/scheduler/kind/proto, e.g. nat/rr/rewrite/tcp)\n";
      return 2;
    }
  }
  auto a_spec = dut::dut_spec(o.dut, o.dut_config, o.vsd, o.vsadm);
  auto b = std::make_shared<Against>();
  b->spec = dut::dut_spec(o.against, o.against_config, o.vsd, o.vsadm);
  if (o.dut == o.against && dut::serves_one_topology(o.dut) && o.dut_config == o.against_config) {
    std::cerr << "vslab diff: --dut and --against are the same " << o.dut
              << " box; its ports serve one topology at a time\n";
    return 2;
  }
  try {
    dut::make_dut(a_spec);  // a bad kind or config file is an error before anything runs
  } catch (const std::exception& e) {
    std::cerr << "vslab diff: --dut: " << e.what() << "\n";
    return 2;
  }
  try {
    b->dut = dut::make_dut(b->spec);
  } catch (const std::exception& e) {
    std::cerr << "vslab diff: --against: " << e.what() << "\n";
    return 2;
  }
  if (auto why = report::unwritable_reports(o.junit, o.json); !why.empty()) {
    for (const auto& w : why) std::cerr << "vslab diff: " << w << "\n";
    return 2;
  }
  if (!topo::have_net_admin()) {
    std::cerr << "vslab diff: needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to build the "
                 "topologies\n";
    return report::kExitNotRoot;
  }
  const std::filesystem::path out_dir = o.out_dir.empty()
                                            ? std::filesystem::current_path() / "vslab-diff"
                                            : std::filesystem::path(o.out_dir);
  const bool tty = isatty(STDOUT_FILENO);
  const auto started = std::chrono::system_clock::now();
  auto start = std::chrono::steady_clock::now();
  std::vector<Row> rows;
  int jobs = o.jobs;
  // A signal stops the run in order: nothing new starts, both DUTs' topologies go down, the
  // summary and the JSON list what was not compared.
  os::catch_interrupts();
  const auto interrupted_by = [] { return os::signal_name(os::interrupt_signal()); };

  if (!o.cases.empty()) {
    std::cout << fmt::format("vslab diff: {} case(s), {} against {}\n", o.cases.size(), o.dut,
                             o.against)
              << std::flush;
    for (const auto& dir : o.cases) {
      Row row;
      auto case_start = std::chrono::steady_clock::now();
      auto loaded = replay::load_case(dir, o.topologies);
      auto name = std::filesystem::path(dir).lexically_normal().filename().string();
      if (name.empty())
        name = std::filesystem::path(dir).lexically_normal().parent_path().filename().string();
      row.id = name;
      if (os::interrupted()) {
        row.kind = replay::DiffResult::Kind::Skip;
        row.not_run = true;
        row.line = fmt::format("NOT RUN {}: interrupted by {}", name, interrupted_by());
      } else if (!loaded.ok()) {
        row.line = fmt::format("ERROR {}: the case does not load: {}", name,
                               loaded.errors.empty() ? "?" : loaded.errors.front());
      } else {
        const auto place = out_dir / loaded.value->name;
        auto d = replay::diff_case(*loaded.value, a_spec, b->spec, {place, o.topologies});
        row.kind = d.kind;
        row.line = d.line;
        row.report = d.report;
        if (d.kind == replay::DiffResult::Kind::Diff) row.dir = place.string();
        if (os::interrupted() && d.kind != replay::DiffResult::Kind::Same) {
          // Cut short by the signal: what it found is no verdict.
          row =
              Row{name,
                  replay::DiffResult::Kind::Skip,
                  fmt::format("NOT RUN {}: interrupted by {} while it ran", name, interrupted_by()),
                  "",
                  "",
                  0,
                  true};
          std::error_code gone;
          std::filesystem::remove_all(place, gone);
        }
      }
      row.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - case_start).count();
      std::cout << row.line << "\n" << std::flush;
      rows.push_back(std::move(row));
    }
    jobs = 1;
  } else {
    RunOptions run;
    run.dut = a_spec;
    run.jobs = o.jobs;
    if ((dut::serves_one_topology(o.dut) || dut::serves_one_topology(o.against)) && o.jobs > 1) {
      std::cerr << "vslab diff: an " << (dut::serves_one_topology(o.dut) ? o.dut : o.against)
                << " DUT runs at -j1 (its ports serve one topology)\n";
      run.jobs = 1;
    }
    jobs = run.jobs;
    // B's session for a mode goes down with A's bed.
    run.mode_done = [b](Mode mode) { b->sessions.erase(mode); };
    run.cell_runner = [b, &o, out_dir](MatrixBed& mb, const Cell& cell) {
      return diff_cell(mb, cell, *b, o, out_dir);
    };
    std::cout << fmt::format("vslab diff: {} cell(s), {} against {}, -j{}\n", cells.size(), o.dut,
                             o.against, run.jobs)
              << std::flush;
    std::size_t done = 0;
    auto results = run_cells(cells, run, [&](const CellResult& r) {
      ++done;
      if (tty) std::cout << "\r\033[K";
      std::cout << row_of(r).line << "\n";
      if (tty) std::cout << fmt::format("{}/{} cells", done, cells.size());
      std::cout << std::flush;
    });
    if (tty) std::cout << "\r\033[K";
    for (const auto& r : results) rows.push_back(row_of(r));
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::error_code ec;
  std::filesystem::remove(out_dir, ec);  // only when no DIFF left anything there

  std::map<replay::DiffResult::Kind, int> count;
  int not_run = 0;
  for (const auto& r : rows) {
    if (r.not_run) {
      ++not_run;
      continue;
    }
    ++count[r.kind];
    if (r.kind == replay::DiffResult::Kind::Diff || r.kind == replay::DiffResult::Kind::Error)
      std::cout << "\n" << r.line << "\n" << r.report;
  }
  std::cout << fmt::format(
      "\n{} {}: {} same, {} differ, {} skipped, {} not compared (error){}; {:.1f} s wall at "
      "-j{}\n",
      rows.size(), o.cases.empty() ? "cell(s)" : "case(s)", count[replay::DiffResult::Kind::Same],
      count[replay::DiffResult::Kind::Diff], count[replay::DiffResult::Kind::Skip],
      count[replay::DiffResult::Kind::Error], not_run ? fmt::format(", {} not run", not_run) : "",
      wall, jobs);
  report::Report rep;
  rep.suite = "diff";
  rep.timestamp = report::utc_timestamp(started);
  rep.duration = wall;
  rep.properties = {{"dut", o.dut},
                    {"dut_flags", dut::dut_flags(a_spec)},
                    {"against", o.against},
                    {"against_flags", dut::dut_flags(b->spec)},
                    {"filter", o.cases.empty() ? (o.filter.empty() ? "*" : o.filter) : ""},
                    {"jobs", std::to_string(jobs)}};
  for (auto& p : report::host_properties()) rep.properties.push_back(std::move(p));
  for (const auto& r : rows) rep.entries.push_back(entry_of(r, !o.cases.empty()));
  auto unwritten =
      report::write_reports(rep, o.junit, o.json, {{"against", o.against}, {"wall_seconds", wall}});
  for (const auto& w : unwritten) std::cerr << "vslab diff: " << w << "\n";
  if (os::interrupted()) {
    std::cerr << fmt::format(
        "vslab diff: interrupted by {}: {} not run; the runs' namespaces and processes are "
        "removed (exit {})\n",
        interrupted_by(), not_run, os::interrupted_exit_status());
    return os::interrupted_exit_status();
  }
  if (!unwritten.empty()) return 2;
  // A difference is a failure of B; every cell skipped (a DUT that claims none) tested nothing.
  return report::exit_status(rep.totals(), o.allow_skips, "vslab diff",
                             o.cases.empty() ? "cell" : "case", std::cerr);
}

}  // namespace

void add_diff_command(CLI::App& app, int& status) {
  auto o = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand(
      "diff",
      "Run the same matrix cells (or pcap cases) on two DUTs and print the first frame in which "
      "B differs from A, field by field");
  cmd->add_option("cases", o->cases,
                  "Case folders (fixtures/pcap/<case>/); without any, the matrix cells");
  cmd->add_option("--dut", o->dut, "DUT A, the reference: " + dut::dut_kinds_help())
      ->capture_default_str();
  cmd->add_option("--dut-config", o->dut_config, "TOML file describing DUT A");
  cmd->add_option("--against", o->against, "DUT B, compared with A (required)");
  cmd->add_option("--against-config", o->against_config, "TOML file describing DUT B");
  cmd->add_option("--filter", o->filter,
                  "Glob over cell names mode/scheduler/kind/proto, e.g. 'nat/*/rewrite/*'");
  cmd->add_option("--json", o->json, "Write a JSON report here");
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report here");
  cmd->add_flag("--allow-skips", o->allow_skips,
                "Exit 0 also when every cell or case was skipped (else 3: nothing was compared)");
  cmd->add_option("--out", o->out_dir,
                  "Where each DIFF writes A's run as a case and B's frames (default: "
                  "./vslab-diff)");
  cmd->add_option("-j,--jobs", o->jobs, "Worker processes, each with its own topologies")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--topologies", o->topologies, "Folder of topology files")->capture_default_str();
  cmd->add_option("--vsd", o->vsd, "vsd binary for a builtin DUT (default: beside vslab)");
  cmd->add_option("--vsadm", o->vsadm, "vsadm binary for a builtin DUT (default: beside vslab)");
  cmd->callback([o, &status] { status = diff(*o); });
}

}  // namespace vslab::matrix
