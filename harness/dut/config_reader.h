// Reading a DUT's TOML config (--dut-config): the harness's TOML reading (toml/reader.h) under
// the names the DUT adapters use; every mistake is "FILE:LINE:COLUMN: message", as in topology
// files and case.toml.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "toml/reader.h"

namespace vslab::dut {

using toml_file::Located;
using ConfigErrors = toml_file::Diagnostics;
using toml_file::optional_integer;
using toml_file::optional_string;
using toml_file::optional_strings;
using toml_file::optional_table;
using toml_file::reject_unknown_keys;
using toml_file::required_string;

// Parses the text; a syntax error is recorded and gives nothing.
std::optional<toml::table> parse_config(std::string_view text, const std::string& source_name,
                                        ConfigErrors& errors);
// The file's text; throws std::invalid_argument ("FILE:0:0: cannot read: why") otherwise.
std::string read_config_text(const std::string& path);

}  // namespace vslab::dut
