// mutate_command.cpp: `vslab mutate`. One thread builds the mutants one after another (one build
// at a time: the build tree is shared), -j threads run the suite against the binaries built.
#include "mutate/mutate_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "mutate/mutant_run.h"
#include "mutate/verdicts.h"
#include "mutate/workspace.h"
#include "os/interrupt.h"
#include "os/text.h"

namespace vslab::mutate {

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string mutants, work, source = VSLAB_SOURCE_DIR, filter, markdown;
  std::vector<std::string> only;
  bool quick = false, no_fixtures = false, no_baseline = false, own_build = false;
  int jobs = 1, build_jobs = 2;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

using os::first_line;

std::string this_program() {
  return fs::read_symlink("/proc/self/exe").string();
}

std::vector<std::string> fixture_cases(const std::string& source) {
  std::vector<std::string> cases;
  const fs::path dir = fs::path(source) / "fixtures" / "pcap";
  if (!fs::is_directory(dir)) return cases;
  for (const auto& e : fs::directory_iterator(dir))
    if (fs::exists(e.path() / "case.toml")) cases.push_back(e.path().string());
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::vector<Mutant> selected(std::vector<Mutant> all, const Options& o) {
  std::vector<Mutant> out;
  for (auto& m : all) {
    if (o.quick && !m.quick) continue;
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), m.id) == o.only.end()) continue;
    out.push_back(std::move(m));
  }
  return out;
}

// Cheapest builds first, so that the runners have work early and a run stopped at a deadline
// has judged the most mutants: test faults (no build), then edits of one .cpp file, then
// edits of headers (which rebuild every file that includes them). The table keeps file order.
std::vector<std::size_t> build_order(const std::vector<Mutant>& mutants) {
  auto cost = [&](std::size_t i) {
    const Mutant& m = mutants[i];
    if (!m.test_fault.empty()) return 0;
    return m.file.ends_with(".h") ? 2 : 1;
  };
  std::vector<std::size_t> order(mutants.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost(a) < cost(b); });
  return order;
}

// The built mutants waiting for a runner; closed when the builder is done.
class Queue {
 public:
  void push(std::size_t i) {
    {
      std::lock_guard lock(m_);
      items_.push_back(i);
    }
    cv_.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(m_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<std::size_t> pop() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    std::size_t i = items_.front();
    items_.pop_front();
    return i;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::size_t> items_;
  bool closed_ = false;
};

int run_mutate(const Options& o) {
  if (geteuid() != 0) {
    std::cerr << "vslab mutate: the conformance matrix needs root (network namespaces)\n";
    return 4;
  }
  std::vector<Mutant> mutants;
  try {
    const std::string path =
        o.mutants.empty() ? o.source + "/conformance/mutate/mutants.toml" : o.mutants;
    std::ifstream in(path);
    if (!in) {
      std::cerr << "vslab mutate: cannot read " << path << "\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    mutants = selected(parse_mutants(text.str(), path), o);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  if (mutants.empty()) {
    std::cerr << "vslab mutate: no mutant selected\n";
    return 2;
  }
  // A run stopped at a deadline still prints what it judged: the rest is not-run.
  os::catch_interrupts();
  std::mutex print_mutex;
  auto say = [&](const std::string& line) {
    std::lock_guard lock(print_mutex);
    std::cout << line << std::endl;
  };
  const auto started = Clock::now();
  const std::string work =
      o.work.empty() ? fs::path(this_program()).parent_path().string() + "/mutate-work" : o.work;
  // The build vslab runs from, when it is a Release build of the source: mutants are built on
  // its objects (overlay.h) instead of in a tree of their own from nothing.
  Workspace workspace(
      o.source, work, o.build_jobs, [&](const std::string& l) { say("  " + l); },
      o.own_build ? "" : fs::path(this_program()).parent_path().string());
  SuiteOptions suite{this_program(), o.filter,
                     o.no_fixtures ? std::vector<std::string>{} : fixture_cases(o.source)};
  say(fmt::format("vslab mutate: {} mutants, the matrix{} and {} fixtures each, -j{}",
                  mutants.size(), o.filter.empty() ? "" : " (" + o.filter + ")",
                  suite.fixtures.size(), o.jobs));
  std::string baseline;
  try {
    baseline = workspace.prepare();
  } catch (const std::exception& e) {
    std::cerr << "vslab mutate: " << e.what() << "\n";
    return 1;
  }
  if (!o.no_baseline) {
    say("  running the suite against the unmutated vsd");
    auto r = run_suite(suite, baseline, "", work + "/runs/unmutated");
    if (os::interrupted()) return os::interrupted_exit_status();
    if (r.outcome != SuiteResult::Outcome::Passed) {
      std::cerr << "vslab mutate: the unmutated vsd does not pass, so no mutant can be judged: "
                << (r.outcome == SuiteResult::Outcome::Failed ? r.cell + ": " + r.detail : r.error)
                << "\n";
      return 1;
    }
  }

  std::vector<MutantResult> results(mutants.size());
  std::vector<std::string> binaries(mutants.size());
  std::vector<Clock::time_point> begun(mutants.size());
  auto finished = [&](std::size_t i) {
    results[i].seconds = seconds_since(begun[i]);
    const auto& r = results[i];
    say(fmt::format("{:<12} {:<30} {:6.1f} s  {}", verdict_name(r.verdict), r.mutant.id, r.seconds,
                    r.verdict == Verdict::Killed ? r.cell : first_line(r.detail)));
  };
  Queue queue;
  std::thread builder([&] {
    for (std::size_t i : build_order(mutants)) {
      results[i].mutant = mutants[i];
      results[i].verdict = Verdict::NotRun;
      begun[i] = Clock::now();
      if (os::interrupted()) continue;
      if (!mutants[i].equivalent.empty()) {
        results[i].verdict = Verdict::Equivalent;
        continue;
      }
      BuildResult b;
      try {
        b = workspace.build(mutants[i]);
      } catch (const std::exception& e) {
        b = {BuildResult::Outcome::Failed, {}, e.what()};
      }
      if (os::interrupted()) continue;  // a ^C reaches the build too: its failure is no verdict
      if (b.outcome == BuildResult::Outcome::Built) {
        binaries[i] = b.binary;
        queue.push(i);
        continue;
      }
      results[i].verdict =
          b.outcome == BuildResult::Outcome::Stale ? Verdict::Stale : Verdict::BuildFailed;
      results[i].detail = b.detail;
      finished(i);
    }
    queue.close();
  });
  std::vector<std::thread> runners;
  for (int j = 0; j < std::max(1, o.jobs); ++j)
    runners.emplace_back([&] {
      while (auto i = queue.pop()) {
        if (os::interrupted()) continue;
        auto r = run_suite(suite, binaries[*i], mutants[*i].test_fault,
                           work + "/runs/" + mutants[*i].id);
        auto& out = results[*i];
        if (os::interrupted() && r.outcome != SuiteResult::Outcome::Failed) continue;
        switch (r.outcome) {
          case SuiteResult::Outcome::Failed:
            out.verdict = Verdict::Killed;
            out.cell = r.cell;
            out.detail = r.detail;
            break;
          case SuiteResult::Outcome::Passed:
            out.verdict = Verdict::Survived;
            out.detail = "every cell and fixture passed";
            break;
          case SuiteResult::Outcome::Error:
            out.verdict = Verdict::Error;
            out.detail = r.error;
            break;
        }
        finished(*i);
      }
    });
  builder.join();
  for (auto& t : runners) t.join();

  std::cout << "\n"
            << format_table(results) << "\n"
            << format_score(results) << "; " << fmt::format("{:.0f} s wall", seconds_since(started))
            << "\n";
  if (!o.markdown.empty()) {
    std::ofstream md(o.markdown);
    md << format_markdown(results);
    if (!md.flush()) {
      std::cerr << "vslab mutate: cannot write " << o.markdown << "\n";
      return 1;
    }
  }
  if (os::interrupted()) return os::interrupted_exit_status();
  return exit_status(results);
}

}  // namespace

void add_mutate_command(CLI::App& app, int& status) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "mutate",
      "Build vsd with each mutant of a set (a fault on purpose), run the matrix and the "
      "fixtures against it, and print which the suite catches");
  cmd->add_option("--mutants", o->mutants,
                  "Mutant set (default: conformance/mutate/mutants.toml of the source)");
  cmd->add_flag("--quick", o->quick, "Only the mutants marked quick (the CI slice)");
  cmd->add_option("--only", o->only, "Only these mutant ids")->delimiter(',');
  cmd->add_option("-j,--jobs", o->jobs, "Mutants run at once, each its own vslab at -j1")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--build-jobs", o->build_jobs, "Parallel compile jobs of the one build")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--work", o->work,
                  "Folder for the source copy, the build tree, the binaries and the runs "
                  "(default: mutate-work beside vslab); reused by the next run");
  cmd->add_option("--source", o->source,
                  "Source tree to copy (default: the one vslab was built from)")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--own-build", o->own_build,
                "Build vsd from nothing in the work folder, not on the objects of the Release "
                "build vslab runs from");
  cmd->add_option("--filter", o->filter, "Only these matrix cells (as conform --filter)");
  cmd->add_flag("--no-fixtures", o->no_fixtures, "Run the matrix only, not fixtures/pcap");
  cmd->add_flag("--no-baseline", o->no_baseline,
                "Do not first check that the unmutated vsd passes");
  cmd->add_option("--markdown", o->markdown, "Also write the table as Markdown here");
  cmd->callback([o, &status] { status = run_mutate(*o); });
}

}  // namespace vslab::mutate
