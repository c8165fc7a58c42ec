#include "dut/qemu/guest_image.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/run.h"
#include "os/unique_fd.h"

namespace vslab::dut::qemu {
namespace fs = std::filesystem;
namespace {

// FNV-1a: a stable name for the inputs, not a defence against anyone.
std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

std::string file_stamp(const fs::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path.string() + " missing";
  return fmt::format("{} {} {}", path.string(), st.st_size, st.st_mtim.tv_sec);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void write_text(const fs::path& path, const char* text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Held while the image is looked for and built, so that matrix workers build it once.
class CacheLock {
 public:
  explicit CacheLock(const fs::path& path) {
    fd_.reset(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd_ || flock(fd_.get(), LOCK_EX) != 0)
      throw std::runtime_error("cannot lock " + path.string());
  }
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

 private:
  os::UniqueFd fd_;  // the lock goes when it closes
};

GuestImage image_in(const fs::path& dir) {
  return {dir / "vmlinux", dir / "initramfs.cpio", read_text(dir / "release")};
}

}  // namespace

fs::path cache_dir() {
  const char* dir = std::getenv("VSLAB_CACHE_DIR");
  return dir && *dir ? fs::path(dir) : fs::path("/var/cache/vslab");
}

fs::path kernel_package_dir(const fs::path& cache) {
  return cache / "debs";
}

fs::path find_kernel_package(const fs::path& cache) {
  fs::path newest;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kernel_package_dir(cache), ec)) {
    const std::string name = entry.path().filename().string();
    // linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb; not the linux-image-amd64 meta package.
    if (name.starts_with("linux-image-") && !name.starts_with("linux-image-amd64") &&
        name.ends_with("_amd64.deb") && (newest.empty() || name > newest.filename().string()))
      newest = entry.path();
  }
  if (newest.empty())
    throw std::runtime_error(fmt::format(
        "no Debian kernel package (linux-image-*-amd64_*.deb) in {}: scripts/setup.sh "
        "downloads it there (apt-get download, the version linux-image-amd64 depends on)",
        kernel_package_dir(cache).string()));
  return newest;
}

std::string image_inputs(const fs::path& kernel_package) {
  return fmt::format("build-image.sh {:016x}\ninit {:016x}\n{}\n{}\n{}\n{}\n",
                     fnv1a(kBuildImageScript), fnv1a(kGuestInit), file_stamp(kernel_package),
                     file_stamp("/bin/busybox"), file_stamp("/usr/sbin/ip"),
                     file_stamp("/usr/sbin/ipvsadm"));
}

GuestImage prepare_guest_image(const fs::path& cache, const fs::path& kernel_package) {
  const std::string inputs = image_inputs(kernel_package);
  const fs::path guests = cache / "guest";
  const fs::path dir = guests / fmt::format("{:016x}", fnv1a(inputs));
  fs::create_directories(guests);
  CacheLock lock(guests / ".lock");
  if (fs::exists(dir / "release")) return image_in(dir);

  const fs::path work = guests / fmt::format(".build-{}", getpid());
  fs::remove_all(work);
  fs::create_directories(work);
  write_text(work / "build-image.sh", kBuildImageScript);
  write_text(work / "init", kGuestInit);
  // Its scratch space inside `work`, so that a build killed half way leaves nothing in /tmp.
  auto built =
      run_with_input({"env", "TMPDIR=" + work.string(), "sh", (work / "build-image.sh").string(),
                      kernel_package.string(), (work / "init").string(), (work / "image").string()},
                     "");
  if (!built.ok()) {
    fs::remove_all(work);
    throw std::runtime_error(fmt::format("building the qemu-kernel guest from {} failed:\n{}",
                                         kernel_package.string(), built.output));
  }
  std::ofstream(work / "image" / "inputs") << inputs;
  // Older images are for inputs that are gone (one is about 70 MB), and other .build-*
  // folders are from builds that were killed: nobody else builds while we hold the lock.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(guests, ec))
    if (entry.is_directory() && entry.path() != work) fs::remove_all(entry.path(), ec);
  fs::rename(work / "image", dir);
  fs::remove_all(work);
  return image_in(dir);
}

}  // namespace vslab::dut::qemu
