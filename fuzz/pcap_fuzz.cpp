// The pcap reader (harness/port/pcap_file.h) that `vslab replay` reads a case's captures with:
// the input is the file. Besides memory errors and undefined behaviour: a file is read whole
// or refused with one line of error, never half.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.h"
#include "port/pcap_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // A file without a name in the file system, read through /proc as any path.
  const int fd = memfd_create("pcap_fuzz", 0);
  VSLAB_FUZZ_CHECK(fd >= 0, "memfd_create");
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    VSLAB_FUZZ_CHECK(n > 0, "write to the memfd");
    done += std::size_t(n);
  }
  auto read = vslab::port::read_pcap("/proc/self/fd/" + std::to_string(fd));
  close(fd);
  if (!read.ok()) {
    VSLAB_FUZZ_CHECK(read.frames.empty(), "a refused file gives no frames");
    VSLAB_FUZZ_CHECK(read.error.find('\n') == std::string::npos, "one line of error");
  }
  return 0;
}
