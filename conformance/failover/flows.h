// Real traffic through a failover pair, on real sockets of the client's and the real servers'
// namespaces (opened inside them, used from this process's threads): a long TCP upload, an
// idle TCP connection that sends once after the failover, and a UDP echo flow. Each flow times
// what its own sockets see (arrivals, resets, retransmissions), never a sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "os/unique_fd.h"

namespace vslab::failover {

using Clock = std::chrono::steady_clock;

// What a flow saw over one failover (or failback).
struct FlowReport {
  std::string flow;  // "tcp-upload", "tcp-idle", "udp-echo"
  // TCP: segments the sender retransmitted (its tcpi_total_retrans over the window); UDP:
  // datagrams sent whose echo never came back.
  uint64_t lost = 0;
  // The longest time without progress: TCP upload and UDP, between two arrivals; the idle
  // connection, from its send after the failover to the echo. Empty when it did not resume.
  std::optional<double> gap_ms;
  bool client_reset = false;  // the client's socket got a RST (ECONNRESET)
  bool server_reset = false;  // the real server's did
  bool resumed = false;       // progress after the event (the echo, for the idle connection)
  std::string detail;         // what else the sockets said (an error, an end of file)
};

// Where the flows go: the VIP's ports and the namespaces they run in.
struct FlowTargets {
  std::string client_netns;
  std::vector<std::string> server_netns;  // every real server: a flow lands on one of them
  std::string vip;
  // Where the UDP echo binds: a DR real server holds the VIP and must answer from it (an
  // unbound socket's answer leaves from its own address, which the client's connected socket
  // refuses); a NAT one does not hold it.
  std::string udp_bind = "0.0.0.0";
  uint16_t upload_port = 80, idle_port = 81, udp_port = 53;
};

class FlowSet {
 public:
  // Listens on every real server and connects the three flows through the VIP; throws when a
  // flow cannot be established within `setup` (the pair is not forwarding).
  FlowSet(const FlowTargets& targets, std::chrono::milliseconds setup = std::chrono::seconds(10));
  ~FlowSet();
  FlowSet(const FlowSet&) = delete;
  FlowSet& operator=(const FlowSet&) = delete;

  // Waits until the upload and the UDP flow have made progress after `since` (or until the
  // deadline); true when both did.
  bool progressed_since(Clock::time_point since, Clock::time_point deadline) const;
  // Whether each has either progressed after `since` or ended on an error.
  bool settled_since(Clock::time_point since) const;
  // The idle connection sends a request now and waits for its echo (or a reset) until the
  // deadline.
  void poke_idle(Clock::time_point deadline);
  // The client's end of each flow, "10.10.0.2:40312", as a director's connection listing
  // (ipvsadm -L -n -c) shows its source: whether a director has these flows, not others.
  std::vector<std::string> client_ends() const;
  // Stops the flows and reports each: gaps from `event` on (the kill, the pulled link); a flow
  // has resumed when it made progress after `moved` (the new master held the VIP).
  std::vector<FlowReport> finish(Clock::time_point event, Clock::time_point moved);

 private:
  struct Upload;
  struct Idle;
  struct Udp;
  std::unique_ptr<Upload> upload_;
  std::unique_ptr<Idle> idle_;
  std::unique_ptr<Udp> udp_;
  std::atomic<bool> stop_{false};
  std::thread upload_thread_, udp_thread_;
};

}  // namespace vslab::failover
