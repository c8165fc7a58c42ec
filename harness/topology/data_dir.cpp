// The build tree and the source tree are compiled in (VSLAB_BUILD_DIR, VSLAB_SOURCE_DIR) and
// used only for a program inside that build tree; VSLAB_INSTALL_DATA_DIR is the prefix's
// share/vslab as configured, for a machine without /proc.
#include "topology/data_dir.h"

#include <algorithm>
#include <system_error>

namespace vslab::topo {
namespace {

bool lies_under(const std::filesystem::path& path, const std::filesystem::path& folder) {
  auto [f, p] = std::mismatch(folder.begin(), folder.end(), path.begin(), path.end());
  return f == folder.end();
}

std::filesystem::path normal(const std::filesystem::path& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  return (ec ? path : canonical).lexically_normal();
}

}  // namespace

std::filesystem::path data_dir_for(const std::filesystem::path& program) {
  auto self = normal(program);
  if (lies_under(self, normal(VSLAB_BUILD_DIR))) return VSLAB_SOURCE_DIR;
  return self.parent_path().parent_path() / "share" / "vslab";
}

std::filesystem::path data_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  // Without /proc the program cannot tell where it is: the configured prefix is the best guess.
  return ec ? std::filesystem::path(VSLAB_INSTALL_DATA_DIR) : data_dir_for(self);
}

std::filesystem::path topology_dir() {
  return data_dir() / "topologies";
}

std::filesystem::path bench_topology_dir() {
  return data_dir() / "perf" / "bench" / "topologies";
}

}  // namespace vslab::topo
