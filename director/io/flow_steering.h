// Which worker a frame belongs to when vsd spreads flows over several threads (docs/design.md,
// "More than one core"): a classic BPF program for a PACKET_FANOUT_CBPF group, so the kernel
// hands each frame to the worker that owns its flow's state and no worker ever reads or writes
// another's connection table.
//
// A flow is owned by its client's address: the source of a packet from the client side, the
// destination of a reply from a real server. The program tells the two apart by the director's
// server-side addresses (VIPs, real servers, FULLNAT local addresses): a packet from one of them
// is keyed by its destination, any other by its source. An ICMP error is keyed the same way by
// the packet it quotes, whose direction is the reverse of the error's: an error about a packet
// to a real server quotes the client as source, one about a reply to the client quotes the VIP
// as source and the client as destination. The address alone, not the port: every fragment of a
// datagram carries it (ports ride in the first only), and a persistence template (keyed by the
// client's address) sits with all its connections.
//
// FULLNAT replies come to a local address and port, not to the client: worker w gives its
// connections only local ports with lport % N == w (ConnTable::set_local_port_class), and the
// program sends a packet to a local address by its destination port, and an ICMP error quoting
// a packet from a local address by the quote's source port. A fragment of such a reply after
// the first carries no port: it goes where its bytes at the port's place say (FULLNAT replies
// are rarely fragmented; the real server's path MTU is the director's).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <vector>

namespace vsd {

// The worker of a client address (host order) among `workers`: what the program computes.
constexpr uint32_t worker_of_client(uint32_t client, uint32_t workers) {
  return ((client * 0x9e3779b1u) >> 16) % workers;
}

// Two instructions per address (four per local address): past this many the program would not
// fit BPF_MAXINSNS.
constexpr std::size_t kMaxSteeringAddresses = 2000;

// The program for `workers` workers (1 to 65535), the server-side addresses and the FULLNAT
// local addresses among them (host order; server_side + 2 * locals at most
// kMaxSteeringAddresses, else std::invalid_argument). A frame that is not IPv4, or too short
// for what it is read at, goes to worker 0.
std::vector<sock_filter> steering_program(std::span<const uint32_t> server_side,
                                          std::span<const uint32_t> locals, uint32_t workers);

// Makes a fanout group of an AF_PACKET socket (bound to its interface), with an id the kernel
// picks unused in the namespace, steered by `program`; returns the id, for the other workers'
// sockets to join it. Throws std::runtime_error.
uint16_t make_steered_fanout(int fd, std::span<const sock_filter> program);
// Joins a socket (bound to the same interface) to the group.
void join_steered_fanout(int fd, uint16_t group);
// Replaces the group's program (through any member's socket): a rule change that adds or
// removes a server-side address. Throws std::runtime_error.
void set_steering_program(int fd, std::span<const sock_filter> program);

}  // namespace vsd
