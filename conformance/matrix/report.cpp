#include "matrix/report.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "matrix/kinds/kind.h"

namespace vslab::matrix {

std::string format_table(const std::vector<CellResult>& results) {
  // (row, kind) -> outcomes of its protocols
  std::map<std::pair<std::string, const ScenarioKind*>, std::vector<Outcome>> cells;
  std::vector<std::string> rows;
  for (const auto& r : results) {
    std::string row = fmt::format("{}/{}", name(r.cell.mode), r.cell.scheduler);
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    cells[{row, r.cell.kind}].push_back(r.outcome);
  }
  std::string out = fmt::format("{:<14}", "mode/sched");
  for (const auto& k : scenario_kinds()) out += fmt::format(" {:<12}", k.name);
  out += "\n";
  for (const auto& row : rows) {
    out += fmt::format("{:<14}", row);
    for (const auto& k : scenario_kinds()) {
      auto it = cells.find({row, &k});
      std::string mark = "-";
      if (it != cells.end()) {
        const auto& o = it->second;
        auto any = [&](Outcome x) { return std::count(o.begin(), o.end(), x) > 0; };
        bool all_skip = std::count(o.begin(), o.end(), Outcome::Skip) == long(o.size());
        mark = any(Outcome::Fail)     ? "FAIL"
               : any(Outcome::Error)  ? "ERROR"
               : any(Outcome::NotRun) ? "not-run"
               : all_skip             ? "skip"
                                      : "ok";
      }
      out += fmt::format(" {:<12}", mark);
    }
    out += "\n";
  }
  out += format_problems(results);
  std::set<std::string> reasons;
  for (const auto& r : results)
    if (r.outcome == Outcome::Skip) reasons.insert(r.detail);
  if (!reasons.empty()) {
    out += "\nSkipped:\n";
    for (const auto& reason : reasons) out += "- " + reason + "\n";
  }
  return out;
}

std::string format_problems(const std::vector<CellResult>& results) {
  std::string out;
  for (auto [outcome, title] : {std::pair{Outcome::Fail, "Failures"}, {Outcome::Error, "Errors"}}) {
    bool first = true;
    for (const auto& r : results) {
      if (r.outcome != outcome) continue;
      if (first) out += fmt::format("\n{}:\n", title);
      first = false;
      out += fmt::format("- {}: {}\n", r.cell.id(), r.detail);
    }
  }
  return out;
}

std::string format_summary(const std::vector<CellResult>& results, double wall_seconds, int jobs) {
  report::Report r = to_report(results);
  const auto t = r.totals();
  return fmt::format(
      "{} cells: {} passed, {} failed, {} errors, {} skipped{}; {:.1f} s wall at -j{}\n", t.cells,
      t.passed, t.failed, t.errors, t.skipped,
      t.not_run ? fmt::format(", {} not run", t.not_run) : "", wall_seconds, jobs);
}

report::Entry to_entry(const CellResult& r) {
  report::Entry e;
  e.id = r.cell.id();
  e.classname = fmt::format("{}.{}", name(r.cell.mode), r.cell.scheduler);
  e.name = fmt::format("{}/{}", r.cell.kind_name(), r.cell.proto_name());
  e.verdict = r.outcome;
  e.detail = r.detail;
  e.seconds = r.seconds;
  e.fields = {{"mode", name(r.cell.mode)},  {"scheduler", r.cell.scheduler},
              {"kind", r.cell.kind_name()}, {"proto", r.cell.proto_name()},
              {"pcaps", r.pcaps},           {"case", r.case_dir}};
  return e;
}

CellResult from_entry(const report::Entry& e) {
  CellResult r;
  const auto& f = e.fields;
  auto text = [&](const char* key) {
    if (!f.contains(key) || !f[key].is_string())
      throw std::invalid_argument("cell " + e.id + " has no " + key);
    return f[key].get<std::string>();
  };
  r.cell = cell_named(text("mode"), text("scheduler"), text("kind"), text("proto"));
  r.outcome = e.verdict;
  r.detail = e.detail;
  r.seconds = e.seconds;
  if (f.contains("pcaps") && f["pcaps"].is_array())
    r.pcaps = f["pcaps"].get<std::vector<std::string>>();
  if (f.contains("case") && f["case"].is_string()) r.case_dir = f["case"];
  return r;
}

report::Report to_report(const std::vector<CellResult>& results) {
  report::Report r;
  r.suite = "conform";
  for (const auto& c : results) r.entries.push_back(to_entry(c));
  return r;
}

nlohmann::json to_json(const std::vector<CellResult>& results) {
  return {{"cells", report::to_json(to_report(results))["cells"]}};
}

std::vector<CellResult> results_from_json(const nlohmann::json& j) {
  std::vector<CellResult> out;
  for (const auto& e : report::from_json(j).entries) out.push_back(from_entry(e));
  return out;
}

}  // namespace vslab::matrix
