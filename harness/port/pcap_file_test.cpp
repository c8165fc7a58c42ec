// pcap files written by the harness must read back byte for byte, and bad files must give
// one clear error.
#include "port/pcap_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vslab::port {
namespace {

std::string temp_path(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("vslab-pcap-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(PcapFile, WrittenFramesReadBackUnchanged) {
  std::vector<Frame> frames{
      {{0x02, 0x76, 0x73, 0x01, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 0x08, 0x00}, {1700000000, 250}},
      {std::vector<uint8_t>(1514, 0xab), {1700000001, 0}}};
  auto path = temp_path("two.pcap");
  write_pcap(path, frames);
  auto back = read_pcap(path);
  ASSERT_TRUE(back.ok()) << back.error;
  ASSERT_EQ(back.frames.size(), 2u);
  EXPECT_EQ(back.frames[0].bytes, frames[0].bytes);
  EXPECT_EQ(back.frames[1].bytes.size(), 1514u);
  EXPECT_EQ(back.frames[0].timestamp.tv_sec, 1700000000);
  EXPECT_EQ(back.frames[0].timestamp.tv_usec, 250);
}

TEST(PcapFile, MissingFileIsOneLineError) {
  auto back = read_pcap("/nonexistent/vslab.pcap");
  EXPECT_FALSE(back.ok());
  EXPECT_NE(back.error.find("/nonexistent/vslab.pcap: "), std::string::npos) << back.error;
  EXPECT_EQ(back.error.find('\n'), std::string::npos);
}

TEST(PcapFile, GarbageFileIsRejected) {
  auto path = temp_path("garbage.pcap");
  std::ofstream(path) << "this is not a capture file at all";
  auto back = read_pcap(path);
  EXPECT_FALSE(back.ok());
  EXPECT_EQ(back.error.rfind(path + ": ", 0), 0u) << back.error;
}

TEST(PcapFile, UnwritableDirectoryThrows) {
  EXPECT_THROW(write_pcap("/nonexistent/dir/out.pcap", {}), std::runtime_error);
}

}  // namespace
}  // namespace vslab::port
