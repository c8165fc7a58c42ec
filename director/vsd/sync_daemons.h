// vsd's connection synchronization daemons, master and backup, as ipvsadm --start-daemon runs
// the kernel's (ip_vs_sync.c): ordinary UDP multicast sockets of the director namespace's own
// kernel, on a thread each, off the packet path.
// - Master: every 20 ms (the kernel's IPVS_SYNC_SEND_DELAY) takes from the data plane, through
//   the CallQueue, the entries its send rules noted (sync/master_tracker.h), packs them into
//   messages of at most sync_maxlen bytes and sends each message as it fills; a message that
//   does not fill goes 2 s after its first entry (IPVS_SYNC_FLUSH_TIME). The socket: bound to
//   the interface's first IPv4 address, multicast out of that interface, TTL as configured,
//   no loopback, no DF, connected to group:port.
// - Backup: a socket bound to group:port on the interface (SO_REUSEADDR, SO_BINDTODEVICE),
//   joined to the group there; each datagram (read into sync_maxlen bytes, so a longer one
//   fails the size check as in the kernel) is decoded on this thread and its entries applied
//   by the data plane, through the CallQueue.
// sync_ports is read when a daemon starts with no other running; one started while the other
// runs takes its count (start_sync_thread's threads_mask). Stopping a master drops what it had
// not sent, as the kernel does.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "os/unique_fd.h"
#include "sync/daemon_config.h"
#include "vsd/call_queue.h"
#include "vsd/dataplane.h"

namespace vsd {

class SyncDaemons {
 public:
  SyncDaemons(Dataplane& dataplane, CallQueue& calls) : dataplane_(dataplane), calls_(calls) {}
  ~SyncDaemons();
  SyncDaemons(const SyncDaemons&) = delete;
  SyncDaemons& operator=(const SyncDaemons&) = delete;

  // "" or ipvsadm's words for the kernel's refusal: "Daemon has already run", "No such
  // device" (an unknown interface), or what a socket call said.
  std::string start(const sync::DaemonConfig& config);
  // "" or "No daemon is running".
  std::string stop(sync::Role role);
  // The running daemons, master first, defaults filled in.
  std::vector<sync::DaemonConfig> running() const;

  struct Counters {
    std::atomic<uint64_t> messages_sent{0}, entries_sent{0}, send_errors{0};
    // Messages (and their entries) dropped with sync_qlen_max waiting on their thread.
    std::atomic<uint64_t> messages_dropped{0}, entries_dropped{0};
    std::atomic<uint64_t> messages_received{0}, messages_refused{0}, entries_received{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Daemon {
    sync::DaemonConfig config;
    std::vector<vslab::os::UniqueFd> sockets;  // by thread id: port mcast_port + id
    vslab::os::UniqueFd stop_fd;
    std::thread thread;
  };
  void run_master(Daemon& d);
  void run_backup(Daemon& d);
  static void halt(Daemon& d);

  Dataplane& dataplane_;
  CallQueue& calls_;
  mutable std::mutex mutex_;  // guards the two slots; start and stop come from the control side
  std::unique_ptr<Daemon> master_, backup_;
  Counters counters_;
};

}  // namespace vsd
