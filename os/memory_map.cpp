// MemoryMap's mmap and munmap.
#include "os/memory_map.h"

#include <sys/mman.h>

namespace vslab::os {

MemoryMap MemoryMap::shared(int fd, std::size_t size) {
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return {};
  return MemoryMap(static_cast<uint8_t*>(map), size);
}

void MemoryMap::reset() noexcept {
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace vslab::os
