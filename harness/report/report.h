// A run's report, whichever command made it (conform, replay, diff): an entry per cell or case
// with its verdict, what the run was against (properties), when it started and how long it
// took; and its two forms for CI: JUnit XML (conformance/matrix/junit.xsd) and JSON with totals.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/verdict.h"

namespace vslab::report {

struct Entry {
  std::string id;         // unique in a report: nat/rr/rewrite/tcp, or a case folder's name
  std::string classname;  // JUnit's classname (nat.rr; replay.case)
  std::string name;       // JUnit's name (rewrite/tcp; the case)
  Verdict verdict = Verdict::NotRun;
  std::string detail;  // Fail, Error: the diff or the message; Skip, NotRun: the reason
  double seconds = 0;
  // The command's own fields (a cell's mode and pcaps, a diff's folder), kept in the JSON as
  // they are; a JSON entry's keys other than the ones above come back here.
  nlohmann::json fields = nlohmann::json::object();
};

struct Totals {
  std::size_t cells = 0, passed = 0, failed = 0, errors = 0, skipped = 0, not_run = 0;
  double duration = 0;  // the run's wall seconds
};

using Properties = std::vector<std::pair<std::string, std::string>>;

struct Report {
  std::string suite;      // the command: "conform", "replay", "diff"
  Properties properties;  // in the order written; names unique
  std::string timestamp;  // the start, UTC, ISO 8601 without zone (JUnit's form)
  double duration = 0;    // wall seconds
  std::vector<Entry> entries;

  Totals totals() const;
  // nullptr when there is no such property.
  const std::string* property(std::string_view name) const;
  void set_property(const std::string& name, const std::string& value);
};

// 2026-12-07T04:40:38 for that UTC second.
std::string utc_timestamp(std::chrono::system_clock::time_point when);
// What every report records about where it ran: vslab_version, kernel_release, hostname.
Properties host_properties();

std::string to_junit(const Report& report);
nlohmann::json to_json(const Report& report);
// Throws std::runtime_error naming what is missing or wrong.
Report from_json(const nlohmann::json& j);
// Pretty JSON text; invalid UTF-8 in details (captured bytes) is replaced, not fatal.
std::string json_text(const nlohmann::json& j);

// Why a report could not be written to `path` ("" when it can): its folder is missing or not
// writable, or it is a folder. Commands check their report paths before they run anything.
std::string unwritable_reason(const std::string& path);
// Writes text to path; "" or the reason it could not.
std::string write_text(const std::string& path, const std::string& text);

// For --junit FILE and --json FILE ("" for one not asked): the reasons any cannot be written,
// checked before a run; then the report written to them, and the reasons any failed. `extra`
// adds top-level keys to the JSON (a command's own).
std::vector<std::string> unwritable_reports(const std::string& junit, const std::string& json);
std::vector<std::string> write_reports(const Report& report, const std::string& junit,
                                       const std::string& json,
                                       const nlohmann::json& extra = nlohmann::json::object());

}  // namespace vslab::report
