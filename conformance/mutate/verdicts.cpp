// verdicts.cpp: the mutation table.
#include "mutate/verdicts.h"
#include "os/text.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace vslab::mutate {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// What a row says besides the cell: the reason a mutant was not run or not judged.
std::string note(const MutantResult& r) {
  switch (r.verdict) {
    case Verdict::Killed:
      return r.cell;
    case Verdict::Equivalent:
      return r.mutant.equivalent;
    default: {
      std::string first = r.detail.substr(0, r.detail.find('\n'));
      return first.size() > 100 ? first.substr(0, 100) + "..." : first;
    }
  }
}

using os::first_line;

}  // namespace

std::string verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Killed:
      return "killed";
    case Verdict::Survived:
      return "SURVIVED";
    case Verdict::Stale:
      return "STALE";
    case Verdict::BuildFailed:
      return "BUILD-FAILED";
    case Verdict::Error:
      return "ERROR";
    case Verdict::Equivalent:
      return "equivalent";
    case Verdict::NotRun:
      return "not-run";
  }
  return "?";
}

std::string names_field(const MutantResult& r) {
  if (r.verdict != Verdict::Killed || r.mutant.names.empty()) return "-";
  const std::string text = lower(r.detail);
  for (const auto& name : r.mutant.names)
    if (text.find(lower(name)) != std::string::npos) return "yes";
  return "no";
}

std::string format_table(const std::vector<MutantResult>& results) {
  std::string out = fmt::format("{:<30} {:<12} {:<5} {:<34} {}\n", "mutant", "verdict", "names",
                                "first failing cell / why", "behaviour");
  for (const auto& r : results)
    out += fmt::format("{:<30} {:<12} {:<5} {:<34} {}\n", r.mutant.id, verdict_name(r.verdict),
                       names_field(r), note(r), r.mutant.behaviour);
  for (const auto& r : results)
    if (r.verdict == Verdict::Killed && names_field(r) == "no")
      out += fmt::format("- {} is caught, but its failure names none of [{}]: {}\n", r.mutant.id,
                         fmt::join(r.mutant.names, ", "), first_line(r.detail));
  return out;
}

std::string format_markdown(const std::vector<MutantResult>& results) {
  std::string out =
      "| mutant | spec section | behaviour | verdict | first failing cell (or why) | names the "
      "field |\n|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    std::string why = note(r);
    std::replace(why.begin(), why.end(), '|', '/');
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", r.mutant.id, r.mutant.section,
                       r.mutant.behaviour, verdict_name(r.verdict), why, names_field(r));
  }
  return out + "\n" + format_score(results) + "\n";
}

std::string format_score(const std::vector<MutantResult>& results) {
  int count[7] = {};
  for (const auto& r : results) ++count[int(r.verdict)];
  const int killed = count[int(Verdict::Killed)], survived = count[int(Verdict::Survived)];
  const int judged = killed + survived;
  return fmt::format(
      "score: {}/{} killed ({:.1f} %); {} survived, {} stale, {} build-failed, {} errors, {} "
      "equivalent (not counted), {} not run",
      killed, judged, judged ? 100.0 * killed / judged : 0.0, survived, count[int(Verdict::Stale)],
      count[int(Verdict::BuildFailed)], count[int(Verdict::Error)], count[int(Verdict::Equivalent)],
      count[int(Verdict::NotRun)]);
}

int exit_status(const std::vector<MutantResult>& results) {
  for (const auto& r : results)
    if (r.verdict != Verdict::Killed && r.verdict != Verdict::Equivalent) return 1;
  return 0;
}

}  // namespace vslab::mutate
