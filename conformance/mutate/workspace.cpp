// workspace.cpp: the mutants' shared copy and build tree.
#include "mutate/workspace.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fcntl.h>

#include "os/child_process.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vslab::mutate {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

// Build folders and version control are not sources; a build folder inside the tree (build/,
// build-foo/) would otherwise be copied into itself.
bool skipped(const fs::path& relative) {
  const std::string first = relative.begin()->string();
  return first == ".git" || first.rfind("build", 0) == 0 || first == "vslab-failures";
}

// Copies what differs, by content, so that unchanged files keep their times and the build
// tree stays incremental; a file a mutant edited last run is rewritten (its time is now).
void sync_tree(const fs::path& from, const fs::path& to) {
  for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path rel = fs::relative(it->path(), from);
    if (skipped(rel)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    auto text = read_file(it->path());
    if (!text) continue;
    if (read_file(to / rel) != text) write_file(to / rel, *text);
  }
}

// Runs argv, stdout and stderr into one string; the exit code.
int run(const std::vector<std::string>& argv, std::string& output) {
  auto [read_end, write_end] = os::make_pipe(O_CLOEXEC);
  auto child = os::ChildProcess::spawn(
      argv,
      {.stdout_fd = write_end.get(), .stderr_fd = write_end.get(), .parent_death_signal = SIGTERM});
  write_end.reset();
  output.clear();
  os::read_to_end(read_end.get(), output);
  return os::exit_code_of(child.wait());
}

std::string last_lines(const std::string& text, std::size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += lines[i] + "\n";
  return out;
}

// The compiler's first "error:" line (file:line: error: what), else the output's last lines.
std::string compiler_error(const std::string& output) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.find("error:") != std::string::npos) return line + "\n";
  return last_lines(output, 6);
}

}  // namespace

Workspace::Workspace(std::string source_root, std::string work_dir, int build_jobs,
                     std::function<void(const std::string&)> log, std::string seed_build)
    : source_(std::move(source_root)),
      work_(std::move(work_dir)),
      src_(work_ + "/src"),
      // The build tree is the work folder itself, so that tools that walk a source tree and
      // skip build trees (a CMakeCache.txt) skip the copy inside it too (vslab/layers.cpp).
      build_(work_),
      seed_(std::move(seed_build)),
      jobs_(build_jobs),
      log_(std::move(log)) {}

bool Workspace::build_vsd(std::string& output) {
  return run({"cmake", "--build", build_, "--target", "vsd", "-j", std::to_string(jobs_)},
             output) == 0;
}

std::string Workspace::keep_binary(const std::string& from, const std::string& name) {
  const fs::path dir = fs::path(work_) / "bin" / name;
  fs::create_directories(dir);
  fs::copy_file(from, dir / "vsd", fs::copy_options::overwrite_existing);
  return (dir / "vsd").string();
}

std::string Workspace::prepare() {
  log_("copying " + source_ + " to " + src_);
  fs::create_directories(src_);
  sync_tree(source_, src_);
  if (!seed_.empty()) {
    std::string why;
    overlay_ = OverlayBuild::open(seed_, source_, src_, work_ + "/overlay", why);
    if (overlay_) {
      log_("building each mutant on top of " + seed_ + ": only the objects its edit changes");
      baseline_ = keep_binary(overlay_->vsd(), "unmutated");
      return baseline_;
    }
    log_("a build tree of its own: " + why);
  }
  std::string output;
  if (!fs::exists(fs::path(build_) / "build.ninja")) {
    log_("configuring " + build_);
    // Release like the product, no tests: only vsd is built.
    if (run({"cmake", "-S", src_, "-B", build_, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
             "-DBUILD_TESTING=OFF"},
            output) != 0)
      throw std::runtime_error("configuring the copy failed:\n" + output);
  }
  log_("building the unmutated vsd");
  if (!build_vsd(output)) throw std::runtime_error("the unmutated vsd does not build:\n" + output);
  baseline_ = keep_binary(build_ + "/vsd", "unmutated");
  return baseline_;
}

BuildResult Workspace::build(const Mutant& mutant) {
  if (!mutant.test_fault.empty()) return {BuildResult::Outcome::Built, baseline_, {}};
  const fs::path path = fs::path(src_) / mutant.file;
  auto original = read_file(path);
  if (!original) return {BuildResult::Outcome::Stale, {}, mutant.file + " does not exist"};
  int occurrences = 0;
  auto edited = apply_edit(*original, mutant, occurrences);
  if (!edited)
    return {BuildResult::Outcome::Stale,
            {},
            "the text to find occurs " + std::to_string(occurrences) + " times in " + mutant.file};
  write_file(path, *edited);
  std::string output;
  std::optional<std::string> binary;
  if (overlay_) {
    binary = overlay_->build(mutant.file, output);
  } else if (build_vsd(output)) {
    binary = build_ + "/vsd";
  }
  BuildResult result;
  if (binary) {
    result = {BuildResult::Outcome::Built, keep_binary(*binary, mutant.id), {}};
  } else {
    result = {BuildResult::Outcome::Failed, {}, compiler_error(output)};
  }
  write_file(path, *original);  // rewritten, so newer than the mutant's objects
  return result;
}

}  // namespace vslab::mutate
