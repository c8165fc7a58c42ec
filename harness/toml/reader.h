// Reading the harness's TOML files (topologies, DUT configs, case.toml) into typed values: every
// mistake is one "FILE:LINE:COLUMN: message" line, worded the same whichever file it is in.
// The getters report a wrong type, a missing key or a value out of range themselves and return
// nothing for it, so a reader goes on and the user sees every mistake at once.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace vslab::toml_file {

using Position = toml::source_position;

// A value with the position it was written at, for errors found after reading it.
template <typename T>
struct Located {
  T value;
  Position pos;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string source_name) : source_name_(std::move(source_name)) {}

  void add(Position pos, std::string message);
  // At the node's start; with no node (a key that is absent from the root), at 1:1.
  void add(const toml::node* at, std::string message);
  // A line formatted elsewhere (a pcap reader's error), kept as it is.
  void add_line(std::string line);

  bool empty() const { return found_.empty(); }
  const std::string& source_name() const { return source_name_; }
  // "FILE:LINE:COLUMN: message", one line each. Checks run table by table, not line by line;
  // the user reads them in the order of the file (lines without a position first).
  std::vector<std::string> in_file_order() const;
  // Throws std::invalid_argument with every error, one per line, in file order.
  void throw_if_any() const;

 private:
  struct Found {
    Position pos;
    std::string line;
  };
  std::string source_name_;
  std::vector<Found> found_;
};

// The text parsed; a syntax error is recorded and gives nothing.
std::optional<toml::table> parse(std::string_view text, Diagnostics& diagnostics);

struct FileText {
  std::optional<std::string> text;
  std::string error;  // "PATH:0:0: cannot read: why" when there is no text
};
FileText read_text_file(const std::string& path);

using KeyList = std::span<const std::string_view>;

// Reports each key of `table` not in `known`: "unknown key 'x' WHERE (did you mean 'y'?)", or
// with the known keys listed when none is close. `where` is "at top level", "in node 'client'".
void reject_unknown_keys(const toml::table& table, KeyList known, std::string_view where,
                         Diagnostics& diagnostics);
void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         std::string_view where, Diagnostics& diagnostics);

// The value at `key` if it has type T (std::string, int64_t, bool, double); another type is
// an error ("'k' must be a string"). Nothing when absent.
template <typename T>
std::optional<Located<T>> optional_value(const toml::table& table, std::string_view key,
                                         Diagnostics& diagnostics);

std::optional<Located<std::string>> optional_string(const toml::table& table, std::string_view key,
                                                    Diagnostics& diagnostics);
// As optional_string, and absence is an error at the table: "OWNER has no 'k'".
std::optional<Located<std::string>> required_string(const toml::table& table, std::string_view key,
                                                    std::string_view owner,
                                                    Diagnostics& diagnostics);
std::optional<Located<bool>> optional_bool(const toml::table& table, std::string_view key,
                                           Diagnostics& diagnostics);
// An integer within low..high; outside is an error: "'k' N is out of range (LOW..HIGH)".
std::optional<Located<int64_t>> optional_integer(const toml::table& table, std::string_view key,
                                                 int64_t low, int64_t high,
                                                 Diagnostics& diagnostics);
// The table at `key`; another type is an error: "'k' must be a table[ of SHAPE]". Null when
// absent. `shape` tells what the table holds: "field = value".
const toml::table* optional_table(const toml::table& table, std::string_view key,
                                  Diagnostics& diagnostics, std::string_view shape = {});

// The strings of the array at `key`; anything else there is an error. Nothing when absent.
std::optional<std::vector<Located<std::string>>> optional_strings(const toml::table& table,
                                                                  std::string_view key,
                                                                  Diagnostics& diagnostics);
// A string or an array of strings at `node`, named `key` in errors. Nothing when null.
std::optional<std::vector<Located<std::string>>> string_or_strings(const toml::node* node,
                                                                   std::string_view key,
                                                                   Diagnostics& diagnostics);

// Each table of the array of tables at `key` ([[key]]); anything else there is an error.
// A table is a node too: its source() is where it starts.
std::vector<const toml::table*> tables_of(const toml::table& table, std::string_view key,
                                          Diagnostics& diagnostics);
// Calls `read_string` with each string of the array at `key`.
template <typename ReadString>
void for_each_string(const toml::table& table, std::string_view key, Diagnostics& diagnostics,
                     ReadString read_string) {
  if (auto strings = optional_strings(table, key, diagnostics))
    for (const Located<std::string>& text : *strings) read_string(text);
}

}  // namespace vslab::toml_file
