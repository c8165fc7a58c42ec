// The per-packet path of vsd, as a few named stages over each frame a port delivers:
// classify -> (ARP | ICMP error | to a VIP | reply from a real server | to the director |
// routed) -> the connection's forwarder (fwd/forwarder.h, bound when the connection was made)
// -> queue on the egress port. What the stages know of a frame travels with it (InFlight). It owns
// the connection table, the services, the ARP cache and the counters; the control thread reaches
// them only between two batches, through the ControlTarget interface run by a CallQueue
// (vsd/control_bridge.h). A template over the port type (io/port.h): vsd runs Dataplane, on
// AF_PACKET rings; the benchmarks run MemoryDataplane. Both are instantiated in dataplane.cpp, and
// a new kind of port is one more line there.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/sysctl.h"
#include "conn/clock.h"
#include "conn/defence.h"
#include "conn/table.h"
#include "conn/table6.h"
#include "ctl/protocol.h"
#include "fwd/elements.h"
#include "fwd/forwarder.h"
#include "fwd/ipv6.h"
#include "fwd/packet.h"
#include "fwd/reassembly.h"
#include "io/host_addresses.h"
#include "io/memory_port.h"
#include "io/neighbours.h"
#include "io/neighbours6.h"
#include "io/packet_socket.h"
#include "io/port.h"
#include "io/routes.h"
#include "net/ip6.h"
#include "net/source_address6.h"
#include "sync/master_tracker.h"
#include "sync/message.h"
#include "vsd/services.h"

namespace vsd {

// Why a frame went nowhere, beyond what classify() already counts.
enum class Discard : uint8_t {
  NotIpv4,
  Fragment,         // refused by reassembly (counted there per reason too)
  NoService,        // to a VIP port no service serves (answered as the kernel would)
  NoDestination,    // the scheduler found no available destination
  TableFull,        // the connection table had no room: dropped silently
  NoLocalPort,      // FULLNAT found no free local port: dropped silently
  DestinationGone,  // the connection's destination was deleted
  NoRoute,          // nowhere to send it
  TtlExpired,       // answered with time exceeded
  NotForUs,         // to the director's own address, not answered
  TxFailed,         // the egress ring was full
  ArpNotOnLink,     // ARP from a sender the port does not reach directly: nothing learnt
  Ipv6Unsupported,  // IPv6 to an IPv6 VIP that vsd has no IPv6 path for (persistence, an
                    // extension header chain the walk refuses): dropped and counted
  IcmpChecksum,     // an ICMP error about a connection with a bad checksum
  NoCallId,         // --pe sip: no Call-ID the kernel's engine would take, dropped as it does
  NotScheduled,     // SCTP of no connection that does not start one (not an INIT)
  DropPacket,       // a new connection's packet dropped by net.ipv4.vs.drop_packet
  Count,
};

// A rule set made ready for the data plane off its thread (BasicDataplane::prepare): the
// services' plan, and what the data plane derives from the rules (the addresses it answers
// ARP for, the real servers to resolve). commit() hands back here what it replaced, so that
// it is freed by the thread that prepared it.
struct PreparedInstall {
  PreparedServices services;
  Timeouts timeouts;
  std::unordered_map<uint32_t, std::size_t> owned;    // address -> the port it is answered on
  std::vector<std::pair<std::size_t, Ipv4>> resolve;  // (port, next hop) of changed services
  std::map<Ip6, std::size_t> owned6;                  // IPv6 VIP -> the port it is answered on
  std::vector<std::pair<std::size_t, Ip6>> resolve6;  // as resolve, for IPv6 real servers
};

template <DataPort Port>
class BasicDataplane final : public ctl::ControlTarget {
 public:
  // `table` sizes the connection table (vsd: the default, 2^20 entries).
  BasicDataplane(std::vector<std::unique_ptr<Port>>& ports, RoutingTable routes,
                 const Clock& clock = default_clock(), const fwd::ReassemblyLimits& reassembly = {},
                 const ConnTableConfig& table = {});
  static const Clock& default_clock();

  // vlan_tagged: the kernel took an 802.1Q tag off the frame; vsd serves untagged ports.
  void handle(std::size_t port, std::span<uint8_t> frame, bool vlan_tagged = false);
  // Starts loading what a frame's handle() will read in the connection table, one LookAhead
  // stage (io/port.h) a call. Bucket: tells from the addresses which lookups handle() will
  // make, as handle_ipv4 orders them, hashes their keys once and starts loading their
  // buckets, remembering both by the frame's address. Entry: the entries those buckets point
  // to, no hashing. Chain: the second entry of a chain whose first is another connection's
  // (a full table averages 1.5 entries a lookup). handle() then hands the buckets to its
  // lookups, which check the key first. Reads the frame with fwd::peek_ipv4, the lenient
  // parse of an ICMP quote, not classify(): a look-ahead is a guess, which handle() checks
  // (the frame may have changed in between); anything without ports is left alone. handle() without
  // it behaves the same, only without the head start.
  void prefetch(std::span<const uint8_t> frame, LookAhead stage);
  void flush();
  void tick();
  int next_timer_ms() const { return 100; }
  // name -> value, every counter the data plane keeps.
  std::vector<std::pair<std::string, uint64_t>> counters() const override;

  // ctl::ControlTarget
  RuleSet rules() const override { return services_.rules(); }
  std::shared_ptr<const RuleSet> rules_ptr() const { return services_.rules_ptr(); }
  // prepare() then commit(), on this thread.
  std::string install(const RuleSet& next) override;
  // install's halves: prepare() may run on another thread while the data plane forwards, as
  // long as no commit() runs meanwhile (Services::prepare); commit() runs on the data plane
  // and costs it what changed, not what the rules hold.
  PreparedInstall prepare(const RuleSet& next) const;
  std::string commit(PreparedInstall& plan);
  DirectorState state() const override;
  DirectorState summary() const override;
  // A chunk of at most kListingChunk entries, or kListingSlots slots looked at: well under a
  // millisecond between two batches.
  std::size_t connections(std::size_t from, std::vector<ConnectionEntry>& out) const override;
  static constexpr std::size_t kListingChunk = 4096;
  static constexpr std::size_t kListingSlots = 65536;
  void zero(const std::optional<ServiceKey>& which) override { services_.zero(which); }
  // The net.ipv4.vs.* settings (config/sysctl.h), read per packet as plain fields: at their
  // defaults they cost the fast path nothing it did not do before. Taken between two batches.
  void set_sysctls(const Sysctls& s) {
    const bool modes_changed = s.drop_entry != sysctls_.drop_entry ||
                               s.drop_packet != sysctls_.drop_packet ||
                               s.secure_tcp != sysctls_.secure_tcp;
    sysctls_ = s;
    // proc_do_defense_mode: a mode written with a new value is applied at once.
    if (modes_changed) update_defence();
    services_.set_locality_expiration(int64_t{s.lblc_expiration} * 1000,
                                      int64_t{s.lblcr_expiration} * 1000);
    if (sync_master_) sync_master_->set_rules(sync_rules());
  }
  // Where the defence modes at 1 or 2 read the available memory (pages); the host's by
  // default (conn/defence.h available_pages). For tests.
  void set_memory_source(std::function<std::optional<int64_t>()> source) {
    memory_source_ = std::move(source);
  }
  Sysctls sysctls() const override { return sysctls_; }
  std::string set_sysctl(std::string_view name, std::string_view value) override {
    Sysctls next = sysctls_;
    std::string error = vsd::set_sysctl(next, name, value);
    if (error.empty()) set_sysctls(next);
    return error;
  }
  // net.ipv4.vs.sloppy_tcp: a TCP segment of a flow with no connection creates one, SYN or
  // not (a RST never does). Directors behind ECMP need it: when the router's hash moves a flow
  // to another director, its next segment is mid-connection there.
  void set_sloppy_tcp(bool on) { sysctls_.sloppy_tcp = on; }

  // The exception path: what goes to these addresses and is no service is the namespace's
  // kernel's to answer (ARP, echo, its other ports). Empty (the default): vsd answers for its
  // ports' addresses itself, as with no kernel behind it.
  void set_host_addresses(HostAddresses host) { host_ = std::move(host); }
  // A VIP is the director's only while the host holds it (`vsd --vips-follow-host`: keepalived
  // adds and removes it): vsd then answers ARP and echo for no address at all, and the kernel
  // answers for what the host holds, so a backup that does not hold the VIP stays silent.
  void set_vips_follow_host(bool on) { vips_follow_host_ = on; }
  // With more than one worker (vsd --workers), every worker learns from every ARP frame, and
  // only one answers: off for the others.
  void set_answers_arp(bool on) { answers_arp_ = on; }
  // Worker `worker` of `workers`: FULLNAT local ports of its own class (io/flow_steering.h).
  void set_worker(uint16_t worker, uint16_t workers) {
    conns_.set_local_port_class(worker, workers);
  }
  // With more than one worker: schedule from the state all share (vsd/shared_scheduling.h);
  // the leader (worker 0) takes every install first. Before the first install.
  void share_scheduling(SharedScheduling* shared, bool leader) { services_.share(shared, leader); }

  // --- connection synchronization (sync/, vsd/sync_daemons.h) ------------------------------
  // Master on: each client packet applies the kernel's send rules (sync/master_tracker.h) and
  // what is to be sent waits here for take_sync(); off: nothing is kept. Costs side tables of
  // 16 bytes per entry of both connection tables while on.
  // Installs the tracker (made off this thread for the table's capacity()) or, with nullptr,
  // stops; returns the one it replaced, to be freed by the caller.
  std::unique_ptr<sync::MasterTracker> swap_sync_master(std::unique_ptr<sync::MasterTracker> next);
  std::size_t table_capacity() const { return conns_.capacity(); }
  std::size_t table6_capacity() const { return conns6_.capacity(); }
  sync::SendRules sync_rules() const {
    return {uint32_t(sysctls_.sync_threshold),
            uint32_t(sysctls_.sync_period),
            uint32_t(std::max(sysctls_.sync_refresh_period, 0)) * 1000u,
            uint32_t(sysctls_.sync_retries),
            sysctls_.sync_persist_mode != 0,
            uint8_t(sysctls_.sync_version)};
  }
  // A backup daemon runs (vsd/sync_daemons.h): with backup_only set, vsd then serves no
  // virtual service (sysctl_backup_only: ip_vs_in passes every packet to the stack).
  void set_sync_backup_running(bool on) { sync_backup_running_ = on; }
  bool backup_only_now() const { return sysctls_.backup_only && sync_backup_running_; }
  // Moves what waits to be sent into out (which it clears first).
  void take_sync(std::vector<sync::SyncConn>& out);
  // Backup: entries from a decoded message, in order, as ip_vs_proc_conn applies them.
  void apply_sync(std::span<const sync::SyncConn> conns);
  // What waits for take_sync() (every 20 ms) at most; past it entries are dropped and counted.
  // The master's own queues then count messages against sync_qlen_max (sync/send_queues.h).
  static constexpr std::size_t kSyncQueueMax = 1u << 16;

 private:
  struct Egress {
    std::size_t port = 0;
    Ipv4 next_hop;
  };

  // The lookups prefetch() worked out for a frame. A hint made for no key, or for another
  // frame's, only costs its lookup a compare.
  struct Hints {
    ConnTable::Hint in, out;
  };
  // The same for an IPv6 frame, in the slot of the same number (look_ahead_hints6_): kept
  // apart so that an IPv4 frame carries only its own along its stages.
  struct Hints6 {
    Conn6Table::Hint in, out;
  };
  // Frames between their first look-ahead and their handle(): the Bucket stage's distance
  // + 1 in a drain.
  static constexpr std::size_t kLookAheadSlots = 8;
  static_assert(kLookAheadSlots > kLookAheadDistance[std::size_t(LookAhead::Bucket)]);
  // The hints prefetch() left for this frame, the newest first; nothing if none.
  Hints* look_ahead_for(const uint8_t* frame);
  // The same, taken: its slot is free for another frame (the hints stay readable until the
  // next look-ahead).
  Hints* take_look_ahead(const uint8_t* frame);
  const Hints6* hints6_of(const Hints* ahead) const {
    return ahead ? &look_ahead_hints6_[std::size_t(ahead - look_ahead_hints_.data())] : nullptr;
  }
  // prefetch()'s Bucket stage for an IPv6 frame: as handle_ipv6 looks up, a VIP's packet from
  // the client, any other as a reply.
  void prefetch_ipv6(std::span<const uint8_t> frame);

  // An IPv4 frame on its way through the stages: where it came in, what classify() made of
  // it, and what the stages learnt of it, passed along rather than kept in members.
  struct InFlight {
    std::size_t port = 0;  // the ingress port
    std::span<uint8_t> frame;
    const fwd::PacketView& packet;
    Hints hints;  // the lookups prefetch() started for it
    // A reassembled datagram: the size to cut it at again on output (the largest fragment it
    // arrived in, spec section 3); 0 otherwise.
    uint16_t refragment_at = 0;
  };

  // The stages, in the order a frame meets them.
  void handle_arp(std::size_t port, std::span<uint8_t> frame);
  // --- the IPv6 stages (dataplane_ipv6.cpp), beside IPv4's and never on its path ----------
  // Neighbour discovery for the IPv6 VIPs, echo to them, and NAT and DR for IPv6 services:
  // classify() leaves an IPv6 frame as NotIpv4, and only then does it come here.
  void handle_ipv6(std::size_t port, std::span<uint8_t> frame, const Hints6* ahead);
  void handle_neighbour_discovery(std::size_t port, std::span<uint8_t> frame,
                                  const fwd::Packet6& p);
  void handle_to_vip6(std::size_t port, std::span<uint8_t> frame, const fwd::Packet6& p,
                      const Conn6Table::Hint* hint);
  void handle_reply6(std::span<uint8_t> frame, const fwd::Packet6& p, Conn6& conn);
  // nf_defrag_ipv6 before IPVS: fragments are gathered, the whole datagram takes the path a
  // packet that came whole takes, then leaves cut again (refragment6_).
  void handle_fragment6(std::size_t port, std::span<const uint8_t> frame, const fwd::Packet6& p);
  void reassembly6_timed_out(std::span<const uint8_t> first_fragment);
  struct Egress6 {
    std::size_t port = 0;
    Ip6 next_hop{};
  };
  std::optional<Egress6> egress6_to(const Ip6& destination) const;
  void emit6(const Egress6& egress, std::span<uint8_t> frame);
  // emit6 for a reassembled datagram: each fragment ip6_fragment would cut it into, sent on.
  void emit6_fragmented(const Egress6& egress, std::span<uint8_t> frame);
  // TUN over IPv6 (dataplane_tun6.cpp): the packet in ip6ip6 towards its real server (true),
  // or a Packet Too Big back out of the ingress port when the tunnel cannot carry it.
  bool tunnel6(std::size_t port, std::span<const uint8_t> frame, const fwd::Packet6& p,
               const Ip6& real_server, const Egress6& egress);
  // FULLNAT over IPv6 (dataplane_fullnat6.cpp): a local address of the service's IPv6 pool, in
  // turn per destination, and a port on it that no connection to the real server uses.
  std::optional<Endpoint6> allocate_local6(const ServiceRuntime& svc, DestHandle dest, Proto proto,
                                           const Endpoint6& real_server);
  // Persistence over IPv6 (ip_vs_sched_persist): the destination of the client's live
  // template, or the scheduler's, remembered in a new template (tmpl: the template the
  // connection is to depend on). Nothing when no destination is available, or (no_room)
  // when the table had no room for the template.
  std::optional<DestHandle> choose_persistent6(ServiceRuntime& svc, const fwd::Packet6& p,
                                               const FlowKey& flow, Conn6*& tmpl, bool& no_room);
  void send_solicits();
  std::vector<std::pair<std::string, uint64_t>> ipv6_counters() const;
  // IPv6 of no service and no connection (dataplane_route6.cpp): the kernel's when it is for
  // the director itself, else routed as ip6_forward routes it.
  void route6(std::size_t port, std::span<uint8_t> frame, const fwd::Packet6& p);
  bool is_host_address6(const Ip6& a) const;
  // ICMPv6 (dataplane_icmp6.cpp): the director's own errors and resets from the VIP, and the
  // errors about a connection passed on (ip_vs_in_icmp_v6, ip_vs_out_icmp_v6).
  void send_icmp6_error(std::size_t port, std::span<const uint8_t> frame, const fwd::Packet6& p,
                        uint8_t type, uint8_t code);
  // What the stack answers a packet to a VIP that IPVS does not take: a RST for TCP when
  // `reset`, else port unreachable.
  void refuse6(std::size_t port, std::span<const uint8_t> frame, const fwd::Packet6& p, bool reset);
  void handle_icmp6_error_to_vip(std::size_t port, std::span<uint8_t> frame, const fwd::Packet6& p);
  // False: not an error about a NAT or FULLNAT connection, left to the rest of the IPv6 path.
  bool handle_icmp6_error_from_server(std::span<uint8_t> frame, const fwd::Packet6& p);
  void handle_ipv4(InFlight& f);
  void handle_fragment(const InFlight& f);
  void reassembly_timed_out(std::span<const uint8_t> first_fragment);
  bool handle_icmp_error(InFlight& f);
  void handle_to_vip(InFlight& f);
  bool handle_marked(InFlight& f);
  void serve(InFlight& f, ServiceRuntime& svc, Conn* conn, bool to_vip);
  // What ip_vs_in does with a client packet's connection before anything else: keep it, or
  // (expire_nodest_conn, conn_reuse_mode) expire it so that the packet is scheduled as a new
  // flow, or drop the packet (its server was deleted). Returns the connection to go on with.
  enum class Existing : uint8_t { Keep, Reschedule, Drop };
  Existing existing_fate(const Conn& conn, const fwd::PacketView& p,
                         std::span<const uint8_t> frame);
  // False: drop the packet. Otherwise conn is the connection to go on with, or nullptr when
  // the packet is to be scheduled as new (the old entry expires).
  bool keep_existing(Conn*& conn, const fwd::PacketView& p, std::span<const uint8_t> frame) {
    switch (existing_fate(*conn, p, frame)) {
      case Existing::Keep:
        return true;
      case Existing::Reschedule:
        conns_.expire_now(*conn, now_ms_);
        conn = nullptr;
        return true;
      case Existing::Drop:
        return false;
    }
    return true;
  }
  // expire_nodest_conn: the connections of deleted servers go at once (ip_vs_conn.c
  // ip_vs_expire_nodest_conn_flush, run when a server is deleted).
  void expire_deleted_destinations();
  // nat_icmp_send: a packet from a NAT real server that no connection claims; true: answered.
  bool refuse_unclaimed_from_server(InFlight& f);
  bool start_from_server(InFlight& f);
  void handle_reply(InFlight& f, Conn& conn);
  // A packet's state transition and timeout restart, by its protocol's state machine.
  void advance(Conn& conn, PacketFrom from, const InFlight& f);
  void handle_to_director(InFlight& f);
  void route(InFlight& f);

  // A new connection, in named steps: a destination (by the persistence template, or the
  // scheduler), the real server's port, FULLNAT's local address and port, then the entry.
  struct Choice {
    DestHandle dest = 0;
    Conn* persistence_template = nullptr;
  };
  // Why no connection was made. No destination is the client's to hear (port unreachable, as
  // ip_vs_leave answers); no room (the table, FULLNAT's local ports) is answered with nothing,
  // as the kernel drops when it cannot allocate: a flood's spoofed sources would hear it.
  // NoDestination is answered (port unreachable); the others are silent drops.
  enum class Refusal : uint8_t { NoDestination, NoRoom, NoPeData, Defence };
  // udp_payload: a datagram's whole payload, which --pe sip reads (nullopt: none to read).
  Conn* create_connection(ServiceRuntime& svc, const FlowKey& flow,
                          std::optional<std::span<const uint8_t>> udp_payload, Refusal& why);
  // schedule_icmp: an ICMP error from the client's side about a flow with no connection is
  // scheduled as the flow's packet would be (ip_vs_in_icmp); nullptr when it is not.
  Conn* schedule_for_icmp(const InFlight& f, const fwd::QuotedPacket& about);
  std::optional<Choice> choose_destination(ServiceRuntime& svc, const FlowKey& flow);
  // pe_data: what the service's persistence engine keys the template by (empty: none).
  std::optional<Choice> choose_persistent(ServiceRuntime& svc, const FlowKey& flow,
                                          std::string_view pe_data, Refusal& why);
  std::optional<Endpoint> allocate_local(const ServiceRuntime& svc, DestHandle dest, Proto proto,
                                         Endpoint real_server);
  // ip_vs_check_template: whether a template's destination may still take the client's new
  // connections (not deleted; not at weight 0 with expire_quiescent_template on).
  bool template_serves(DestHandle dest);

  // Through the connection's forwarder (fwd/forwarder.h), bound when it was made.
  void to_real_server(InFlight& f, Conn& conn);
  // An ICMP error from the real server's side, quoting `about`; false: not the connection's
  // method's to relay.
  bool relay_from_server(InFlight& f, Conn& conn, const fwd::QuotedPacket& about,
                         fwd::ServerErrors quoting);
  // An ICMP error from the client's side.
  void relay_to_server(InFlight& f, Conn& conn);
  // Does what the forwarder said: send on the egress port, answer, or count. The usual case,
  // the frame rewritten in place, costs no call of its own.
  void send(const InFlight& f, const Egress& egress, fwd::Sent sent) {
    if (sent.what == fwd::Xmit::Frame) return emit(egress, f.frame, f.refragment_at);
    send_otherwise(f, egress, sent);
  }
  void send_otherwise(const InFlight& f, const Egress& egress, fwd::Sent sent);

  void answer(std::size_t port, std::size_t length);  // scratch_ back out of the ingress port
  std::optional<Egress> egress_to(Ipv4 destination) const;
  // The port's own MAC as source; emit() fills in the destination. Kept, not built per frame.
  const fwd::EthAddrs& eth_from(std::size_t port) const { return port_links_[port].eth; }
  fwd::Workspace workspace() { return {scratch_, ip_id_, sysctls_.pmtu_disc != 0}; }
  // Fills in the next hop's MAC and queues the frame, cut at refragment_at (or the MTU) first
  // when longer, or parks it until ARP answers.
  void emit(const Egress& egress, std::span<uint8_t> frame, uint16_t refragment_at);
  // Queues the frame on the egress port, cut into fragments of `size` bytes of IP first.
  void queue_fragmented(std::size_t port, std::span<uint8_t> frame, uint16_t size);
  void send_arp_requests();
  void count(Discard d) { discards_[std::size_t(d)]++; }
  // The master's share of a client packet; a branch when no master runs.
  void note_for_sync(const ServiceRuntime& svc, const Conn& conn) {
    if (sync_master_) note_for_sync_slow(svc, conn);
  }
  void note_for_sync_slow(const ServiceRuntime& svc, const Conn& conn);
  void sync_new_entry(const Conn& conn) {
    if (sync_master_) sync_master_->on_new(conns_.slot_of(conn), now_ms_);
  }
  void note_for_sync6(const ServiceRuntime& svc, const Conn6& conn) {
    if (sync_master_) note_for_sync6_slow(svc, conn);
  }
  void note_for_sync6_slow(const ServiceRuntime& svc, const Conn6& conn);
  // What the tracker appended past `before` is counted, and cut at kSyncQueueMax.
  void count_sync_queued(std::size_t before);
  void sync_new_entry6(const Conn6& conn) {
    if (sync_master_) sync_master_->on_new6(conns6_.slot_of(conn), now_ms_);
  }
  // One entry of a sync message; false: skipped (counted by the caller).
  bool apply_synced_entry(const sync::SyncConn& s);
  bool apply_synced_entry6(const sync::SyncConn& s);
  bool apply_synced_template6(const sync::SyncConn& s);
  std::optional<DestHandle> synced_destination6(const sync::SyncConn& s);
  std::optional<DestHandle> synced_destination(const sync::SyncConn& s, ServiceRuntime*& svc);
  bool owns(std::size_t port, Ipv4 address) const;

  std::vector<std::unique_ptr<Port>>& ports_;
  RoutingTable routes_;
  std::vector<std::optional<Ipv4>> port_address_;
  // Each port as a forwarder sees it (MAC, MTU, address): kept, not built per frame.
  std::vector<fwd::Link> port_links_;
  std::unordered_map<std::string, std::size_t> port_by_name_;
  // The namespace's routes through our ports, longest prefix first, resolved to port indices
  // once, so a per-packet lookup neither hashes a name nor allocates.
  struct PortRoute {
    Ipv4 destination, mask, gateway;
    uint32_t metric = 0;
    std::size_t port = 0;
  };
  std::vector<PortRoute> port_routes_;
  const Clock& clock_;
  uint64_t now_ms_ = 0;
  uint64_t last_estimate_ms_ = 0;
  // The defence modes (net.ipv4.vs.drop_entry, drop_packet, secure_tcp), worked out every
  // Defence::kPeriodMs in tick() and when a mode changes.
  void update_defence();
  Defence defence_;
  uint64_t next_defence_ms_ = 0;
  std::function<std::optional<int64_t>()> memory_source_ = available_pages;
  std::mt19937 drop_entry_random_{std::random_device{}()};
  ConnTable conns_;
  Services services_;
  // Found again by the frame's address: frames stay where they are in the RX ring while a
  // drain runs, and a slot is cleared when its frame is handled.
  std::array<const uint8_t*, kLookAheadSlots> look_ahead_frames_{};
  std::array<Hints, kLookAheadSlots> look_ahead_hints_{};
  std::array<Hints6, kLookAheadSlots> look_ahead_hints6_{};
  std::size_t look_ahead_next_ = 0;
  NeighbourTable neighbours_;
  // The IPv6 side: its connections, neighbours, routes through our ports and VIPs.
  Conn6Table conns6_;
  Neighbour6Table neighbours6_;
  std::vector<Neighbour6Table::Solicit> solicits_;
  std::vector<Neighbour6Table::Parked> released6_;
  struct PortRoute6 {
    Ip6 destination{};
    int prefix = 0;
    Ip6 gateway{};
    uint32_t metric = 0;
    std::size_t port = 0;
    Prefix6 match;         // destination/prefix as egress6_to tests it per packet
    bool on_link = false;  // no gateway: the destination is its own next hop
  };
  std::vector<PortRoute6> port_routes6_;           // longest prefix first
  std::vector<std::optional<Ip6>> port_address6_;  // each port's first global IPv6 address
  std::map<Ip6, std::size_t> owned6_;              // IPv6 VIPs and the port each is answered on
  // Per port, what an IPv6 packet vsd originates may leave from (net/source_address6.h),
  // newest first as Linux lists an interface's addresses: the VIPs it answers for (a kernel
  // director adds its VIP after the interface's own addresses), then the port's addresses in
  // the order the host lists them (getifaddrs: the kernel's order).
  std::vector<std::vector<SourceCandidate6>> source_candidates6_;
  struct Ipv6Counters {
    uint64_t to_real_server = 0;  // client packets forwarded (NAT, DR, TUN)
    uint64_t to_client = 0;       // NAT replies forwarded
    uint64_t nd_answered = 0;     // advertisements sent for a VIP
    uint64_t echo_answered = 0;   // echo replies from a VIP
    uint64_t no_service = 0;      // to a VIP port no service serves
    uint64_t no_destination = 0;  // the scheduler found none available
    uint64_t hop_limit = 0;       // would leave with hop limit 0: dropped
    uint64_t no_route = 0;        // no route to the real server or the client
    uint64_t table_full = 0;      // no room for a new connection
    uint64_t not_first = 0;       // TCP without SYN and no connection: dropped
    uint64_t host = 0;            // the host's own IPv6, left to its kernel
    uint64_t tunnelled = 0;       // client packets sent in ip6ip6 (TUN)
    uint64_t too_big = 0;         // answered with Packet Too Big: past the tunnel's MTU
    uint64_t narrow_tunnel = 0;   // dropped: the tunnel's MTU is below IPv6's 1280
    uint64_t no_local_port = 0;   // FULLNAT: no local address, or no free port on any
    uint64_t errors_sent = 0;     // ICMPv6 errors from a VIP (hop limit, port unreachable)
    uint64_t resets_sent = 0;     // RSTs from a VIP:port no service or connection takes
    uint64_t errors_relayed = 0;  // ICMPv6 errors about a connection passed on
    uint64_t fragments_sent = 0;  // fragments of reassembled datagrams sent on
    uint64_t routed = 0;          // of no service: forwarded as a router (dataplane_route6.cpp)
  } ipv6_;
  fwd::Reassembler reassembler_;
  fwd::Reassembler reassembler6_{fwd::kReassemblyLimits6};
  // While a reassembled IPv6 datagram goes through the stages: the largest fragment it came
  // in (IP6CB's frag_max_size), which emit6 cuts it at again; 0 for a packet that came whole.
  uint16_t refragment6_ = 0;
  // ip6_fragment takes a fresh identification for each datagram it cuts (ipv6_select_ident);
  // a counter from a random start gives each one its own.
  uint32_t fragment_id6_ = 0;
  // Addresses the director answers ARP for, with the port they live behind: its own, the
  // VIPs and the FULLNAT local addresses.
  std::unordered_map<uint32_t, std::size_t> owned_;
  HostAddresses host_;
  bool vips_follow_host_ = false;
  bool answers_arp_ = true;
  std::vector<NeighbourTable::Request> arp_requests_;
  std::vector<NeighbourTable::Parked> released_;
  std::array<uint64_t, fwd::kDropReasonCount> drops_{};
  std::array<uint64_t, std::size_t(Discard::Count)> discards_{};
  std::unordered_map<uint32_t, std::size_t> laddr_cursor_;
  std::unordered_map<uint32_t, std::size_t> laddr6_cursor_;
  std::unique_ptr<sync::MasterTracker> sync_master_;
  std::vector<sync::SyncConn> sync_out_;
  bool sync_backup_running_ = false;
  struct SyncCounters {
    uint64_t queued = 0;      // entries noted for sending
    uint64_t queue_full = 0;  // dropped: kSyncQueueMax waiting
    uint64_t received = 0;    // entries applied or skipped on a backup
    uint64_t created = 0;     // entries a backup made
    uint64_t updated = 0;     // entries a backup already had
    uint64_t ignored = 0;     // an inactive entry's message for a replaced connection
    uint64_t skipped = 0;     // protocol, state, destination or persistence engine unknown
    uint64_t table_full = 0;  // no room for a new one
  } sync_counters_;
  uint16_t ip_id_ = 1;
  Sysctls sysctls_;
  alignas(64) std::array<uint8_t, 65536 + 128> scratch_{};
  // Room for a 65535-byte datagram cut at 576 bytes (the smallest size IPv4 guarantees).
  alignas(64) std::array<uint8_t, 2 * 65536> fragment_{};
};

extern template class BasicDataplane<PacketSocket>;
extern template class BasicDataplane<MemoryPort>;
using Dataplane = BasicDataplane<PacketSocket>;
using MemoryDataplane = BasicDataplane<MemoryPort>;

}  // namespace vsd
