// Moving a VIP between the directors of a failover pair: keepalived's VRRP where the DUT can run
// it (Debian's keepalived, a `vrrp_instance` and nothing else), or the harness itself for a
// DUT that cannot (it puts the addresses on the new master and announces them by gratuitous
// ARP, as keepalived does).
#pragma once

#include <string>
#include <vector>

#include "os/child_process.h"

namespace vslab::failover {

// An address VRRP moves, with the interface it goes on ("10.20.0.100/32", "eth0").
struct FloatingAddress {
  std::string cidr;
  std::string dev;
  std::string address() const { return cidr.substr(0, cidr.find('/')); }
};

struct VrrpInstance {
  std::string interface = "eth0";  // where the advertisements go
  int virtual_router_id = 51;
  int priority = 100;  // the higher one is master; it takes the VIP back when it returns
  // VRRPv3 centiseconds: the backup declares the master dead after 3 intervals and a skew.
  int advert_centiseconds = 50;
  std::vector<FloatingAddress> addresses;
};

// keepalived.conf for one director: global_defs and one vrrp_instance, both directors in
// state BACKUP so that priority alone picks the master.
std::string keepalived_config(const std::string& router_name, const VrrpInstance& instance);

// keepalived in a director's namespace, its files (config, pid files, log) in `files_dir`, in a
// process group of its own (it forks a VRRP child), so kill() ends both as a crash would.
class Keepalived {
 public:
  Keepalived(std::string netns, std::string files_dir, std::string name, VrrpInstance instance);
  ~Keepalived() { kill(); }
  Keepalived(const Keepalived&) = delete;
  Keepalived& operator=(const Keepalived&) = delete;

  // Writes the config and starts keepalived; throws when it cannot start or exits at once.
  void start();
  // SIGKILL to the group: the addresses it added stay on the interfaces, as after a crash.
  void kill() noexcept;
  bool running() const { return process_.owns() && !process_.has_exited(); }
  std::string log() const;
  // "/usr/sbin/keepalived" or wherever PATH finds it; empty when not installed.
  static std::string binary();

 private:
  std::string netns_, files_dir_, name_;
  VrrpInstance instance_;
  os::ChildProcess process_;
};

// Whether the namespace's host holds the address now (on any interface).
bool holds_address(const std::string& netns, const std::string& address);

// The harness as the VIP mover: adds the addresses in `netns` and sends a gratuitous ARP for
// each from its interface; release() removes them. Returns what failed, or an empty string.
std::string take_addresses(const std::string& netns, const std::vector<FloatingAddress>& addresses);
std::string release_addresses(const std::string& netns,
                              const std::vector<FloatingAddress>& addresses);

}  // namespace vslab::failover
