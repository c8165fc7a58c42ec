// A mode's topology with the DUT in it, kept across the cells of that mode that one worker
// runs: each cell restores its own rules for a virtual port no earlier cell used, so it meets
// a director with no history for its service (no connections, counters, templates or
// scheduler state, also none of the kernel's "trash" destinations, which are found again by
// service address and port) without restarting the DUT, which an external box cannot do. So
// the matrix pays for one topology bring-up per mode and worker, not per cell.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "frames/sctp.h"
#include "matrix/cell.h"
#include "mode_bed.h"

namespace vslab::matrix {

class MatrixBed {
 public:
  // Throws dut::DutUnavailable when the DUT cannot run here.
  MatrixBed(Mode mode, std::unique_ptr<dut::Dut> dut);

  conformance::ModeBed& bed() { return *bed_; }
  Mode mode() const { return mode_; }

  // Moves the cell to a virtual port no cell of this bed has used.
  void fresh_service();
  uint16_t vport() const { return vport_; }

  // The service VIP:vport (-t or -u) with the row's scheduler and rs1..rs3 (added in that order,
  // so the scan order is rs3, rs2, rs1) with these weights and thresholds ("" for none), by
  // the mode's method; FULLNAT gets the topology's first local address.
  // With Family::Ipv6 the service is the topology's vip6 and the servers their IPv6 addresses,
  // written [addr]:port as ipvsadm takes them.
  std::string rules(Proto proto, std::string_view scheduler, const std::vector<int>& weights,
                    const std::string& service_options = "", const std::string& server_options = "",
                    Family family = Family::Ipv4) const;
  std::string rip(int rs) const { return bed_->rs(rs).ip; }
  // "-r RIP:rport METHOD", as -e and -d name rs`rs` (ipvsadm forces DR/TUN ports, so the
  // method must come with the address).
  // With Family::Ipv6, "-r [RIP6]:rport METHOD".
  std::vector<std::string> server_args(int rs, Family family = Family::Ipv4) const;
  // "VIP:vport" or "[VIP6]:vport", as -e, -d and -L name the service.
  std::string service_address(Family family) const;
  uint16_t rport() const;
  std::string lip() const;  // FULLNAT's local address

  // The IPv6 side of a dual-stack topology (bed_ipv6.cpp): the node's first IPv6 address, the
  // topology's vip6 and local_addresses6; each throws std::runtime_error where the topology
  // has none, which errs the cell with that reason.
  std::string ipv6_of(const std::string& role) const;
  std::string vip6() const;
  std::string lip6() const;
  // The client's frames to [vip6]:vport, hop limit 64; a segment from `client` (the client's own
  // IPv6 address when empty) as tcp_from_client's.
  Tins::EthernetII tcp6_from_client(uint8_t flags, uint16_t cport, uint32_t seq = 1000,
                                    const std::string& client = "", uint32_t ack = 0);
  Tins::EthernetII udp6_from_client(uint16_t cport, const std::string& payload);
  // tcp_from_client or tcp6_from_client, as `family` says.
  Tins::EthernetII tcp_in(Family family, uint8_t flags, uint16_t cport,
                          const std::string& client = "", uint32_t seq = 1000, uint32_t ack = 0);

  // Client ports never repeat within one bed, so no cell meets a connection of another.
  uint16_t next_client_port();
  // A segment or datagram from `client` (the client's own address when empty) to VIP:vport.
  Tins::EthernetII tcp_from_client(uint8_t flags, uint16_t cport, const std::string& client = "",
                                   uint32_t seq = 1000, uint32_t ack = 0);
  Tins::EthernetII udp_from_client(uint16_t cport, const std::string& payload);
  // An SCTP packet of one chunk of `chunk_type` (frames/sctp.h) from cport to VIP:vport; the
  // client's association uses initiate tag `tag`, the server's tag + 0x100.
  Tins::EthernetII sctp_from_client(uint16_t cport, uint8_t chunk_type, uint32_t tag = 0x1000);

  // What rs`rs` receives for a client frame the director forwards (spec 2, per method).
  expect::FrameExpectation at_real_server(const Tins::EthernetII& sent, int rs) const;
  // The real server that received `sent`, checked field by field (0 when none did in time).
  // A match joins the checker's journal as an expectation met, unless `journal` is false
  // (the caller then records what it expected itself).
  int server_reached(const Tins::EthernetII& sent, std::chrono::milliseconds timeout,
                     bool journal = true);

  // Returns once the director has dealt with every frame sent before: an echo request to the
  // VIP, which the director answers itself (spec 3), comes back, and the real servers' ports
  // have been read a little longer. A check that frames reached no server then needs one
  // short window for all of them instead of a long one each (a director handles one port's
  // frames in order). Throws when no answer comes. An IPv6 cell's echo goes to the vip6: its
  // rules may name no IPv4 service.
  void barrier(Family family = Family::Ipv4);

 private:
  expect::FrameExpectation dr_at_real_server(const Tins::EthernetII& sent, int rs) const;
  expect::FrameExpectation tun_at_real_server(const Tins::EthernetII& sent, int rs) const;
  expect::FrameExpectation fullnat_at_real_server(const Tins::EthernetII& sent, int rs) const;
  // at_real_server() of an IPv6 frame (bed_ipv6.cpp).
  expect::FrameExpectation at_real_server6(const Tins::EthernetII& sent, int rs) const;

  Mode mode_;
  std::unique_ptr<conformance::ModeBed> bed_;
  uint16_t next_port_ = 20000;
  std::set<std::string> other_clients_;  // source addresses given since the last barrier()
  uint16_t vport_ = 80;
};

}  // namespace vslab::matrix
