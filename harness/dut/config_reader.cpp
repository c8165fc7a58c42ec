#include "dut/config_reader.h"
#include "topology/spelling.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include <fmt/core.h>

namespace vslab::dut {
namespace {

using topo::edit_distance;
// " (did you mean 'x'?)" for a near miss that keeps part of the key, else "".
std::string suggestion(std::string_view unknown, std::initializer_list<std::string_view> known) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view candidate : known) {
    std::size_t d = edit_distance(unknown, candidate);
    if (d < best_distance && d < candidate.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

}  // namespace

void ConfigErrors::add(toml::source_position pos, std::string message) {
  found_.push_back({pos, std::move(message)});
}

void ConfigErrors::throw_if_any() const {
  if (found_.empty()) return;
  // Checks run table by table; the reader wants them in the order of the file.
  std::vector<Error> sorted = found_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Error& x, const Error& y) {
    return std::tie(x.pos.line, x.pos.column) < std::tie(y.pos.line, y.pos.column);
  });
  std::string text;
  for (const auto& e : sorted) {
    if (!text.empty()) text += '\n';
    text += fmt::format("{}:{}:{}: {}", source_name_, e.pos.line, e.pos.column, e.message);
  }
  throw std::invalid_argument(text);
}

std::optional<toml::table> parse_config(std::string_view text, const std::string& source_name,
                                        ConfigErrors& errors) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    errors.add(e.source().begin, std::string(e.description()));
    return std::nullopt;
  }
#else
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    errors.add(parsed.error().source().begin, std::string(parsed.error().description()));
    return std::nullopt;
  }
  return std::move(parsed).table();
#endif
}

std::string read_config_text(const std::string& path) {
  auto cannot_read = [&](int err) {
    return std::invalid_argument(fmt::format("{}:0:0: cannot read: {}", path, std::strerror(err)));
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cannot_read(errno);
  std::string text;
  char buffer[8192];
  ssize_t n;
  // A directory opens fine and fails on the first read (EISDIR).
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  int err = errno;
  close(fd);
  if (n < 0) throw cannot_read(err);
  return text;
}

void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         std::string_view where, ConfigErrors& errors) {
  for (auto&& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    errors.add(key.source().begin, fmt::format("unknown key '{}' {}{}", key.str(), where,
                                               suggestion(key.str(), known)));
  }
}

std::optional<Located<std::string>> optional_string(const toml::table& table, std::string_view key,
                                                    ConfigErrors& errors) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (const auto* text = node->as_string())
    return Located<std::string>{text->get(), node->source().begin};
  errors.add(node->source().begin, fmt::format("'{}' must be a string", key));
  return std::nullopt;
}

std::optional<Located<std::string>> required_string(const toml::table& table, std::string_view key,
                                                    std::string_view owner, ConfigErrors& errors) {
  if (!table.contains(key)) {
    errors.add(table.source().begin, fmt::format("{} has no '{}'", owner, key));
    return std::nullopt;
  }
  return optional_string(table, key, errors);
}

std::optional<std::vector<Located<std::string>>> optional_strings(const toml::table& table,
                                                                  std::string_view key,
                                                                  ConfigErrors& errors) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) {
    errors.add(node->source().begin, fmt::format("'{}' must be an array of strings", key));
    return std::nullopt;
  }
  std::vector<Located<std::string>> strings;
  for (const toml::node& element : *array) {
    if (const auto* text = element.as_string())
      strings.push_back({text->get(), element.source().begin});
    else
      errors.add(element.source().begin, fmt::format("each entry of '{}' must be a string", key));
  }
  return strings;
}

const toml::table* optional_table(const toml::table& table, std::string_view key,
                                  ConfigErrors& errors) {
  const toml::node* node = table.get(key);
  if (!node) return nullptr;
  if (const toml::table* value = node->as_table()) return value;
  errors.add(node->source().begin, fmt::format("'{}' must be a table", key));
  return nullptr;
}

}  // namespace vslab::dut
