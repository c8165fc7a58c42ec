// The input format of the fuzz targets that take more than one frame (reassembly, dataplane):
// a sequence of records, each a tag byte, a 16-bit big-endian length and that many bytes. A
// record cut short by the end of the input takes what is left, so every input means something
// and a mutation that changes one length still leaves the records after it readable.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vslab::fuzz {

struct Record {
  uint8_t tag = 0;
  std::span<const uint8_t> bytes;
};

inline std::vector<Record> split_records(std::span<const uint8_t> input) {
  std::vector<Record> records;
  std::size_t at = 0;
  while (at + 3 <= input.size()) {
    const uint8_t tag = input[at];
    const std::size_t claimed = std::size_t(input[at + 1]) << 8 | input[at + 2];
    at += 3;
    const std::size_t length = std::min(claimed, input.size() - at);
    records.push_back({tag, input.subspan(at, length)});
    at += length;
  }
  return records;
}

// The inverse, for the seed writer (make_seeds.cpp).
inline void append_record(std::vector<uint8_t>& out, uint8_t tag, std::span<const uint8_t> bytes) {
  out.push_back(tag);
  out.push_back(uint8_t(bytes.size() >> 8));
  out.push_back(uint8_t(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace vslab::fuzz
