// mutant_set.cpp: reading mutants.toml; the same error lines as every other TOML file of vslab.
#include "mutate/mutant_set.h"

#include <set>

#include "toml/reader.h"

namespace vslab::mutate {

namespace {

using toml_file::Diagnostics;

std::string string_at(const toml::table& t, std::string_view key, Diagnostics& d) {
  auto v = toml_file::optional_string(t, key, d);
  return v ? v->value : std::string{};
}

bool id_is_well_formed(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

Mutant read_mutant(const toml::table& t, Diagnostics& d) {
  static constexpr std::string_view known[] = {"id",    "section",   "behaviour",  "file",
                                               "find",  "replace",   "test_fault", "names",
                                               "quick", "equivalent"};
  toml_file::reject_unknown_keys(t, known, "in a [[mutant]]", d);
  Mutant m;
  if (auto id = toml_file::required_string(t, "id", "a [[mutant]]", d)) {
    m.id = id->value;
    if (!id_is_well_formed(m.id)) d.add(id->pos, "id '" + m.id + "' must be [a-z0-9-]+");
  }
  m.section = string_at(t, "section", d);
  if (auto b = toml_file::required_string(t, "behaviour", "mutant '" + m.id + "'", d))
    m.behaviour = b->value;
  m.file = string_at(t, "file", d);
  m.find = string_at(t, "find", d);
  m.replace = string_at(t, "replace", d);
  m.test_fault = string_at(t, "test_fault", d);
  m.equivalent = string_at(t, "equivalent", d);
  toml_file::for_each_string(t, "names", d, [&](const auto& s) { m.names.push_back(s.value); });
  if (auto q = toml_file::optional_bool(t, "quick", d)) m.quick = q->value;
  const bool edit = !m.file.empty() || !m.find.empty() || t.contains("replace");
  if (edit == !m.test_fault.empty())
    d.add(&t, "mutant '" + m.id + "' needs either file, find and replace, or test_fault");
  else if (edit && (m.file.empty() || m.find.empty() || !t.contains("replace")))
    d.add(&t, "mutant '" + m.id + "' needs file, find and replace together");
  else if (edit && m.find == m.replace)
    d.add(&t, "mutant '" + m.id + "' replaces 'find' by itself");
  return m;
}

}  // namespace

std::vector<Mutant> parse_mutants(std::string_view text, const std::string& source_name) {
  Diagnostics d(source_name);
  std::vector<Mutant> mutants;
  if (auto root = toml_file::parse(text, d)) {
    toml_file::reject_unknown_keys(*root, {"mutant"}, "at top level", d);
    std::set<std::string> ids;
    for (const toml::table* t : toml_file::tables_of(*root, "mutant", d)) {
      Mutant m = read_mutant(*t, d);
      if (!m.id.empty() && !ids.insert(m.id).second)
        d.add(t, "mutant id '" + m.id + "' is given twice");
      mutants.push_back(std::move(m));
    }
    if (mutants.empty() && d.empty()) d.add(nullptr, "no [[mutant]] in the file");
  }
  d.throw_if_any();
  return mutants;
}

std::optional<std::string> apply_edit(std::string_view source, const Mutant& mutant,
                                      int& occurrences) {
  occurrences = 0;
  std::size_t at = std::string_view::npos;
  for (std::size_t pos = source.find(mutant.find); pos != std::string_view::npos;
       pos = source.find(mutant.find, pos + 1)) {
    if (occurrences++ == 0) at = pos;
  }
  if (occurrences != 1) return std::nullopt;
  std::string out(source.substr(0, at));
  out += mutant.replace;
  out += source.substr(at + mutant.find.size());
  return out;
}

}  // namespace vslab::mutate
