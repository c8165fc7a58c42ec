// open_rx_ring: the TPACKET_V3 RX ring setup that vsd and vslab bench share.
#include "io/rx_ring.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vsd {
namespace {

[[noreturn]] void fail(const std::string& context, const char* what) {
  throw std::runtime_error(context + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

RxRingSocket open_rx_ring(int ifindex, const RxRingShape& shape, const std::string& context) {
  RxRingSocket rx;
  // Protocol 0: nothing is received until the bind below, so no frame of another interface
  // reaches the ring between its setup and the bind.
  rx.fd.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!rx.fd) fail(context, "socket");
  const int fd = rx.fd.get();
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(context, "PACKET_VERSION 3");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)
    fail(context, "PACKET_IGNORE_OUTGOING");
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
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(context, "bind");
  return rx;
}

}  // namespace vsd
