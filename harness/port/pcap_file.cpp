#include "port/pcap_file.h"

#include <pcap/pcap.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace vslab::port {
namespace {
struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};
}  // namespace

void write_pcap(const std::string& path, const std::vector<Frame>& frames) {
  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(DLT_EN10MB, 262144));
  if (!dead) throw std::runtime_error(path + ": pcap_open_dead failed");
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_open(dead.get(), path.c_str()));
  if (!dumper) throw std::runtime_error(fmt::format("{}: {}", path, pcap_geterr(dead.get())));
  for (const auto& f : frames) {
    pcap_pkthdr header{};
    header.ts = f.timestamp;
    header.caplen = header.len = static_cast<bpf_u_int32>(f.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, f.bytes.data());
  }
  if (pcap_dump_flush(dumper.get()) != 0) throw std::runtime_error(path + ": write failed");
}

namespace {

std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// What is wrong with the file before libpcap sees it: missing, empty, pcapng, not a pcap.
std::string check_file_kind(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return "no such file";
  if (std::filesystem::is_directory(status)) return "is a directory, not a pcap file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot be read";
  unsigned char head[24] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  auto got = static_cast<std::size_t>(in.gcount());
  if (got == 0) return "empty file, not a pcap";
  if (got >= 4) {
    uint32_t be =
        uint32_t(head[0]) << 24 | uint32_t(head[1]) << 16 | uint32_t(head[2]) << 8 | head[3];
    if (be == 0x0a0d0d0a)
      return "is pcapng; vslab reads classic pcap: convert it with `editcap -F pcap IN OUT` or "
             "`tcpdump -r IN -w OUT`";
    bool classic = be == 0xa1b2c3d4 || be == 0xd4c3b2a1 || be == 0xa1b23c4d || be == 0x4d3cb2a1;
    if (!classic) return fmt::format("not a pcap file (magic 0x{:08x})", be);
  }
  if (got < sizeof head) return fmt::format("truncated pcap file header ({} of 24 bytes)", got);
  return {};
}

}  // namespace

PcapReadResult read_pcap(const std::string& path) {
  PcapReadResult result;
  if (auto why = check_file_kind(path); !why.empty()) {
    result.error = fmt::format("{}: {}", path, why);
    return result;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_open_offline(path.c_str(), errbuf));
  if (!pcap) {
    result.error = fmt::format("{}: {}", path, one_line(errbuf));
    return result;
  }
  if (int dlt = pcap_datalink(pcap.get()); dlt != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(dlt);
    result.error =
        fmt::format("{}: link type {} ({}) is not Ethernet", path, dlt, name ? name : "unknown");
    return result;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1) {
    if (header->caplen < header->len) {
      // A cut frame would be replayed as a different, shorter frame.
      result.error = fmt::format(
          "{}: frame {} was cut to {} of its {} bytes (snaplen {}); capture whole frames "
          "(tcpdump -s 0)",
          path, result.frames.size() + 1, header->caplen, header->len, pcap_snapshot(pcap.get()));
      result.frames.clear();
      return result;
    }
    result.frames.push_back({std::vector<uint8_t>(data, data + header->caplen), header->ts});
  }
  if (rc == PCAP_ERROR) {
    result.error = fmt::format("{}: frame {}: {}", path, result.frames.size() + 1,
                               one_line(pcap_geterr(pcap.get())));
    result.frames.clear();
  }
  return result;
}

}  // namespace vslab::port
