#include "io/flow_steering.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vsd {
namespace {

// Loads relative to the network header: the kernel hands the fanout program the frame with its
// data at the IP header, a socket filter with its data at the MAC header; SKF_NET_OFF reads the
// same bytes in both.
constexpr uint32_t net(uint32_t offset) {
  return uint32_t(SKF_NET_OFF) + offset;
}

constexpr uint16_t kIcmp = 1;
// The ICMP errors that quote a packet (RFC 792): unreachable, source quench, time exceeded,
// parameter problem.
constexpr uint32_t kQuotingTypes[] = {3, 4, 11, 12};

sock_filter op(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
  return sock_filter{code, jt, jf, k};
}

// Jumps patched once their targets are known: ja's 32-bit offset reaches anywhere.
struct Program {
  std::vector<sock_filter> code;
  std::vector<std::pair<std::size_t, int>> jumps;  // (index of a ja, label)
  std::vector<std::size_t> labels;

  void add(sock_filter f) { code.push_back(f); }
  void jump_to(int label) {
    jumps.emplace_back(code.size(), label);
    add(op(BPF_JMP | BPF_JA, 0));
  }
  void here(int label) {
    if (labels.size() <= std::size_t(label)) labels.resize(label + 1);
    labels[label] = code.size();
  }
  std::vector<sock_filter> finish() {
    for (auto [at, label] : jumps) code[at].k = uint32_t(labels[label] - at - 1);
    return std::move(code);
  }
};

enum Label : int { kNotIpv4, kKeyed, kByDestination, kAddresses, kDstPort, kSrcPort, kPortKeyed };

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

std::vector<sock_filter> steering_program(std::span<const uint32_t> server_side,
                                          std::span<const uint32_t> locals, uint32_t workers) {
  if (workers == 0 || workers > 65535)
    throw std::invalid_argument("steering: " + std::to_string(workers) + " workers");
  if (server_side.size() + 2 * locals.size() > kMaxSteeringAddresses)
    throw std::invalid_argument("steering: " + std::to_string(server_side.size()) + " + 2 x " +
                                std::to_string(locals.size()) +
                                " server-side and local addresses, at most " +
                                std::to_string(kMaxSteeringAddresses) + " fit the program");
  Program p;
  p.add(op(BPF_LD | BPF_H | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_PROTOCOL)));
  p.add(op(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 1, 0));
  p.jump_to(kNotIpv4);
  // X: where the addresses are read, past the network header. 0 for the packet itself.
  p.add(op(BPF_LDX | BPF_IMM, 0));
  p.add(op(BPF_LD | BPF_B | BPF_ABS, net(9)));
  p.add(op(BPF_JMP | BPF_JEQ | BPF_K, kIcmp, 1, 0));
  p.jump_to(kAddresses);
  // An ICMP error: X past the outer header and the 8 bytes of ICMP header, at the quote.
  p.add(op(BPF_LDX | BPF_B | BPF_MSH, net(0)));
  p.add(op(BPF_LD | BPF_B | BPF_IND, net(0)));
  // A match skips the other types' tests, the ldx and the ja.
  const uint8_t n = std::size(kQuotingTypes);
  for (uint8_t i = 0; i < n; ++i)
    p.add(op(BPF_JMP | BPF_JEQ | BPF_K, kQuotingTypes[i], uint8_t(n + 1 - i), 0));
  p.add(op(BPF_LDX | BPF_IMM, 0));  // an echo or the like: the packet's own addresses
  p.jump_to(kAddresses);
  p.add(op(BPF_MISC | BPF_TXA, 0));
  p.add(op(BPF_ALU | BPF_ADD | BPF_K, 8));
  p.add(op(BPF_MISC | BPF_TAX, 0));

  p.here(kAddresses);
  p.add(op(BPF_LD | BPF_W | BPF_IND, net(16)));  // the destination
  for (uint32_t address : locals) {
    p.add(op(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 1));
    p.jump_to(kDstPort);
  }
  p.add(op(BPF_LD | BPF_W | BPF_IND, net(12)));  // the source
  for (uint32_t address : locals) {
    p.add(op(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 1));
    p.jump_to(kSrcPort);
  }
  for (uint32_t address : server_side) {
    p.add(op(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 1));
    p.jump_to(kByDestination);
  }
  p.jump_to(kKeyed);
  p.here(kByDestination);
  p.add(op(BPF_LD | BPF_W | BPF_IND, net(16)));

  p.here(kKeyed);
  // worker_of_client, in 32-bit arithmetic as the C++ does it.
  p.add(op(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u));
  p.add(op(BPF_ALU | BPF_RSH | BPF_K, 16));
  p.add(op(BPF_ALU | BPF_MOD | BPF_K, workers));
  p.add(op(BPF_RET | BPF_A, 0));
  // A local port: X past the header at X (its IHL), then the port's 16 bits.
  auto past_header = [&p] {
    p.add(op(BPF_LD | BPF_B | BPF_IND, net(0)));
    p.add(op(BPF_ALU | BPF_AND | BPF_K, 0xf));
    p.add(op(BPF_ALU | BPF_LSH | BPF_K, 2));
    p.add(op(BPF_ALU | BPF_ADD | BPF_X, 0));
    p.add(op(BPF_MISC | BPF_TAX, 0));
  };
  p.here(kDstPort);
  past_header();
  p.add(op(BPF_LD | BPF_H | BPF_IND, net(2)));
  p.jump_to(kPortKeyed);
  p.here(kSrcPort);
  past_header();
  p.add(op(BPF_LD | BPF_H | BPF_IND, net(0)));
  p.here(kPortKeyed);
  p.add(op(BPF_ALU | BPF_MOD | BPF_K, workers));
  p.add(op(BPF_RET | BPF_A, 0));
  p.here(kNotIpv4);
  p.add(op(BPF_RET | BPF_K, 0));
  return p.finish();
}

namespace {

sock_fprog fprog_of(std::span<const sock_filter> program) {
  return sock_fprog{uint16_t(program.size()), const_cast<sock_filter*>(program.data())};
}

}  // namespace

// Rollover stays off: a frame goes to its owner or, its ring full, is dropped there, never to a
// worker without the flow's state.
uint16_t make_steered_fanout(int fd, std::span<const sock_filter> program) {
  const int arg = (PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) fail("PACKET_FANOUT");
  set_steering_program(fd, program);
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &got, &len) != 0) fail("PACKET_FANOUT (read)");
  return uint16_t(got & 0xffff);
}

void join_steered_fanout(int fd, uint16_t group) {
  const int arg = int(group) | (PACKET_FANOUT_CBPF << 16);
  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) != 0) fail("PACKET_FANOUT");
}

void set_steering_program(int fd, std::span<const sock_filter> program) {
  sock_fprog prog = fprog_of(program);
  if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0)
    fail("PACKET_FANOUT_DATA");
}

}  // namespace vsd
