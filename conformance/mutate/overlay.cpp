// overlay.cpp: a mutant's vsd from a finished build's objects and the mutated file's own.
#include "mutate/overlay.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fcntl.h>

#include "os/child_process.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::mutate {

namespace fs = std::filesystem;

namespace {

// Runs `command` through sh in `dir`; stdout and stderr into `output`. True when it exits 0.
bool shell(const std::string& dir, const std::string& command, std::string& output) {
  auto [read_end, write_end] = os::make_pipe(O_CLOEXEC);
  auto child = os::ChildProcess::spawn(
      {"sh", "-c", "cd \"$0\" && " + command, dir},
      {.stdout_fd = write_end.get(), .stderr_fd = write_end.get(), .parent_death_signal = SIGTERM});
  write_end.reset();
  output.clear();
  os::read_to_end(read_end.get(), output);
  return os::exit_code_of(child.wait()) == 0;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// CMakeCache.txt's value of `key` ("CMAKE_BUILD_TYPE"), whatever its type.
std::string cache_value(const std::string& cache, const std::string& key) {
  std::istringstream in(cache);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) {
      auto eq = line.find('=');
      if (eq != std::string::npos) return line.substr(eq + 1);
    }
  return {};
}

bool is_boundary(const std::string& s, std::size_t at) {
  return at >= s.size() || s[at] == ' ';
}

// What `ninja -t deps` says each object was compiled from: object -> its headers and source.
std::map<std::string, std::set<std::string>> parse_deps(const std::string& text) {
  std::map<std::string, std::set<std::string>> deps;
  std::set<std::string>* current = nullptr;
  for (const auto& line : lines_of(text)) {
    if (line[0] != ' ') {
      current = &deps[line.substr(0, line.find(':'))];
    } else if (current) {
      current->insert(line.substr(line.find_first_not_of(' ')));
    }
  }
  return deps;
}

// `command` with the source root changed for the copy's, except inside the build folder's own
// paths (the build may lie in the source tree, and the copy in the build).
std::string from_copy(const std::string& command, const std::string& source,
                      const std::string& build, const std::string& copy) {
  std::string out;
  for (std::size_t i = 0; i < command.size();) {
    if (command.compare(i, build.size(), build) == 0) {
      out += build;
      i += build.size();
    } else if (command.compare(i, source.size(), source) == 0 &&
               (i + source.size() == command.size() || command[i + source.size()] == '/' ||
                command[i + source.size()] == ' ' || command[i + source.size()] == '"')) {
      out += copy;
      i += source.size();
    } else {
      out += command[i++];
    }
  }
  return out;
}

fs::file_time_type mtime_of(const fs::path& path) {
  std::error_code ec;
  auto t = fs::last_write_time(path, ec);
  return ec ? fs::file_time_type::max() : t;
}

}  // namespace

std::string word_after(const std::string& command, const std::string& flag) {
  const std::string needle = " " + flag + " ";
  auto at = command.find(needle);
  if (at == std::string::npos) return {};
  at += needle.size();
  while (at < command.size() && command[at] == ' ') ++at;
  return command.substr(at, command.find(' ', at) - at);
}

bool lists_file(const std::set<std::string>& inputs, const std::string& build,
                const std::string& file) {
  const auto wanted = fs::path(file).lexically_normal();
  for (const auto& input : inputs)
    if ((fs::path(build) / input).lexically_normal() == wanted) return true;
  return false;
}

std::string replace_word(const std::string& command, const std::string& from,
                         const std::string& to) {
  std::string out;
  for (std::size_t i = 0; i < command.size();) {
    const bool starts = i == 0 || command[i - 1] == ' ';
    if (starts && command.compare(i, from.size(), from) == 0) {
      const std::size_t end = i + from.size();
      if (is_boundary(command, end) ||
          (command.compare(end, 2, ".d") == 0 && is_boundary(command, end + 2))) {
        out += to;
        i = end;
        continue;
      }
    }
    out += command[i++];
  }
  return out;
}

std::optional<OverlayBuild> OverlayBuild::open(const std::string& build_dir,
                                               const std::string& source_root,
                                               const std::string& copy_root,
                                               const std::string& out_dir, std::string& why) {
  std::error_code ec;
  const fs::path build = fs::canonical(build_dir, ec);
  if (ec) {
    why = build_dir + " does not exist";
    return std::nullopt;
  }
  std::ifstream in(build / "CMakeCache.txt");
  std::stringstream cache;
  cache << in.rdbuf();
  if (!in) {
    why = "no CMakeCache.txt in " + build.string();
    return std::nullopt;
  }
  const fs::path source = fs::canonical(source_root, ec);
  if (ec || cache_value(cache.str(), "CMAKE_HOME_DIRECTORY") != source.string()) {
    why = build.string() + " is not a build of " + source_root;
    return std::nullopt;
  }
  if (cache_value(cache.str(), "CMAKE_BUILD_TYPE") != "Release" ||
      cache_value(cache.str(), "CMAKE_GENERATOR") != "Ninja") {
    why = build.string() + " is not a Release build made by Ninja";
    return std::nullopt;
  }
  OverlayBuild overlay;
  overlay.build_ = build.string();
  overlay.source_ = source.string();
  overlay.copy_ = copy_root;
  overlay.out_ = out_dir;
  std::string output;
  if (!shell(overlay.build_, "ninja -t commands vsd", output)) {
    why = "ninja -t commands vsd failed: " + output;
    return std::nullopt;
  }
  overlay.commands_ = lines_of(output);
  // Up to date: vsd newer than every object and archive it is made of, each object newer than
  // what it was compiled from. A build behind its source would mix old objects into mutants.
  if (!shell(overlay.build_, "ninja -t deps", output)) {
    why = "ninja -t deps failed: " + output;
    return std::nullopt;
  }
  const auto deps = parse_deps(output);
  const auto vsd_time = mtime_of(build / "vsd");
  for (const auto& command : overlay.commands_) {
    const std::string made =
        word_after(command, "-o").empty() ? word_after(command, "qc") : word_after(command, "-o");
    if (made.empty() || made == "vsd") continue;
    const auto made_time = mtime_of(build / made);
    if (made_time > vsd_time) {
      why = build.string() + "/vsd is older than " + made + ": build vsd first";
      return std::nullopt;
    }
    auto found = deps.find(made);
    if (found == deps.end()) continue;
    for (const auto& input : found->second)
      if (mtime_of(build / input) > made_time) {
        why = made + " is older than " + input + ": build vsd first";
        return std::nullopt;
      }
  }
  return overlay;
}

std::optional<std::string> OverlayBuild::build(const std::string& file, std::string& output) {
  const std::string edited = source_ + "/" + file;
  const bool is_source = file.ends_with(".cpp");
  std::map<std::string, std::set<std::string>> deps;
  if (!is_source) {
    if (!shell(build_, "ninja -t deps", output)) return std::nullopt;
    deps = parse_deps(output);
  }
  // Everything made again, by its path in the build: the objects the file goes into, then each
  // archive or link that takes one of them.
  std::set<std::string> remade;
  std::string last;
  for (const auto& command : commands_) {
    const std::string object = word_after(command, "-c").empty() ? "" : word_after(command, "-o");
    bool affected = false;
    if (!object.empty()) {
      auto found = deps.find(object);
      affected = word_after(command, "-c") == edited ||
                 (found != deps.end() && lists_file(found->second, build_, edited));
    } else {
      for (const auto& path : remade)
        if (replace_word(command, path, "\x01") != command) affected = true;
    }
    if (!affected) continue;
    const std::string made = object.empty()
                                 ? (word_after(command, "-o").empty() ? word_after(command, "qc")
                                                                      : word_after(command, "-o"))
                                 : object;
    if (made.empty()) {
      output = "cannot tell what this command makes: " + command;
      return std::nullopt;
    }
    remade.insert(made);
    std::string rewritten = object.empty() ? command : from_copy(command, source_, build_, copy_);
    for (const auto& path : remade) rewritten = replace_word(rewritten, path, out_ + "/" + path);
    fs::create_directories(fs::path(out_ + "/" + made).parent_path());
    if (!shell(build_, rewritten, output)) return std::nullopt;
    last = made;
  }
  // Running the unmutated vsd would judge nothing: a mutant must reach an object of vsd.
  if (last.empty()) {
    output = file +
             " goes into no object of vsd (neither compiled as one nor included by one, "
             "as ninja -t deps lists them)";
    return std::nullopt;
  }
  if (last != "vsd") {
    output = "the last command run made " + last + ", not vsd";
    return std::nullopt;
  }
  return out_ + "/vsd";
}

}  // namespace vslab::mutate
