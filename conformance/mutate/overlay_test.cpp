// The command rewriting of the overlay build: which word is an output, and that a path is
// replaced as a whole word only (an object's name is a suffix of a longer one's).
#include "mutate/overlay.h"

#include <gtest/gtest.h>

namespace vslab::mutate {
namespace {

TEST(OverlayCommands, WordAfterFindsTheOutputOfACompileAnArchiveAndALink) {
  EXPECT_EQ(word_after("c++ -O3 -MD -MT a/nat.cpp.o -MF a/nat.cpp.o.d -o a/nat.cpp.o -c /s/nat.cpp",
                       "-o"),
            "a/nat.cpp.o");
  EXPECT_EQ(word_after("c++ -o a/nat.cpp.o -c /s/nat.cpp", "-c"), "/s/nat.cpp");
  EXPECT_EQ(
      word_after(": && cmake -E rm -f l/libf.a && ar qc l/libf.a  a/x.o && ranlib l/libf.a", "qc"),
      "l/libf.a");
  EXPECT_EQ(word_after(": && c++ -O3 main.o -o vsd l/libf.a && :", "-o"), "vsd");
  EXPECT_EQ(word_after("ar qc", "-o"), "");
}

TEST(OverlayCommands, ReplaceWordTakesWholeWordsAndTheirDepFileOnly) {
  const std::string compile = "c++ -MT d/nat.cpp.o -MF d/nat.cpp.o.d -o d/nat.cpp.o -c /s/nat.cpp";
  EXPECT_EQ(replace_word(compile, "d/nat.cpp.o", "/w/d/nat.cpp.o"),
            "c++ -MT /w/d/nat.cpp.o -MF /w/d/nat.cpp.o.d -o /w/d/nat.cpp.o -c /s/nat.cpp");
  // fullnat.cpp.o ends with nat.cpp.o; a longer path that begins with it is another file too.
  EXPECT_EQ(replace_word("ar qc l.a d/fullnat.cpp.o d/nat.cpp.o.bak", "d/nat.cpp.o", "X"),
            "ar qc l.a d/fullnat.cpp.o d/nat.cpp.o.bak");
  EXPECT_EQ(replace_word("c++ d/vsd.dir/main.cpp.o -o vsd l.a", "vsd", "/w/vsd"),
            "c++ d/vsd.dir/main.cpp.o -o /w/vsd l.a");
}

// ccache with base_dir has the compiler name headers relative to the build, so ninja's deps
// hold "../../director/fwd/elements.h": a header mutant must still find the objects it reaches.
TEST(OverlayDeps, RelativeAndAbsoluteInputsAreTheSameAbsolutePaths) {
  const std::string text =
      "director/CMakeFiles/fwd.dir/nat.cpp.o: #deps 3, deps mtime 1 (VALID)\n"
      "    /src/director/fwd/nat.cpp\n"
      "    ../../director/fwd/elements.h\n"
      "    /usr/include/c++/12/vector\n"
      "\n"
      "director/CMakeFiles/fwd.dir/dr.cpp.o: #deps 1, deps mtime 1 (VALID)\n"
      "    ../../director/./fwd/dr.cpp\n";
  const auto deps = parse_deps(text, "/src/build/release");
  ASSERT_EQ(deps.size(), 2u);
  const auto& nat = deps.at("director/CMakeFiles/fwd.dir/nat.cpp.o");
  EXPECT_EQ(nat, (std::set<std::string>{"/src/director/fwd/nat.cpp", "/src/director/fwd/elements.h",
                                        "/usr/include/c++/12/vector"}));
  EXPECT_EQ(deps.at("director/CMakeFiles/fwd.dir/dr.cpp.o"),
            std::set<std::string>{"/src/director/fwd/dr.cpp"});
}

}  // namespace
}  // namespace vslab::mutate
