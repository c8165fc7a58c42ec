// Reading a DUT's TOML config (--dut-config): typed values, and every mistake reported as
// "FILE:LINE:COLUMN: message" in file order, as topology files report theirs.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace vslab::dut {

template <typename T>
struct Located {
  T value;
  toml::source_position pos;
};

class ConfigErrors {
 public:
  explicit ConfigErrors(std::string source_name) : source_name_(std::move(source_name)) {}
  void add(toml::source_position pos, std::string message);
  bool empty() const { return found_.empty(); }
  // Throws std::invalid_argument with every error, one per line, in file order.
  void throw_if_any() const;

 private:
  struct Error {
    toml::source_position pos;
    std::string message;
  };
  std::string source_name_;
  std::vector<Error> found_;
};

// Parses the text; a syntax error is recorded and gives nothing.
std::optional<toml::table> parse_config(std::string_view text, const std::string& source_name,
                                        ConfigErrors& errors);
// The file's text; throws std::invalid_argument ("FILE:0:0: cannot read: why") otherwise.
std::string read_config_text(const std::string& path);

// `where` completes "unknown key 'x' ...": "at top level", "in [dut]".
void reject_unknown_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                         std::string_view where, ConfigErrors& errors);

// The string at `key`; a value of another type is an error. Nothing when absent.
std::optional<Located<std::string>> optional_string(const toml::table& table, std::string_view key,
                                                    ConfigErrors& errors);
// As optional_string, and absence is an error at the table, naming `owner` ("[dut]").
std::optional<Located<std::string>> required_string(const toml::table& table, std::string_view key,
                                                    std::string_view owner, ConfigErrors& errors);
// The strings of the array at `key`; anything else there is an error. Nothing when absent.
std::optional<std::vector<Located<std::string>>> optional_strings(const toml::table& table,
                                                                  std::string_view key,
                                                                  ConfigErrors& errors);
// The table at `key`; a value of another type is an error. Null when absent.
const toml::table* optional_table(const toml::table& table, std::string_view key,
                                  ConfigErrors& errors);

}  // namespace vslab::dut
