// Where vslab's data files (topologies, bench topologies) are: beside the source tree for a
// program run from the build tree, under <prefix>/share/vslab for an installed one.
#pragma once

#include <filesystem>

namespace vslab::topo {

// The folder that holds topologies/ and perf/bench/topologies/, found from the running
// program's own path (/proc/self/exe), so an installed vslab never reads the source tree.
std::filesystem::path data_dir();

// What data_dir() answers for a program at `program`: the source tree when it lies under the
// build tree it was compiled in, <program's folder>/../share/vslab otherwise (bin/ or sbin/).
std::filesystem::path data_dir_for(const std::filesystem::path& program);

// data_dir() / "topologies": the mode topologies (nat.toml, dr.toml...).
std::filesystem::path topology_dir();

// data_dir() / "perf/bench/topologies": the end-to-end benchmark's topologies.
std::filesystem::path bench_topology_dir();

}  // namespace vslab::topo
