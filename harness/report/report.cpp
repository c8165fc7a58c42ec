#include "report/report.h"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "vslab_version.h"

namespace vslab::report {
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

// The keys an entry's JSON object has of its own; any other key is a command's field.
constexpr std::string_view kEntryKeys[] = {"id", "class", "name", "outcome", "detail", "seconds"};

}  // namespace

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Pass:
      return "pass";
    case Verdict::Fail:
      return "fail";
    case Verdict::Error:
      return "error";
    case Verdict::Skip:
      return "skip";
    case Verdict::NotRun:
      return "not-run";
  }
  return "?";
}

std::optional<Verdict> parse_verdict(std::string_view text) {
  for (Verdict v : {Verdict::Pass, Verdict::Fail, Verdict::Error, Verdict::Skip, Verdict::NotRun})
    if (verdict_name(v) == text) return v;
  return std::nullopt;
}

Totals Report::totals() const {
  Totals t;
  t.cells = entries.size();
  t.duration = duration;
  for (const auto& e : entries) {
    switch (e.verdict) {
      case Verdict::Pass:
        ++t.passed;
        break;
      case Verdict::Fail:
        ++t.failed;
        break;
      case Verdict::Error:
        ++t.errors;
        break;
      case Verdict::Skip:
        ++t.skipped;
        break;
      case Verdict::NotRun:
        ++t.not_run;
        break;
    }
  }
  return t;
}

const std::string* Report::property(std::string_view name) const {
  for (const auto& [key, value] : properties)
    if (key == name) return &value;
  return nullptr;
}

void Report::set_property(const std::string& name, const std::string& value) {
  for (auto& [key, old] : properties)
    if (key == name) {
      old = value;
      return;
    }
  properties.emplace_back(name, value);
}

std::string utc_timestamp(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return text;
}

Properties host_properties() {
  Properties out{{"vslab_version", VSLAB_VERSION}};
  utsname u{};
  if (uname(&u) == 0) out.emplace_back("kernel_release", u.release);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) out.emplace_back("hostname", host);
  return out;
}

std::string to_junit(const Report& report) {
  const Totals t = report.totals();
  // A cell not run is no test of the DUT, but a CI page must show it: as skipped, with why.
  const std::size_t skipped = t.skipped + t.not_run;
  const std::string suite = "vslab " + report.suite;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      xml_escaped(suite), t.cells, t.failed, t.errors, skipped, report.duration);
  const std::string* host = report.property("hostname");
  out += fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\"",
      xml_escaped(suite), t.cells, t.failed, t.errors, skipped, report.duration);
  if (!report.timestamp.empty()) out += fmt::format(" timestamp=\"{}\"", report.timestamp);
  if (host) out += fmt::format(" hostname=\"{}\"", xml_escaped(*host));
  out += ">\n";
  if (!report.properties.empty()) {
    out += "    <properties>\n";
    for (const auto& [name, value] : report.properties)
      out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", xml_escaped(name),
                         xml_escaped(value));
    out += "    </properties>\n";
  }
  for (const auto& e : report.entries) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                       xml_escaped(e.classname), xml_escaped(e.name), e.seconds);
    if (e.verdict == Verdict::Pass) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    switch (e.verdict) {
      case Verdict::Skip:
        out += fmt::format("      <skipped message=\"{}\"/>\n", xml_escaped(e.detail));
        break;
      case Verdict::NotRun:
        out += fmt::format("      <skipped type=\"not-run\" message=\"not run: {}\"/>\n",
                           xml_escaped(e.detail));
        break;
      case Verdict::Error:
        out += fmt::format("      <error type=\"error\" message=\"{}\">{}</error>\n",
                           xml_escaped(first_line(e.detail)), xml_escaped(e.detail));
        break;
      default:
        out += fmt::format("      <failure type=\"failure\" message=\"{}\">{}</failure>\n",
                           xml_escaped(first_line(e.detail)), xml_escaped(e.detail));
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

nlohmann::json to_json(const Report& report) {
  const Totals t = report.totals();
  nlohmann::json properties = nlohmann::json::object();
  for (const auto& [name, value] : report.properties) properties[name] = value;
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& e : report.entries) {
    nlohmann::json c = e.fields.is_object() ? e.fields : nlohmann::json::object();
    c["id"] = e.id;
    c["class"] = e.classname;
    c["name"] = e.name;
    c["outcome"] = verdict_name(e.verdict);
    c["detail"] = e.detail;
    c["seconds"] = e.seconds;
    cells.push_back(std::move(c));
  }
  return {{"suite", report.suite},
          {"timestamp", report.timestamp},
          {"duration", report.duration},
          {"properties", properties},
          {"totals",
           {{"cells", t.cells},
            {"passed", t.passed},
            {"failed", t.failed},
            {"errors", t.errors},
            {"skipped", t.skipped},
            {"not_run", t.not_run},
            {"duration", t.duration}}},
          {"cells", cells}};
}

Report from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("cells") || !j["cells"].is_array())
    throw std::runtime_error("not a vslab report: no \"cells\" array");
  Report r;
  try {
    r.suite = j.value("suite", "");
    r.timestamp = j.value("timestamp", "");
    r.duration = j.value("duration", 0.0);
    if (j.contains("properties"))
      for (const auto& [name, value] : j["properties"].items())
        r.properties.emplace_back(name, value.get<std::string>());
    for (const auto& c : j["cells"]) {
      Entry e;
      e.id = c.at("id").get<std::string>();
      e.classname = c.value("class", "");
      e.name = c.value("name", e.id);
      const std::string outcome = c.at("outcome").get<std::string>();
      auto v = parse_verdict(outcome);
      if (!v) throw std::runtime_error("cell " + e.id + ": unknown outcome '" + outcome + "'");
      e.verdict = *v;
      e.detail = c.value("detail", "");
      e.seconds = c.value("seconds", 0.0);
      for (const auto& [key, value] : c.items())
        if (std::find(std::begin(kEntryKeys), std::end(kEntryKeys), key) == std::end(kEntryKeys))
          e.fields[key] = value;
      r.entries.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("not a vslab report: ") + e.what());
  }
  return r;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string unwritable_reason(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return path + " is a folder";
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return path + ": the folder " + dir.string() + " does not exist";
  // Opening is the only test that holds for root too (access() says yes to root on /proc).
  const bool existed = fs::exists(p, ec);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return path + ": cannot be written (" + std::strerror(errno) + ")";
  close(fd);
  if (!existed) unlink(path.c_str());
  return "";
}

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return "cannot write " + path;
  return "";
}

std::vector<std::string> unwritable_reports(const std::string& junit, const std::string& json) {
  std::vector<std::string> out;
  for (const auto* path : {&junit, &json})
    if (!path->empty())
      if (auto why = unwritable_reason(*path); !why.empty()) out.push_back(why);
  return out;
}

std::vector<std::string> write_reports(const Report& report, const std::string& junit,
                                       const std::string& json, const nlohmann::json& extra) {
  std::vector<std::string> out;
  if (!junit.empty())
    if (auto why = write_text(junit, to_junit(report)); !why.empty()) out.push_back(why);
  if (!json.empty()) {
    auto j = to_json(report);
    if (extra.is_object())
      for (const auto& [key, value] : extra.items()) j[key] = value;
    if (auto why = write_text(json, json_text(j)); !why.empty()) out.push_back(why);
  }
  return out;
}

}  // namespace vslab::report
