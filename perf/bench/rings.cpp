#include "bench/rings.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
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
  const vslab::os::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(fd.get(), SIOCGIFHWADDR, &req);
  if (rc != 0) fail(ifname, "SIOCGIFHWADDR");
  vsd::Mac mac;
  std::memcpy(mac.bytes.data(), req.ifr_hwaddr.sa_data, 6);
  return mac;
}

TxRing::TxRing(const std::string& ifname, uint32_t max_frame, uint32_t slots) {
  fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd_) fail(ifname, "socket");
  int version = TPACKET_V2, one = 1, sndbuf = 64 << 20;
  if (setsockopt(fd_.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(ifname, "PACKET_VERSION");
  if (setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
    fail(ifname, "PACKET_QDISC_BYPASS");
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
    fail(ifname, "SO_SNDBUFFORCE");
  if (setsockopt(fd_.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0)
    fail(ifname, "PACKET_VNET_HDR");
  slot_size_ = slot_bytes(max_frame);
  tpacket_req req{};
  req.tp_block_size = std::max<uint32_t>(slot_size_, 1u << 16);
  uint32_t per_block = req.tp_block_size / slot_size_;
  req.tp_block_nr = (slots + per_block - 1) / per_block;
  req.tp_frame_size = slot_size_;
  req.tp_frame_nr = req.tp_block_nr * per_block;
  if (setsockopt(fd_.get(), SOL_PACKET, PACKET_TX_RING, &req, sizeof req) != 0)
    fail(ifname, "PACKET_TX_RING");
  slots_ = req.tp_frame_nr;
  ring_ = os::MemoryMap::shared(fd_.get(), std::size_t(req.tp_block_size) * req.tp_block_nr);
  if (!ring_.data()) fail(ifname, "mmap TX ring");
  map_ = ring_.data();
  bind_to(fd_.get(), ifname, 0);
}

TxRing::~TxRing() = default;

bool TxRing::kick() {
  return send(fd_.get(), nullptr, 0, MSG_DONTWAIT) >= 0;
}

RxRing::RxRing(const std::string& ifname, uint32_t blocks, uint32_t retire_ms) : blocks_(blocks) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) fail(ifname, "if_nametoindex");
  rx_ = vsd::open_block_ring(ifindex, vsd::RxBlockRingShape{kBlockSize, blocks, retire_ms}, ifname);
  map_ = rx_.ring.data();
}

RxRing::~RxRing() = default;

bool RxRing::wait(int timeout_ms) {
  if (ready_block()) return true;
  pollfd pfd{rx_.fd.get(), POLLIN | POLLERR, 0};
  poll(&pfd, 1, timeout_ms);
  return ready_block() != nullptr;
}

uint64_t RxRing::take_drops() {
  tpacket_stats_v3 stats{};
  socklen_t length = sizeof stats;
  if (getsockopt(rx_.fd.get(), SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

void pin_to_core(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace vslab::bench
