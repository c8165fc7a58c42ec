// /etc/services lookups for ipvsadm's port names.
#include "ctl/port_names.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <array>

namespace vsd::ctl {
namespace {

const char* services_protocol(Proto proto) {
  switch (proto) {
    case Proto::Tcp:
      return "tcp";
    case Proto::Udp:
      return "udp";
    case Proto::Sctp:
      return "sctp";
    case Proto::Icmp:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

std::optional<uint16_t> port_by_name(std::string_view name, Proto proto) {
  const char* protocol = services_protocol(proto);
  if (protocol == nullptr || name.empty()) return std::nullopt;
  std::string key(name);
  servent entry{};
  servent* found = nullptr;
  std::array<char, 1024> buffer{};
  if (getservbyname_r(key.c_str(), protocol, &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return ntohs(static_cast<uint16_t>(found->s_port));
}

std::string port_name_or_number(uint16_t port, Proto proto) {
  const char* protocol = services_protocol(proto);
  if (protocol != nullptr) {
    servent entry{};
    servent* found = nullptr;
    std::array<char, 1024> buffer{};
    if (getservbyport_r(htons(port), protocol, &entry, buffer.data(), buffer.size(), &found) == 0 &&
        found != nullptr) {
      return found->s_name;
    }
  }
  return std::to_string(port);
}

PortNames::PortNames() {
  // The first entry for a port and protocol wins, as getservbyport finds it.
  servent entry{};
  servent* found = nullptr;
  std::array<char, 4096> buffer{};
  setservent(0);
  while (getservent_r(&entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    for (Proto proto : {Proto::Tcp, Proto::Udp, Proto::Sctp}) {
      if (std::string_view(found->s_proto) != services_protocol(proto)) continue;
      const uint16_t port = ntohs(static_cast<uint16_t>(found->s_port));
      names_.try_emplace(uint32_t(proto) << 16 | port, found->s_name);
    }
  }
  endservent();
}

std::string_view PortNames::name(uint16_t port, Proto proto) const {
  auto it = names_.find(uint32_t(proto) << 16 | port);
  return it == names_.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace vsd::ctl
