#include "matrix/merge_command.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/conform_command.h"
#include "matrix/report.h"
#include "matrix/shard.h"

namespace vslab::matrix {
namespace {

struct MergeOptions {
  std::string out;
  std::vector<std::string> inputs;
  std::string junit;
  bool allow_skips = false;
};

std::string property_or(const report::Report& r, const char* name, const std::string& fallback) {
  const std::string* p = r.property(name);
  return p ? *p : fallback;
}

// Each slice of 1..N exactly once, all of the same N.
void check_slices(const std::vector<report::Report>& slices,
                  const std::vector<std::string>& names) {
  std::map<int, std::string> seen;
  int count = 0;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const std::string text = property_or(slices[i], "shard", "1/1");
    auto shard = parse_shard(text);
    if (!shard) throw std::runtime_error(names[i] + ": its shard '" + text + "' is not I/N");
    if (count && shard->count != count)
      throw std::runtime_error(fmt::format("{} is slice {} but {} is of {} slices", names[i], text,
                                           seen.begin()->second, count));
    count = shard->count;
    if (auto [it, fresh] = seen.emplace(shard->index, names[i]); !fresh)
      throw std::runtime_error(
          fmt::format("{} and {} are both slice {}", it->second, names[i], text));
  }
  std::vector<std::string> missing;
  for (int k = 1; k <= count; ++k)
    if (!seen.count(k)) missing.push_back(Shard{k, count}.text());
  if (!missing.empty())
    throw std::runtime_error(
        fmt::format("slice(s) {} missing: the run is incomplete", fmt::join(missing, ", ")));
  for (const char* same : {"filter", "dut", "dut_flags"}) {
    const std::string first = property_or(slices.front(), same, "");
    for (std::size_t i = 1; i < slices.size(); ++i)
      if (property_or(slices[i], same, "") != first)
        throw std::runtime_error(fmt::format("{} has {} '{}', {} has '{}': not one run", names[0],
                                             same, first, names[i],
                                             property_or(slices[i], same, "")));
  }
}

}  // namespace

report::Report merge_slices(const std::vector<report::Report>& slices,
                            const std::vector<std::string>& names) {
  if (slices.empty()) throw std::runtime_error("no report to merge");
  check_slices(slices, names);
  report::Report out;
  out.suite = "conform";
  std::map<std::string, std::size_t> rank;
  for (const auto& c : all_cells()) rank.emplace(c.id(), rank.size());
  std::map<std::string, std::string> slice_of;
  // Each property's distinct values across the slices, in the order met.
  std::vector<std::pair<std::string, std::vector<std::string>>> values;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const auto& s = slices[i];
    if (out.timestamp.empty() || (!s.timestamp.empty() && s.timestamp < out.timestamp))
      out.timestamp = s.timestamp;
    out.duration = std::max(out.duration, s.duration);
    for (const auto& e : s.entries) {
      from_entry(e);  // throws for an entry that is no cell of the matrix
      if (auto [it, fresh] = slice_of.emplace(e.id, names[i]); !fresh)
        throw std::runtime_error(
            fmt::format("cell {} is in both {} and {}", e.id, it->second, names[i]));
      out.entries.push_back(e);
    }
    for (const auto& [name, value] : s.properties) {
      if (name == "shard") continue;
      auto it = std::find_if(values.begin(), values.end(),
                             [&](const auto& v) { return v.first == name; });
      if (it == values.end()) it = values.insert(values.end(), {name, {}});
      if (std::find(it->second.begin(), it->second.end(), value) == it->second.end())
        it->second.push_back(value);
    }
  }
  for (const auto& [name, distinct] : values)
    out.properties.emplace_back(name, fmt::format("{}", fmt::join(distinct, ", ")));
  out.set_property("merged_from", std::to_string(slices.size()) + " slices");
  std::stable_sort(out.entries.begin(), out.entries.end(),
                   [&](const auto& a, const auto& b) { return rank.at(a.id) < rank.at(b.id); });
  return out;
}

namespace {

int merge(const MergeOptions& o) {
  if (auto why = report::unwritable_reports(o.junit, o.out); !why.empty()) {
    for (const auto& w : why) std::cerr << "vslab report merge: " << w << "\n";
    return 2;
  }
  std::vector<report::Report> slices;
  for (const auto& path : o.inputs) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "vslab report merge: cannot read " << path << "\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    try {
      if (j.is_discarded()) throw std::runtime_error("not JSON");
      slices.push_back(report::from_json(j));
    } catch (const std::exception& e) {
      std::cerr << "vslab report merge: " << path << ": " << e.what() << "\n";
      return 2;
    }
  }
  report::Report merged;
  try {
    merged = merge_slices(slices, o.inputs);
  } catch (const std::exception& e) {
    std::cerr << "vslab report merge: " << e.what() << "\n";
    return 2;
  }
  auto unwritten = report::write_reports(merged, o.junit, o.out);
  for (const auto& w : unwritten) std::cerr << "vslab report merge: " << w << "\n";
  if (!unwritten.empty()) return 2;
  const auto t = merged.totals();
  std::cout << fmt::format(
      "{} cells from {} slices: {} passed, {} failed, {} errors, {} skipped{}; {:.1f} s wall "
      "(the longest slice)\n",
      t.cells, slices.size(), t.passed, t.failed, t.errors, t.skipped,
      t.not_run ? fmt::format(", {} not run", t.not_run) : "", t.duration);
  return conform_exit_status(t, o.allow_skips, std::cerr);
}

}  // namespace

void add_report_command(CLI::App& app, int& status) {
  auto* report = app.add_subcommand("report", "Work on the reports of `vslab conform`");
  report->require_subcommand(1);
  auto o = std::make_shared<MergeOptions>();
  auto* cmd = report->add_subcommand(
      "merge",
      "Join the JSON reports of `vslab conform --shard I/N` slices into one report, and exit "
      "as the unsharded run would have");
  cmd->add_option("out", o->out, "The merged JSON report to write")->required();
  cmd->add_option("inputs", o->inputs, "The slices' JSON reports (conform --json)")->required();
  cmd->add_option("--junit", o->junit, "Also write the merged report as JUnit XML here");
  cmd->add_flag("--allow-skips", o->allow_skips,
                "Exit 0 also when every cell was skipped (else 3: nothing was tested)");
  cmd->callback([o, &status] { status = merge(*o); });
}

}  // namespace vslab::matrix
