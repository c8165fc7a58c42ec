#include "bench/frames.h"

#include <cstring>

#include "fwd/checksum.h"
#include "os/byte_order.h"

namespace vslab::bench {
namespace {

using os::get16;
using os::put16;
using os::put32;

}  // namespace

uint32_t flow_address(const GeneratorConfig& c, uint32_t flow) {
  return c.src_ip.value + flow / Generator::kPortsPerAddress;
}
uint16_t flow_port(uint32_t flow) {
  return uint16_t(1024 + flow % Generator::kPortsPerAddress);
}

void build_frame(const GeneratorConfig& c, const vsd::Mac& src_mac, uint32_t flow, uint8_t* f) {
  std::memset(f, 0, c.frame_size);
  std::memcpy(f, c.dst_mac.bytes.data(), 6);
  std::memcpy(f + 6, src_mac.bytes.data(), 6);
  put16(f + 12, 0x0800);
  uint8_t* ip = f + 14;
  uint16_t ip_length = uint16_t(c.frame_size - 14);
  ip[0] = 0x45;
  put16(ip + 2, ip_length);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, flow_address(c, flow));
  put32(ip + 16, c.dst_ip.value);
  put16(ip + 10, vsd::fwd::ipv4_header_checksum({ip, 20}));
  uint8_t* udp = ip + 20;
  put16(udp, flow_port(flow));
  put16(udp + 2, c.dst_port);
  put16(udp + 4, uint16_t(ip_length - 20));
  if (!c.stamp)
    put16(udp + 6, vsd::fwd::udp_checksum(vsd::Ipv4::from_host(flow_address(c, flow)), c.dst_ip,
                                          {udp, std::size_t(ip_length - 20)}));
}

void readdress(const GeneratorConfig& c, uint8_t* f, uint32_t from, uint32_t to) {
  uint8_t* ip = f + 14;
  uint8_t* udp = ip + 20;
  uint32_t old_address = flow_address(c, from), new_address = flow_address(c, to);
  uint16_t old_port = flow_port(from), new_port = flow_port(to);
  if (old_address != new_address) {
    put32(ip + 12, new_address);
    put16(ip + 10, vsd::fwd::checksum_update32(get16(ip + 10), old_address, new_address));
    put16(udp + 6, vsd::fwd::udp_checksum_update32(get16(udp + 6), old_address, new_address));
  }
  put16(udp, new_port);
  put16(udp + 6, vsd::fwd::udp_checksum_update16(get16(udp + 6), old_port, new_port));
}

}  // namespace vslab::bench
