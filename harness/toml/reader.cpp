// reader.cpp: the diagnostics and typed getters every TOML reader of the harness shares.
#include "toml/reader.h"
#include "toml/spelling.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <tuple>

#include <fmt/format.h>

namespace vslab::toml_file {
namespace {

// " (did you mean 'x'?)", else " (known: a, b)". A suggestion must keep part of the key:
// otherwise an unknown "c" in a link would suggest "a".
std::string hint_for(std::string_view unknown, KeyList known) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view candidate : known) {
    const std::size_t distance = edit_distance(unknown, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best.empty()) return fmt::format(" (did you mean '{}'?)", best);
  return fmt::format(" (known: {})", fmt::join(known, ", "));
}

template <typename T>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  if constexpr (std::is_same_v<T, int64_t>) return "an integer";
  if constexpr (std::is_same_v<T, bool>) return "a boolean (true or false)";
  if constexpr (std::is_same_v<T, double>) return "a floating-point number";
}

}  // namespace

void Diagnostics::add(Position pos, std::string message) {
  // One line per mistake, whatever a message quotes.
  std::replace(message.begin(), message.end(), '\n', ' ');
  // A node toml++ made rather than read has no position; the file's start is the nearest.
  if (pos.line == 0) pos = {1, 1};
  found_.push_back({pos, fmt::format("{}:{}:{}: {}", source_name_, pos.line, pos.column, message)});
}

void Diagnostics::add(const toml::node* at, std::string message) {
  add(at ? at->source().begin : Position{1, 1}, std::move(message));
}

void Diagnostics::add_line(std::string line) {
  found_.push_back({Position{0, 0}, std::move(line)});
}

std::vector<std::string> Diagnostics::in_file_order() const {
  std::vector<Found> sorted = found_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Found& x, const Found& y) {
    return std::tie(x.pos.line, x.pos.column) < std::tie(y.pos.line, y.pos.column);
  });
  std::vector<std::string> lines;
  for (Found& f : sorted) lines.push_back(std::move(f.line));
  return lines;
}

void Diagnostics::throw_if_any() const {
  if (found_.empty()) return;
  throw std::invalid_argument(fmt::format("{}", fmt::join(in_file_order(), "\n")));
}

std::optional<toml::table> parse(std::string_view text, Diagnostics& diagnostics) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, diagnostics.source_name());
  } catch (const toml::parse_error& e) {
    diagnostics.add(e.source().begin, std::string(e.description()));
    return std::nullopt;
  }
#else
  toml::parse_result parsed = toml::parse(text, diagnostics.source_name());
  if (!parsed) {
    diagnostics.add(parsed.error().source().begin, std::string(parsed.error().description()));
    return std::nullopt;
  }
  return std::move(parsed).table();
#endif
}

FileText read_text_file(const std::string& path) {
  const auto cannot_read = [&] {
    return FileText{std::nullopt,
                    fmt::format("{}:0:0: cannot read: {}", path,
                                std::error_code(errno, std::generic_category()).message())};
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return cannot_read();
  std::string contents;
  char buffer[16384];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0)
    contents.append(buffer, count);
  // A directory opens fine and fails on the first read (EISDIR).
  if (std::ferror(file.get())) return cannot_read();
  return FileText{std::move(contents), {}};
}

void reject_unknown_keys(const toml::table& table, KeyList known, std::string_view where,
                         Diagnostics& diagnostics) {
  for (auto&& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    diagnostics.add(key.source().begin, fmt::format("unknown key '{}' {}{}", key.str(), where,
                                                    hint_for(key.str(), known)));
  }
}

void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         std::string_view where, Diagnostics& diagnostics) {
  reject_unknown_keys(table, KeyList(known.begin(), known.size()), where, diagnostics);
}

template <typename T>
std::optional<Located<T>> optional_value(const toml::table& table, std::string_view key,
                                         Diagnostics& diagnostics) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* value = node->as<T>()) return Located<T>{value->get(), node->source().begin};
  diagnostics.add(node, fmt::format("'{}' must be {}", key, type_name<T>()));
  return std::nullopt;
}

template std::optional<Located<std::string>> optional_value(const toml::table&, std::string_view,
                                                            Diagnostics&);
template std::optional<Located<int64_t>> optional_value(const toml::table&, std::string_view,
                                                        Diagnostics&);
template std::optional<Located<bool>> optional_value(const toml::table&, std::string_view,
                                                     Diagnostics&);
template std::optional<Located<double>> optional_value(const toml::table&, std::string_view,
                                                       Diagnostics&);

std::optional<Located<std::string>> optional_string(const toml::table& table, std::string_view key,
                                                    Diagnostics& diagnostics) {
  return optional_value<std::string>(table, key, diagnostics);
}

std::optional<Located<std::string>> required_string(const toml::table& table, std::string_view key,
                                                    std::string_view owner,
                                                    Diagnostics& diagnostics) {
  if (!table.contains(key)) {
    diagnostics.add(&table, fmt::format("{} has no '{}'", owner, key));
    return std::nullopt;
  }
  return optional_string(table, key, diagnostics);
}

std::optional<Located<bool>> optional_bool(const toml::table& table, std::string_view key,
                                           Diagnostics& diagnostics) {
  return optional_value<bool>(table, key, diagnostics);
}

std::optional<Located<int64_t>> optional_integer(const toml::table& table, std::string_view key,
                                                 int64_t low, int64_t high,
                                                 Diagnostics& diagnostics) {
  auto value = optional_value<int64_t>(table, key, diagnostics);
  if (value && (value->value < low || value->value > high)) {
    diagnostics.add(value->pos,
                    fmt::format("'{}' {} is out of range ({}..{})", key, value->value, low, high));
    return std::nullopt;
  }
  return value;
}

const toml::table* optional_table(const toml::table& table, std::string_view key,
                                  Diagnostics& diagnostics, std::string_view shape) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return nullptr;
  if (const toml::table* value = node->as_table()) return value;
  diagnostics.add(node, shape.empty() ? fmt::format("'{}' must be a table", key)
                                      : fmt::format("'{}' must be a table of {}", key, shape));
  return nullptr;
}

namespace {

std::vector<Located<std::string>> strings_of(const toml::array& array, std::string_view key,
                                             Diagnostics& diagnostics) {
  std::vector<Located<std::string>> strings;
  for (const toml::node& element : array) {
    if (const auto* text = element.as_string())
      strings.push_back({text->get(), element.source().begin});
    else
      diagnostics.add(&element, fmt::format("each entry of '{}' must be a string", key));
  }
  return strings;
}

}  // namespace

std::optional<std::vector<Located<std::string>>> optional_strings(const toml::table& table,
                                                                  std::string_view key,
                                                                  Diagnostics& diagnostics) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::nullopt;
  if (const toml::array* array = node->as_array()) return strings_of(*array, key, diagnostics);
  diagnostics.add(node, fmt::format("'{}' must be an array of strings", key));
  return std::nullopt;
}

std::optional<std::vector<Located<std::string>>> string_or_strings(const toml::node* node,
                                                                   std::string_view key,
                                                                   Diagnostics& diagnostics) {
  if (node == nullptr) return std::nullopt;
  if (const auto* text = node->as_string())
    return std::vector<Located<std::string>>{{text->get(), node->source().begin}};
  if (const toml::array* array = node->as_array()) return strings_of(*array, key, diagnostics);
  diagnostics.add(node, fmt::format("'{}' must be a string or an array of strings", key));
  return std::nullopt;
}

std::vector<const toml::table*> tables_of(const toml::table& table, std::string_view key,
                                          Diagnostics& diagnostics) {
  std::vector<const toml::table*> tables;
  const toml::node* node = table.get(key);
  if (node == nullptr) return tables;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    diagnostics.add(node, fmt::format("'{}' must be an array of tables ([[{}]])", key, key));
    return tables;
  }
  for (const toml::node& element : *array) {
    if (const toml::table* element_table = element.as_table())
      tables.push_back(element_table);
    else
      diagnostics.add(&element, fmt::format("each entry of '{}' must be a table", key));
  }
  return tables;
}

}  // namespace vslab::toml_file
