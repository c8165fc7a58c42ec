// What `ipvsadm --start-daemon` configures (struct ipvs_sync_daemon_cfg), and the defaults the
// kernel fills in when it starts a daemon (ip_vs_sync.c start_sync_thread): group 224.0.0.81,
// port 8848, TTL 1, and a message length from the interface: 1472 bytes for a master whatever
// its MTU (1500 less the IPv4 and UDP headers), the MTU clamped to 1500..65535 less those 28
// bytes for a backup; a length given is clamped to 1..65507 (master) or 1024..65507 (backup).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "net/addr.h"
#include "sync/message.h"

namespace vsd::sync {

enum class Role : uint8_t { Master, Backup };

inline constexpr uint16_t kIpUdpHeaders = 20 + 8;

struct DaemonConfig {
  Role role = Role::Master;
  std::string mcast_ifn = "eth0";  // ipvsadm's DEF_MCAST_IFN
  uint8_t syncid = 0;
  uint16_t sync_maxlen = 0;         // 0: from the interface
  std::optional<Ipv4> mcast_group;  // nothing: kDefaultGroup
  uint16_t mcast_port = 0;          // 0: kDefaultPort
  uint8_t mcast_ttl = 0;            // 0: kDefaultTtl
  bool operator==(const DaemonConfig&) const = default;
};

// The configuration as the kernel keeps it once started: every default filled in.
inline DaemonConfig with_defaults(DaemonConfig c, uint32_t interface_mtu) {
  if (!c.mcast_group) c.mcast_group = kDefaultGroup;
  if (c.mcast_port == 0) c.mcast_port = kDefaultPort;
  if (c.mcast_ttl == 0) c.mcast_ttl = kDefaultTtl;
  const bool backup = c.role == Role::Backup;
  const uint32_t mtu = backup ? std::clamp<uint32_t>(interface_mtu, 1500, 65535) : 1500;
  const uint32_t min_len = backup ? 1024 : 1;
  if (c.sync_maxlen != 0)
    c.sync_maxlen = uint16_t(std::clamp<uint32_t>(c.sync_maxlen, min_len, 65535 - kIpUdpHeaders));
  else
    c.sync_maxlen = uint16_t(mtu - kIpUdpHeaders);
  return c;
}

inline std::string_view role_name(Role role) {
  return role == Role::Master ? "master" : "backup";
}

}  // namespace vsd::sync
