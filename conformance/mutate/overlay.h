// A mutant's vsd built on top of a finished Release build of the same source: only the objects
// that the edited file goes into are compiled again (from the mutated copy), and the archives
// and the link that take them are run again with those objects, into a folder of their own.
// The build itself is only read. This is what makes a mutant cost its compile and a link, not
// a build of vsd from nothing in a tree of the tool's own (issue 28: CI's cold clone).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vslab::mutate {

class OverlayBuild {
 public:
  // The build in `build_dir` if it can serve: a Ninja build of `source_root`, Release, and its
  // vsd up to date with the source. Otherwise nullopt and `why` says what is missing.
  static std::optional<OverlayBuild> open(const std::string& build_dir,
                                          const std::string& source_root,
                                          const std::string& copy_root, const std::string& out_dir,
                                          std::string& why);

  // The build's own vsd: the unmutated one.
  std::string vsd() const { return build_ + "/vsd"; }

  // vsd with `file` (relative to the source root) taken from the copy: its path in out_dir, or
  // nullopt when a step failed (the step's output in `output`).
  std::optional<std::string> build(const std::string& file, std::string& output);

 private:
  OverlayBuild() = default;

  std::string build_, source_, copy_, out_;
  std::vector<std::string> commands_;  // ninja's for vsd, in order
};

// What `ninja -t deps` says each object was compiled from: object -> its source and headers,
// each as an absolute, normalised path (those given relative are taken from `build_dir`).
std::map<std::string, std::set<std::string>> parse_deps(const std::string& text,
                                                        const std::string& build_dir);
// The word in `command` after `flag` ("-o", "-c", "qc"), or "" when there is none.
std::string word_after(const std::string& command, const std::string& flag);
// `command` with every whole word `from` (bounded by spaces, or followed by a suffix such as
// ".d") replaced by `to`.
std::string replace_word(const std::string& command, const std::string& from,
                         const std::string& to);

}  // namespace vslab::mutate
