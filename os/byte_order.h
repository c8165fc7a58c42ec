// Network byte order at an unaligned place in a frame: the wire's 16- and 32-bit fields, read
// and written a byte at a time. Shared so that the files of a unity batch (CMakeLists.txt) do
// not each carry their own copy.
#pragma once

#include <cstdint>

namespace vslab::os {

inline uint16_t get16(const uint8_t* at) {
  return uint16_t(at[0] << 8 | at[1]);
}
inline uint32_t get32(const uint8_t* at) {
  return uint32_t(get16(at)) << 16 | get16(at + 2);
}
inline void put16(uint8_t* at, uint16_t value) {
  at[0] = uint8_t(value >> 8);
  at[1] = uint8_t(value);
}
inline void put32(uint8_t* at, uint32_t value) {
  put16(at, uint16_t(value >> 16));
  put16(at + 2, uint16_t(value));
}

}  // namespace vslab::os
