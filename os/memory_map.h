// One owner for an mmap(2) region (a packet ring): unmapped exactly once, when its owner goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace vslab::os {

class MemoryMap {
 public:
  MemoryMap() noexcept = default;
  // Maps size bytes of fd shared, read and write; an empty map (errno set) when mmap fails,
  // so that the caller can say which ring of which port it was.
  static MemoryMap shared(int fd, std::size_t size);
  ~MemoryMap() { reset(); }
  MemoryMap(MemoryMap&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MemoryMap& operator=(MemoryMap&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  MemoryMap(const MemoryMap&) = delete;
  MemoryMap& operator=(const MemoryMap&) = delete;

  uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  void reset() noexcept;

 private:
  MemoryMap(uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}
  uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vslab::os
