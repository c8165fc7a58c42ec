#include "bench/frames.h"

#include <algorithm>
#include <cstring>

#include "fwd/checksum.h"
#include "fwd/ipv6.h"
#include "os/byte_order.h"

namespace vslab::bench {
namespace {

using os::get16;
using os::get32;
using os::put16;
using os::put32;

constexpr std::size_t kIp6Header = 40;

uint16_t udp6_checksum(const vsd::Ip6& src, const vsd::Ip6& dst, const uint8_t* udp,
                       std::size_t length) {
  const uint16_t pseudo = vsd::fwd::pseudo_header_sum6(src, dst, 17, uint32_t(length));
  uint16_t sum = uint16_t(~vsd::fwd::ones_sum({udp, length}, pseudo));
  return sum == 0 ? 0xffff : sum;  // 0 would mean "no checksum", which IPv6 forbids
}

void build_frame6(const GeneratorConfig& c, uint32_t flow, uint8_t* f) {
  put16(f + 12, 0x86dd);
  uint8_t* ip = f + 14;
  const uint16_t payload = uint16_t(c.frame_size - 14 - kIp6Header);
  ip[0] = 0x60;
  put16(ip + 4, payload);
  ip[6] = 17;
  ip[7] = 64;
  const vsd::Ip6 src = flow_address6(c, flow);
  std::memcpy(ip + 8, src.data(), 16);
  std::memcpy(ip + 24, c.dst_ip6.data(), 16);
  uint8_t* udp = ip + kIp6Header;
  put16(udp, flow_port(flow));
  put16(udp + 2, c.dst_port);
  put16(udp + 4, payload);
  put16(udp + 6, udp6_checksum(src, c.dst_ip6, udp, payload));
}

}  // namespace

uint32_t flow_address(const GeneratorConfig& c, uint32_t flow) {
  return c.src_ip.value + flow / Generator::kPortsPerAddress;
}
uint16_t flow_port(uint32_t flow) {
  return uint16_t(1024 + flow % Generator::kPortsPerAddress);
}

vsd::Ip6 flow_address6(const GeneratorConfig& c, uint32_t flow) {
  vsd::Ip6 a = c.src_ip6;
  put32(a.data() + 12, get32(a.data() + 12) + flow / Generator::kPortsPerAddress);
  return a;
}

uint32_t frame_size_for(int family, uint32_t asked, bool stamp) {
  if (family != 6) return asked;
  const uint32_t least = uint32_t(stamp ? Stamp::kOffset6 + sizeof(Stamp) : 14 + kIp6Header + 8);
  return std::max(asked, least);
}

void refresh_udp_checksum6(const GeneratorConfig& c, uint8_t* f) {
  uint8_t* ip = f + 14;
  uint8_t* udp = ip + kIp6Header;
  const std::size_t length = c.frame_size - 14 - kIp6Header;
  vsd::Ip6 src;
  std::memcpy(src.data(), ip + 8, 16);
  put16(udp + 6, 0);
  put16(udp + 6, udp6_checksum(src, c.dst_ip6, udp, length));
}

void build_frame(const GeneratorConfig& c, const vsd::Mac& src_mac, uint32_t flow, uint8_t* f) {
  std::memset(f, 0, c.frame_size);
  std::memcpy(f, c.dst_mac.bytes.data(), 6);
  std::memcpy(f + 6, src_mac.bytes.data(), 6);
  if (c.family == 6) return build_frame6(c, flow, f);
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
  if (c.family == 6) {
    // Only the source's last 32 bits and the port change; IPv6 has no header checksum.
    uint8_t* udp = ip + kIp6Header;
    const uint32_t old_low = get32(ip + 8 + 12), new_low = get32(flow_address6(c, to).data() + 12);
    if (old_low != new_low) {
      put32(ip + 8 + 12, new_low);
      put16(udp + 6, vsd::fwd::udp_checksum_update32(get16(udp + 6), old_low, new_low));
    }
    put16(udp, flow_port(to));
    put16(udp + 6, vsd::fwd::udp_checksum_update16(get16(udp + 6), flow_port(from), flow_port(to)));
    return;
  }
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
