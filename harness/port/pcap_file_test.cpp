// pcap files written by the harness must read back byte for byte, and bad files must give
// one clear error.
#include "port/pcap_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vslab::port {
namespace {

std::filesystem::path temp_dir() {
  return std::filesystem::temp_directory_path() / ("vslab-pcap-test-" + std::to_string(getpid()));
}

std::string temp_path(const std::string& name) {
  std::filesystem::create_directories(temp_dir());
  return (temp_dir() / name).string();
}

// The files the tests wrote go when the tests are done.
class RemoveTempDir : public testing::Environment {
 public:
  void TearDown() override { std::filesystem::remove_all(temp_dir()); }
};
const auto* const kRemoveTempDir = testing::AddGlobalTestEnvironment(new RemoveTempDir);

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

// The bytes of a classic pcap: a 24-byte header, then records, little endian.
std::string le32(uint32_t v) {
  return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)};
}
std::string pcap_header(uint32_t snaplen = 65535, uint32_t linktype = 1) {
  return le32(0xa1b2c3d4) + std::string("\x02\x00\x04\x00", 4) + le32(0) + le32(0) + le32(snaplen) +
         le32(linktype);
}
std::string record(uint32_t caplen, uint32_t len, char fill = 'x') {
  return le32(1700000000) + le32(0) + le32(caplen) + le32(len) + std::string(caplen, fill);
}
std::string write_bytes(const std::string& name, const std::string& bytes) {
  auto path = temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}
// One line, starting with the path, containing `words`.
void expect_one_line_error(const std::string& path, const std::string& words) {
  auto back = read_pcap(path);
  EXPECT_FALSE(back.ok());
  EXPECT_TRUE(back.frames.empty());
  EXPECT_EQ(back.error.rfind(path + ": ", 0), 0u) << back.error;
  EXPECT_EQ(back.error.find('\n'), std::string::npos) << back.error;
  EXPECT_NE(back.error.find(words), std::string::npos) << back.error;
}

TEST(PcapFile, EmptyFileIsOneLineError) {
  expect_one_line_error(write_bytes("empty.pcap", ""), "empty file");
}

TEST(PcapFile, TruncatedHeaderIsOneLineError) {
  expect_one_line_error(write_bytes("short.pcap", pcap_header().substr(0, 10)),
                        "truncated pcap file header (10 of 24 bytes)");
}

TEST(PcapFile, TruncatedRecordIsOneLineError) {
  auto whole = pcap_header() + record(60, 60) + record(100, 100);
  expect_one_line_error(write_bytes("cut.pcap", whole.substr(0, whole.size() - 30)), "frame 2: ");
}

TEST(PcapFile, CorruptRecordLengthIsOneLineError) {
  // A record claiming 4 GB: libpcap refuses it as bigger than the snaplen allows.
  expect_one_line_error(write_bytes("huge.pcap", pcap_header() + le32(0) + le32(0) +
                                                     le32(0xfffffff0) + le32(0xfffffff0)),
                        "frame 1: ");
}

TEST(PcapFile, PcapngIsRejectedWithHowToConvert) {
  // A pcapng section header block (the start of what Wireshark saves by default).
  std::string shb = le32(0x0a0d0d0a) + le32(28) + le32(0x1a2b3c4d) +
                    std::string("\x01\x00\x00\x00", 4) + le32(0xffffffff) + le32(0xffffffff) +
                    le32(28);
  expect_one_line_error(write_bytes("capture.pcapng", shb), "is pcapng");
}

TEST(PcapFile, UnknownLinkTypeIsRejected) {
  expect_one_line_error(write_bytes("linux-sll.pcap", pcap_header(65535, 113) + record(20, 20)),
                        "link type 113");
  expect_one_line_error(write_bytes("link-9999.pcap", pcap_header(65535, 9999) + record(20, 20)),
                        "is not Ethernet");
}

TEST(PcapFile, SnaplenCutFrameIsRejected) {
  expect_one_line_error(
      write_bytes("snap.pcap", pcap_header(96) + record(60, 60) + record(96, 1514)),
      "frame 2 was cut to 96 of its 1514 bytes (snaplen 96)");
}

TEST(PcapFile, DirectoryIsRejected) {
  auto dir = temp_path("a-directory.pcap");
  std::filesystem::create_directories(dir);
  expect_one_line_error(dir, "is a directory");
}

TEST(PcapFile, MissingFileSaysSo) {
  expect_one_line_error(temp_path("never-written.pcap"), "no such file");
}

TEST(PcapFile, UnwritableDirectoryThrows) {
  EXPECT_THROW(write_pcap("/nonexistent/dir/out.pcap", {}), std::runtime_error);
}

}  // namespace
}  // namespace vslab::port
