// config_reader.cpp: a DUT config's text, read and parsed with the harness's TOML reading.
#include "dut/config_reader.h"

#include <stdexcept>

namespace vslab::dut {

std::optional<toml::table> parse_config(std::string_view text, const std::string& source_name,
                                        ConfigErrors& errors) {
  // The errors carry the name; it is asked for here too so a caller cannot mix two files.
  if (source_name != errors.source_name())
    throw std::logic_error("parse_config: " + source_name + " read into the errors of " +
                           errors.source_name());
  return toml_file::parse(text, errors);
}

std::string read_config_text(const std::string& path) {
  toml_file::FileText file = toml_file::read_text_file(path);
  if (!file.text) throw std::invalid_argument(file.error);
  return std::move(*file.text);
}

}  // namespace vslab::dut
