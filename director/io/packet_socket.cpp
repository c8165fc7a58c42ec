#include "io/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "io/rx_ring.h"
#include "io/vnet_header.h"

namespace vsd {
namespace {

constexpr uint32_t kTxFrameCount = 512;

[[noreturn]] void fail(const std::string& ifname, const char* what) {
  throw std::runtime_error("port " + ifname + ": " + what + ": " + std::strerror(errno));
}

int ifindex_of(const std::string& ifname) {
  int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) fail(ifname, "if_nametoindex");
  return ifindex;
}

uint32_t tx_slot_size_for(uint32_t mtu) {
  // Room for the largest frame vsd sends: MTU + Ethernet + a 20-byte IPIP header, after the
  // virtio_net_hdr.
  uint32_t need = TPACKET_ALIGN(sizeof(tpacket2_hdr)) + kVnetHeaderBytes + mtu + 14 + 20;
  uint32_t size = 2048;
  while (size < need) size <<= 1;
  return size;
}

}  // namespace

PacketSocket::PacketSocket(const std::string& ifname, uint32_t mtu)
    : ifname_(ifname),
      ifindex_(ifindex_of(ifname)),
      mtu_(mtu),
      rx_(ifindex_, mtu, kRxRingBytes / RxFrameRing::slot_bytes_for(mtu), "port " + ifname) {
  tx_fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!tx_fd_) fail(ifname, "socket (TX)");
  int version = TPACKET_V2;
  int one = 1;
  if (setsockopt(tx_fd_.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0)
    fail(ifname, "PACKET_VERSION 2");
  // Straight to the driver: no qdisc on veth buys nothing but cycles.
  if (setsockopt(tx_fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
    fail(ifname, "PACKET_QDISC_BYPASS");
  // A frame the kernel refuses is dropped instead of blocking its slot for ever.
  if (setsockopt(tx_fd_.get(), SOL_PACKET, PACKET_LOSS, &one, sizeof one) != 0)
    fail(ifname, "PACKET_LOSS");
  if (setsockopt(tx_fd_.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0)
    tx_vnet_bytes_ = kVnetHeaderBytes;
  tx_frame_size_ = tx_slot_size_for(mtu);
  tx_frame_count_ = kTxFrameCount;
  tpacket_req tx{};
  tx.tp_frame_size = tx_frame_size_;
  tx.tp_frame_nr = tx_frame_count_;
  tx.tp_block_size = std::max<uint32_t>(tx_frame_size_, 1u << 16);
  tx.tp_block_nr = tx_frame_size_ * tx_frame_count_ / tx.tp_block_size;
  if (setsockopt(tx_fd_.get(), SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) != 0)
    fail(ifname, "PACKET_TX_RING");
  tx_ring_ =
      vslab::os::MemoryMap::shared(tx_fd_.get(), std::size_t(tx.tp_block_size) * tx.tp_block_nr);
  if (!tx_ring_.data()) fail(ifname, "mmap TX ring");
  tx_map_ = tx_ring_.data();
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = ifindex_;
  if (bind(tx_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail(ifname, "bind TX");

  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(tx_fd_.get(), SIOCGIFHWADDR, &req) != 0) fail(ifname, "SIOCGIFHWADDR");
  std::memcpy(mac_.bytes.data(), req.ifr_hwaddr.sa_data, 6);
}

PacketSocket::~PacketSocket() {
  // The TX ring unmapped before its socket closes (the RX ring does the same itself).
  tx_ring_.reset();
  tx_fd_.reset();
}

uint8_t* PacketSocket::free_tx_slot() {
  uint8_t* slot = tx_map_ + std::size_t(tx_slot_) * tx_frame_size_;
  auto* hdr = reinterpret_cast<tpacket2_hdr*>(slot);
  auto status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);
  return status == TP_STATUS_AVAILABLE ? slot : nullptr;
}

bool PacketSocket::queue(std::span<const uint8_t> frame) {
  const uint32_t data_offset = TPACKET_ALIGN(sizeof(tpacket2_hdr)) + tx_vnet_bytes_;
  if (frame.size() + data_offset > tx_frame_size_) {
    counters_.tx_too_big++;
    return false;
  }
  uint8_t* slot = free_tx_slot();
  if (!slot) {
    flush();  // the kernel may free slots once it has sent what is pending
    slot = free_tx_slot();
    if (!slot) {
      counters_.tx_ring_full++;
      return false;
    }
  }
  auto* hdr = reinterpret_cast<tpacket2_hdr*>(slot);
  if (tx_vnet_bytes_ != 0)
    write_vnet_header(slot + TPACKET_ALIGN(sizeof(tpacket2_hdr)),
                      static_cast<uint32_t>(frame.size()));
  std::memcpy(slot + data_offset, frame.data(), frame.size());
  hdr->tp_len = static_cast<uint32_t>(frame.size() + tx_vnet_bytes_);
  __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
  tx_slot_ = (tx_slot_ + 1) % tx_frame_count_;
  ++tx_pending_;
  counters_.tx_frames++;
  counters_.tx_bytes += frame.size();
  return true;
}

void PacketSocket::flush() {
  if (tx_pending_ == 0) return;
  // Blocking send: returns when the kernel has walked the ring; on veth that is immediate.
  if (send(tx_fd_.get(), nullptr, 0, 0) >= 0) tx_pending_ = 0;
}

uint16_t PacketSocket::make_fanout(std::span<const sock_filter> program) {
  try {
    return make_steered_fanout(rx_.fd(), program);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("port " + ifname_ + ": " + e.what());
  }
}

void PacketSocket::join_fanout(uint16_t group) {
  try {
    join_steered_fanout(rx_.fd(), group);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("port " + ifname_ + ": " + e.what());
  }
}

void PacketSocket::set_fanout_program(std::span<const sock_filter> program) {
  try {
    set_steering_program(rx_.fd(), program);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("port " + ifname_ + ": " + e.what());
  }
}

void PacketSocket::collect_rx_ring_drops() {
  counters_.rx_ring_drops += rx_.take_drops();
}

}  // namespace vsd
