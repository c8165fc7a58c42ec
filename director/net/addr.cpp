#include "net/addr.h"

#include <arpa/inet.h>

#include <cstdio>

namespace vsd {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  char buf[16] = {};
  text.copy(buf, text.size());
  in_addr a{};
  if (inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
  return Ipv4{ntohl(a.s_addr)};
}

std::string Ipv4::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff,
                (value >> 8) & 0xff, value & 0xff);
  return buf;
}

std::optional<Mac> Mac::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  Mac m;
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      unsigned d = (c >= '0' && c <= '9')   ? c - '0'
                   : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                   : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                            : 16;
      if (d > 15) return std::nullopt;
      v = v * 16 + d;
    }
    m.bytes[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::string Mac::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::Tcp:
      return "TCP";
    case Proto::Udp:
      return "UDP";
    case Proto::Sctp:
      return "SCTP";
    case Proto::Icmp:
      return "ICMP";
  }
  return "?";
}

std::string Endpoint::str() const {
  return addr.str() + ":" + std::to_string(port);
}

}  // namespace vsd
