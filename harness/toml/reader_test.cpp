// The shared TOML reading: each kind of mistake is one "FILE:LINE:COLUMN: message" line with
// the same wording whichever reader finds it, and the lines come out in file order.
#include "toml/reader.h"

#include <gtest/gtest.h>

namespace vslab::toml_file {
namespace {

std::vector<std::string> errors_reading(std::string_view text,
                                        void (*read)(const toml::table&, Diagnostics&)) {
  Diagnostics diagnostics("f.toml");
  if (auto root = parse(text, diagnostics)) read(*root, diagnostics);
  return diagnostics.in_file_order();
}

TEST(TomlReader, SyntaxErrorIsOneLineAtItsPosition) {
  auto errors = errors_reading("a = 1\nb = = 2\n", [](const toml::table&, Diagnostics&) {});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("f.toml:2:")) << errors[0];
}

TEST(TomlReader, UnknownKeySuggestsANearOneElseListsTheKnown) {
  auto errors = errors_reading("nmae = \"x\"\nzzz = 1\n", [](const toml::table& t, Diagnostics& d) {
    reject_unknown_keys(t, {"name", "mode"}, "at top level", d);
  });
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "f.toml:1:1: unknown key 'nmae' at top level (did you mean 'name'?)");
  EXPECT_EQ(errors[1], "f.toml:2:1: unknown key 'zzz' at top level (known: name, mode)");
}

TEST(TomlReader, WrongTypesMissingKeysAndRangesAreWordedOnce) {
  auto errors = errors_reading("s = 1\nn = \"x\"\nb = 2\nr = 70000\n[t]\nl = [1]\n",
                               [](const toml::table& root, Diagnostics& d) {
                                 EXPECT_FALSE(optional_string(root, "s", d));
                                 EXPECT_FALSE(optional_integer(root, "n", 0, 10, d));
                                 EXPECT_FALSE(optional_bool(root, "b", d));
                                 EXPECT_FALSE(optional_integer(root, "r", 68, 65535, d));
                                 const toml::table* t = optional_table(root, "t", d);
                                 ASSERT_NE(t, nullptr);
                                 EXPECT_FALSE(required_string(*t, "name", "[t]", d));
                                 auto strings = optional_strings(*t, "l", d);
                                 ASSERT_TRUE(strings);
                                 EXPECT_TRUE(strings->empty());
                                 EXPECT_EQ(optional_table(root, "s", d, "field = value"), nullptr);
                               });
  const std::vector<std::string> want = {
      "f.toml:1:5: 's' must be a string",
      "f.toml:1:5: 's' must be a table of field = value",
      "f.toml:2:5: 'n' must be an integer",
      "f.toml:3:5: 'b' must be a boolean (true or false)",
      "f.toml:4:5: 'r' 70000 is out of range (68..65535)",
      "f.toml:5:1: [t] has no 'name'",
      "f.toml:6:6: each entry of 'l' must be a string",
  };
  EXPECT_EQ(errors, want);
}

TEST(TomlReader, ReadsValuesWithTheirPositions) {
  auto errors =
      errors_reading("name = \"n\"\nmtu = 1500\nports = \"a\"\n[[link]]\na = 1\n[[link]]\nb = 2\n",
                     [](const toml::table& root, Diagnostics& d) {
                       auto name = optional_string(root, "name", d);
                       ASSERT_TRUE(name);
                       EXPECT_EQ(name->value, "n");
                       EXPECT_EQ(name->pos.line, 1u);
                       auto mtu = optional_integer(root, "mtu", 68, 65535, d);
                       ASSERT_TRUE(mtu);
                       EXPECT_EQ(mtu->value, 1500);
                       auto ports = string_or_strings(root.get("ports"), "ports", d);
                       ASSERT_TRUE(ports);
                       ASSERT_EQ(ports->size(), 1u);
                       EXPECT_EQ(ports->front().value, "a");
                       auto links = tables_of(root, "link", d);
                       ASSERT_EQ(links.size(), 2u);
                       EXPECT_EQ(links[1]->source().begin.line, 6u);
                       EXPECT_TRUE(tables_of(root, "name", d).empty());
                     });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "f.toml:1:8: 'name' must be an array of tables ([[name]])");
}

TEST(TomlReader, UnreadableFileNamesWhy) {
  FileText text = read_text_file("/nonexistent/vslab.toml");
  EXPECT_FALSE(text.text);
  EXPECT_EQ(text.error, "/nonexistent/vslab.toml:0:0: cannot read: No such file or directory");
}

}  // namespace
}  // namespace vslab::toml_file
