// The RX ring setups that vsd and vslab bench share: TPACKET_V2 (a slot per frame) and
// TPACKET_V3 (blocks).
#include "io/rx_ring.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vsd {
namespace {

[[noreturn]] void fail(const std::string& context, const char* what) {
  throw std::runtime_error(context + ": " + what + ": " + std::strerror(errno));
}

// A packet socket of the given TPACKET version that receives nothing yet: protocol 0 until
// bind_ring(), so no frame of another interface reaches the ring between its setup and the
// bind.
vslab::os::UniqueFd packet_socket(int version, const std::string& context) {
  vslab::os::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd) fail(context, "socket");
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(context, version == TPACKET_V3 ? "PACKET_VERSION 3" : "PACKET_VERSION 2");
  int one = 1;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)
    fail(context, "PACKET_IGNORE_OUTGOING");
  return fd;
}

void bind_ring(int fd, int ifindex, const std::string& context) {
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(context, "bind");
}

}  // namespace

RxRingSocket open_block_ring(int ifindex, const RxBlockRingShape& shape,
                             const std::string& context) {
  RxRingSocket rx;
  rx.fd = packet_socket(TPACKET_V3, context);
  const int fd = rx.fd.get();
  tpacket_req3 req{};
  req.tp_block_size = shape.block_bytes;
  req.tp_block_nr = shape.block_count;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = shape.block_bytes / 2048 * shape.block_count;
  req.tp_retire_blk_tov = shape.retire_ms;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
    fail(context, "PACKET_RX_RING");
  rx.ring = vslab::os::MemoryMap::shared(fd, std::size_t(shape.block_bytes) * shape.block_count);
  if (!rx.ring.data()) fail(context, "mmap RX ring");
  bind_ring(fd, ifindex, context);
  return rx;
}

RxFrameRing::RxFrameRing(int ifindex, uint32_t mtu, uint32_t slots, const std::string& context)
    : slot_bytes_(slot_bytes_for(mtu)) {
  socket_.fd = packet_socket(TPACKET_V2, context);
  const int fd = socket_.fd.get();
  tpacket_req req{};
  req.tp_frame_size = slot_bytes_;
  // Blocks of 128 KiB (or one slot): each is allocated as one piece of kernel memory.
  req.tp_block_size = std::max<uint32_t>(slot_bytes_, 1u << 17);
  const uint32_t per_block = req.tp_block_size / slot_bytes_;
  req.tp_block_nr = std::max<uint32_t>(1, (slots + per_block - 1) / per_block);
  req.tp_frame_nr = req.tp_block_nr * per_block;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
    fail(context, "PACKET_RX_RING");
  slots_ = req.tp_frame_nr;
  socket_.ring = vslab::os::MemoryMap::shared(fd, std::size_t(req.tp_block_size) * req.tp_block_nr);
  if (!socket_.ring.data()) fail(context, "mmap RX ring");
  map_ = socket_.ring.data();
  bind_ring(fd, ifindex, context);
}

RxFrameRing::~RxFrameRing() {
  socket_.ring.reset();
  socket_.fd.reset();
}

uint64_t RxFrameRing::take_drops() {
  tpacket_stats stats{};
  socklen_t length = sizeof stats;
  if (getsockopt(socket_.fd.get(), SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

}  // namespace vsd
