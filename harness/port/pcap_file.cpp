#include "port/pcap_file.h"

#include <pcap/pcap.h>

#include <memory>
#include <stdexcept>

#include <fmt/core.h>

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

PcapReadResult read_pcap(const std::string& path) {
  PcapReadResult result;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_open_offline(path.c_str(), errbuf));
  if (!pcap) {
    result.error = fmt::format("{}: {}", path, errbuf);
    return result;
  }
  if (int dlt = pcap_datalink(pcap.get()); dlt != DLT_EN10MB) {
    result.error =
        fmt::format("{}: link type {} ({}) is not Ethernet", path, dlt,
                    pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "unknown");
    return result;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1)
    result.frames.push_back({std::vector<uint8_t>(data, data + header->caplen), header->ts});
  if (rc == PCAP_ERROR) result.error = fmt::format("{}: {}", path, pcap_geterr(pcap.get()));
  return result;
}

}  // namespace vslab::port
