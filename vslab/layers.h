// The tree's layering: which top-level folder may include which, stated once, and the check that
// walks a source tree for a quoted #include that breaks it (layers_test.cpp runs it on this tree).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vslab::layers {

// A top-level folder and the folders its files may include besides its own. Test code (a
// *_test.cpp and the headers only tests include, such as director/vsd/nat_bed.h) may also
// include tests_also_include.
struct Layer {
  std::string_view name;
  std::vector<std::string_view> may_include;
  std::vector<std::string_view> tests_also_include;
};

// The table of allowed arrows, bottom to top.
std::span<const Layer> allowed_arrows();

// The folders a quoted include is looked up in after the including file's own folder, as the
// CMake targets' target_include_directories give them.
std::span<const std::string_view> include_roots();

struct Violation {
  std::filesystem::path file;  // relative to the source root
  std::string include;         // as written between the quotes
  std::string from;            // the including file's layer
  std::string to;              // the included file's layer
  std::string message() const;
};

// Every quoted include under root that resolves to a file of a layer its includer may not
// include, and every source file in a top-level folder the table does not name. Folders that
// hold a CMakeCache.txt (build trees) and hidden folders are skipped; an include that resolves
// to no file of the tree (a generated header) is not checked.
std::vector<Violation> check_tree(const std::filesystem::path& root, std::span<const Layer> table,
                                  std::span<const std::string_view> roots);

}  // namespace vslab::layers
