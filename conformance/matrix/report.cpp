#include "matrix/report.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "matrix/kinds/kind.h"

namespace vslab::matrix {
namespace {

std::string xml_escaped(std::string_view text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
          out += '?';
        else
          out += ch;
    }
  }
  return out;
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

std::string format_table(const std::vector<CellResult>& results) {
  // (row, kind) -> outcomes of its protocols
  std::map<std::pair<std::string, const ScenarioKind*>, std::vector<Outcome>> cells;
  std::set<std::pair<std::string, const ScenarioKind*>> errors;
  std::vector<std::string> rows;
  for (const auto& r : results) {
    std::string row = fmt::format("{}/{}", name(r.cell.mode), r.cell.scheduler);
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    cells[{row, r.cell.kind}].push_back(r.outcome);
    if (r.error) errors.insert({row, r.cell.kind});
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
        bool any_fail = std::count(o.begin(), o.end(), Outcome::Fail) > 0;
        bool all_skip = std::count(o.begin(), o.end(), Outcome::Skip) == long(o.size());
        bool any_not_run = std::count(o.begin(), o.end(), Outcome::NotRun) > 0;
        mark = errors.contains({row, &k}) ? "ERROR"
               : any_fail                 ? "FAIL"
               : any_not_run              ? "not run"
               : all_skip                 ? "skip"
                                          : "ok";
      }
      out += fmt::format(" {:<12}", mark);
    }
    out += "\n";
  }
  std::set<std::string> reasons, not_run_reasons;
  bool failures = false;
  for (const auto& r : results) {
    if (r.outcome == Outcome::Skip) reasons.insert(r.detail);
    if (r.outcome == Outcome::NotRun) not_run_reasons.insert(r.detail);
    if (r.outcome != Outcome::Fail) continue;
    if (!failures) out += "\nFailures:\n";
    failures = true;
    out += fmt::format("- {}: {}{}\n", r.cell.id(), r.error ? "error: " : "", r.detail);
  }
  if (!reasons.empty()) {
    out += "\nSkipped:\n";
    for (const auto& reason : reasons) out += "- " + reason + "\n";
  }
  if (!not_run_reasons.empty()) {
    out += "\nNot run:\n";
    for (const auto& reason : not_run_reasons) out += "- " + reason + "\n";
  }
  return out;
}

std::string format_summary(const std::vector<CellResult>& results, double wall_seconds, int jobs) {
  std::size_t pass = 0, fail = 0, skip = 0, not_run = 0, errors = 0;
  for (const auto& r : results) {
    (r.outcome == Outcome::Pass     ? pass
     : r.outcome == Outcome::Fail   ? fail
     : r.outcome == Outcome::NotRun ? not_run
                                    : skip)++;
    errors += r.error;
  }
  return fmt::format("{} cells: {} passed, {} failed{}, {} skipped{}; {:.1f} s wall at -j{}\n",
                     results.size(), pass, fail,
                     errors ? fmt::format(" ({} of them errors)", errors) : "", skip,
                     not_run ? fmt::format(", {} not run", not_run) : "", wall_seconds, jobs);
}

std::string format_junit(const std::vector<CellResult>& results, double wall_seconds) {
  // A cell not run is a JUnit skip whose message says why; a harness or DUT error is <error>.
  std::size_t fail = 0, skip = 0, errors = 0;
  for (const auto& r : results) {
    fail += r.outcome == Outcome::Fail && !r.error;
    errors += r.outcome == Outcome::Fail && r.error;
    skip += r.outcome == Outcome::Skip || r.outcome == Outcome::NotRun;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"vslab conform\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" "
      "errors=\"{}\" time=\"{:.3f}\">\n",
      results.size(), fail, skip, errors, wall_seconds);
  out += fmt::format(
      "  <testsuite name=\"conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" "
      "errors=\"{}\" time=\"{:.3f}\">\n",
      results.size(), fail, skip, errors, wall_seconds);
  for (const auto& r : results) {
    out += fmt::format("    <testcase classname=\"{}.{}\" name=\"{}/{}\" time=\"{:.3f}\"",
                       xml_escaped(name(r.cell.mode)), xml_escaped(r.cell.scheduler),
                       xml_escaped(r.cell.kind_name()), xml_escaped(name(r.cell.proto)), r.seconds);
    if (r.outcome == Outcome::Pass) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    if (r.outcome == Outcome::Skip || r.outcome == Outcome::NotRun) {
      out += fmt::format("      <skipped message=\"{}\"/>\n", xml_escaped(r.detail));
    } else if (r.error) {
      out += fmt::format("      <error message=\"{}\">{}</error>\n",
                         xml_escaped(first_line(r.detail)), xml_escaped(r.detail));
    } else {
      out += fmt::format("      <failure message=\"{}\">{}</failure>\n",
                         xml_escaped(first_line(r.detail)), xml_escaped(r.detail));
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

nlohmann::json to_json(const std::vector<CellResult>& results) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& r : results)
    cells.push_back({{"id", r.cell.id()},
                     {"mode", name(r.cell.mode)},
                     {"scheduler", r.cell.scheduler},
                     {"kind", r.cell.kind_name()},
                     {"proto", name(r.cell.proto)},
                     {"outcome", outcome_name(r.outcome)},
                     {"detail", r.detail},
                     {"seconds", r.seconds},
                     {"pcaps", r.pcaps},
                     {"case", r.case_dir},
                     {"error", r.error}});
  return {{"cells", cells}};
}

std::vector<CellResult> results_from_json(const nlohmann::json& j) {
  std::vector<CellResult> out;
  for (const auto& c : j.at("cells")) {
    CellResult r;
    r.cell = cell_named(c.at("mode").get<std::string>(), c.at("scheduler").get<std::string>(),
                        c.at("kind").get<std::string>(), c.at("proto").get<std::string>());
    const std::string outcome = c.at("outcome");
    r.outcome = outcome == "pass"      ? Outcome::Pass
                : outcome == "fail"    ? Outcome::Fail
                : outcome == "not-run" ? Outcome::NotRun
                                       : Outcome::Skip;
    r.error = c.value("error", false);
    r.detail = c.at("detail");
    r.seconds = c.at("seconds");
    r.pcaps = c.at("pcaps").get<std::vector<std::string>>();
    r.case_dir = c.value("case", "");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace vslab::matrix
