// The layer table and the include walk behind layers_test.cpp.
#include "layers.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>

namespace vslab::layers {

namespace fs = std::filesystem;

std::span<const Layer> allowed_arrows() {
  static const std::vector<Layer> table = {
      // RAII owners of descriptors and processes, under everything; it includes nothing of ours.
      {"os", {}, {}},
      // vsd and vsadm never see the harness; their tests may use it to build namespaces.
      {"director", {"os"}, {"harness"}},
      {"harness", {"os"}, {}},
      {"topologies", {"harness", "os"}, {}},
      {"fixtures", {"harness", "os"}, {}},
      // docs/design.md rule 1: the director is a black box to the conformance suite.
      {"conformance", {"harness", "os"}, {}},
      {"perf", {"harness", "director", "os"}, {}},
      // The libFuzzer targets: each drives a parser of director/ or harness/ directly.
      {"fuzz", {"harness", "director", "os"}, {}},
      // The composition root: the vslab command.
      {"vslab", {"conformance", "perf", "fixtures", "harness", "director", "os"}, {}},
  };
  return table;
}

std::span<const std::string_view> include_roots() {
  // The empty root is the source folder itself, for includes spelt from the top ("os/fd.h").
  static constexpr std::string_view roots[] = {"director", "harness", "conformance",
                                               "perf",     "vslab",   ""};
  return roots;
}

std::string Violation::message() const {
  if (include.empty())
    return file.string() + ": the folder " + from +
           "/ is not in the layer table (vslab/layers.cpp)";
  return file.string() + ": #include \"" + include + "\" is an arrow from " + from + " to " + to +
         ", which the layer table (vslab/layers.cpp) does not allow";
}

namespace {

bool is_source(const fs::path& p) {
  const auto ext = p.extension();
  return ext == ".cpp" || ext == ".h" || ext == ".hpp" || ext == ".cc";
}

std::string layer_of(const fs::path& relative) {
  return relative.begin()->string();
}

bool is_test_source(const fs::path& relative) {
  return relative.filename().string().ends_with("_test.cpp");
}

// The source files under root, relative to it, skipping build trees and hidden folders.
std::vector<fs::path> source_files(const fs::path& root) {
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    if (it->is_directory()) {
      if (p.filename().string().starts_with(".") || fs::exists(p / "CMakeCache.txt"))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_source(p)) files.push_back(fs::relative(p, root));
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> quoted_includes(const fs::path& file) {
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> includes;
  std::ifstream in(file);
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, include_line)) includes.push_back(m[1]);
  return includes;
}

// The file of the tree an include names, relative to root: the including file's own folder
// first, as the compiler looks there first, then every include root that holds the name. More
// than one when two roots hold the same name; then each is checked, as which one a target sees
// depends on its include path.
std::vector<fs::path> resolve(const fs::path& root, const fs::path& includer,
                              const std::string& include, std::span<const std::string_view> roots) {
  auto inside = [&](const fs::path& dir) -> std::optional<fs::path> {
    const fs::path candidate = (root / dir / include).lexically_normal();
    if (!fs::is_regular_file(candidate)) return std::nullopt;
    fs::path rel = candidate.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..") return std::nullopt;
    return rel;
  };
  if (auto own = inside(includer.parent_path())) return {*own};
  std::vector<fs::path> found;
  for (std::string_view r : roots)
    if (auto hit = inside(fs::path(r));
        hit && std::find(found.begin(), found.end(), *hit) == found.end())
      found.push_back(*hit);
  return found;
}

struct Edge {
  std::string include;
  std::vector<fs::path> targets;
};

}  // namespace

std::vector<Violation> check_tree(const fs::path& root, std::span<const Layer> table,
                                  std::span<const std::string_view> roots) {
  const auto files = source_files(root);
  std::map<fs::path, std::vector<Edge>> edges;
  std::map<fs::path, std::set<fs::path>> includers;
  for (const auto& f : files) {
    for (auto& include : quoted_includes(root / f)) {
      auto targets = resolve(root, f, include, roots);
      for (const auto& t : targets) includers[t].insert(f);
      edges[f].push_back({std::move(include), std::move(targets)});
    }
  }

  // Test code: the *_test.cpp files, then, until nothing changes, every file that only test code
  // includes (a test bed such as director/vsd/nat_bed.h).
  std::set<fs::path> tests;
  for (const auto& f : files)
    if (is_test_source(f)) tests.insert(f);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [file, by] : includers) {
      if (tests.contains(file)) continue;
      if (std::all_of(by.begin(), by.end(), [&](const fs::path& p) { return tests.contains(p); })) {
        tests.insert(file);
        grew = true;
      }
    }
  }

  auto find_layer = [&](const std::string& name) -> const Layer* {
    for (const auto& l : table)
      if (l.name == name) return &l;
    return nullptr;
  };
  auto contains = [](const std::vector<std::string_view>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };

  std::vector<Violation> violations;
  for (const auto& f : files) {
    const std::string from = layer_of(f);
    const Layer* layer = f.has_parent_path() ? find_layer(from) : nullptr;
    if (!layer) {
      violations.push_back({f, "", f.has_parent_path() ? from : ".", ""});
      continue;
    }
    for (const auto& edge : edges[f]) {
      for (const auto& target : edge.targets) {
        const std::string to = target.has_parent_path() ? layer_of(target) : ".";
        if (to == from || contains(layer->may_include, to)) continue;
        if (tests.contains(f) && contains(layer->tests_also_include, to)) continue;
        violations.push_back({f, edge.include, from, to});
      }
    }
  }
  return violations;
}

}  // namespace vslab::layers
