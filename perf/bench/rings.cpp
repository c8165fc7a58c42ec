#include "bench/rings.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vslab::bench {
namespace {

[[noreturn]] void fail(const std::string& ifname, const char* what) {
  throw std::runtime_error(ifname + ": " + what + ": " + std::strerror(errno));
}

void bind_to(int fd, const std::string& ifname, uint16_t protocol) {
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = protocol;
  addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (addr.sll_ifindex == 0) fail(ifname, "if_nametoindex");
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail(ifname, "bind");
}

}  // namespace

vsd::Mac interface_mac(const std::string& ifname) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(fd, SIOCGIFHWADDR, &req);
  close(fd);
  if (rc != 0) fail(ifname, "SIOCGIFHWADDR");
  vsd::Mac mac;
  std::memcpy(mac.bytes.data(), req.ifr_hwaddr.sa_data, 6);
  return mac;
}

TxRing::TxRing(const std::string& ifname, uint32_t max_frame, uint32_t slots) {
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail(ifname, "socket");
  int version = TPACKET_V2, one = 1, sndbuf = 64 << 20;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(ifname, "PACKET_VERSION");
  if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
    fail(ifname, "PACKET_QDISC_BYPASS");
  if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
    fail(ifname, "SO_SNDBUFFORCE");
  if (setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0)
    fail(ifname, "PACKET_VNET_HDR");
  slot_size_ = slot_bytes(max_frame);
  tpacket_req req{};
  req.tp_block_size = std::max<uint32_t>(slot_size_, 1u << 16);
  uint32_t per_block = req.tp_block_size / slot_size_;
  req.tp_block_nr = (slots + per_block - 1) / per_block;
  req.tp_frame_size = slot_size_;
  req.tp_frame_nr = req.tp_block_nr * per_block;
  if (setsockopt(fd_, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0)
    fail(ifname, "PACKET_TX_RING");
  slots_ = req.tp_frame_nr;
  map_size_ = std::size_t(req.tp_block_size) * req.tp_block_nr;
  void* map = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) fail(ifname, "mmap TX ring");
  map_ = static_cast<uint8_t*>(map);
  bind_to(fd_, ifname, 0);
}

TxRing::~TxRing() {
  if (map_) munmap(map_, map_size_);
  if (fd_ >= 0) close(fd_);
}

bool TxRing::kick() {
  return send(fd_, nullptr, 0, MSG_DONTWAIT) >= 0;
}

RxRing::RxRing(const std::string& ifname, uint32_t blocks, uint32_t retire_ms) : blocks_(blocks) {
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // bound below, once the ring exists
  if (fd_ < 0) fail(ifname, "socket");
  int version = TPACKET_V3, one = 1;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(ifname, "PACKET_VERSION");
  if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0)
    fail(ifname, "PACKET_IGNORE_OUTGOING");
  tpacket_req3 req{};
  req.tp_block_size = kBlockSize;
  req.tp_block_nr = blocks;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = kBlockSize / 2048 * blocks;
  req.tp_retire_blk_tov = retire_ms;
  if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
    fail(ifname, "PACKET_RX_RING");
  map_size_ = std::size_t(kBlockSize) * blocks;
  void* map = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) fail(ifname, "mmap RX ring");
  map_ = static_cast<uint8_t*>(map);
  bind_to(fd_, ifname, htons(ETH_P_ALL));
}

RxRing::~RxRing() {
  if (map_) munmap(map_, map_size_);
  if (fd_ >= 0) close(fd_);
}

bool RxRing::wait(int timeout_ms) {
  if (ready_block()) return true;
  pollfd pfd{fd_, POLLIN | POLLERR, 0};
  poll(&pfd, 1, timeout_ms);
  return ready_block() != nullptr;
}

uint64_t RxRing::take_drops() {
  tpacket_stats_v3 stats{};
  socklen_t length = sizeof stats;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

void pin_to_core(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace vslab::bench
