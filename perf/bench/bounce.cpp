#include "bench/bounce.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include <cstring>

#include "bench/rings.h"
#include "fwd/checksum.h"
#include "fwd/ipv6.h"
#include "io/idle_spin.h"
#include "io/ingress_drop.h"
#include "io/packet_socket.h"
#include "io/rx_ring.h"
#include "os/byte_order.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

using os::get16;
using os::get32;
using os::put16;

constexpr uint32_t kTxSlots = 4096;
// The interfaces of bench.toml keep the default MTU.
constexpr uint32_t kMtu = 1500;
// The largest frame forwarded: what a 2 KiB TX slot holds.
constexpr uint32_t kMaxFrame = 2048 - TxRing::kDataOffset - TxRing::kVnetBytes;

}  // namespace

struct BounceForwarder::Rings {
  std::unique_ptr<vsd::RxFrameRing> rx;
  std::unique_ptr<TxRing> tx;
  std::unique_ptr<vsd::IngressDrop> drop;
  vsd::Mac out_mac;
};

BounceForwarder::BounceForwarder(const BounceConfig& config) : config_(config) {
  rings_ = std::make_unique<Rings>();
  topo::NetnsGuard in(config_.netns);
  const int in_index = static_cast<int>(if_nametoindex(config_.in_ifname.c_str()));
  if (in_index == 0) throw std::runtime_error(config_.in_ifname + ": no such interface");
  rings_->rx = std::make_unique<vsd::RxFrameRing>(
      in_index, kMtu, vsd::PacketSocket::kRxRingBytes / vsd::RxFrameRing::slot_bytes_for(kMtu),
      config_.in_ifname);
  rings_->tx = std::make_unique<TxRing>(config_.out_ifname, kMaxFrame, kTxSlots);
  rings_->out_mac = interface_mac(config_.out_ifname);
  rings_->drop = std::make_unique<vsd::IngressDrop>(std::vector<std::string>{config_.in_ifname});
}

BounceForwarder::~BounceForwarder() {
  stop();
}

void BounceForwarder::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

uint64_t BounceForwarder::cpu_ns() const {
  clockid_t clock;
  timespec t{};
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0 ||
      clock_gettime(clock, &t) != 0)
    return 0;
  return uint64_t(t.tv_sec) * 1000000000u + uint64_t(t.tv_nsec);
}

void BounceForwarder::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BounceForwarder::run() {
  place_director_thread(config_.cores);
  vsd::RxFrameRing& rx = *rings_->rx;
  TxRing& tx = *rings_->tx;
  const uint32_t slots = tx.slots();
  const vsd::IdleSpin spin{std::chrono::microseconds(config_.idle_spin_us)};
  uint32_t slot = 0;
  std::size_t next_server = 0;
  uint64_t forwarded = 0;
  pollfd pfd{rx.fd(), POLLIN | POLLERR, 0};
  auto ready = [&] { return rx.ready(); };
  while (!stop_.load(std::memory_order_relaxed)) {
    if (!rx.ready() && !spin.wait(ready)) {
      poll(&pfd, 1, 20);
      continue;
    }
    uint32_t queued = 0;
    for (uint32_t n = 0; n < vsd::PacketSocket::kDrainBatch && rx.ready(); ++n) {
      tpacket2_hdr* h = rx.header(0);
      uint8_t* f = vsd::RxFrameRing::frame_of(h);
      const uint32_t length = h->tp_snaplen;
      if (forward(f, length, slot, next_server)) {
        slot = slot + 1 == slots ? 0 : slot + 1;
        ++queued;
      }
      rx.release();
    }
    if (queued) tx.kick();
    forwarded += queued;
    forwarded_.store(forwarded, std::memory_order_relaxed);
  }
}

bool BounceForwarder::forward(uint8_t* f, uint32_t length, uint32_t slot,
                              std::size_t& next_server) {
  TxRing& tx = *rings_->tx;
  const std::size_t servers = config_.rewrite_to.size();
  if (length < 34 || length > kMaxFrame) return false;
  const bool ipv6 = f[12] == 0x86 && f[13] == 0xdd;
  if (!ipv6 && (f[12] != 0x08 || f[13] != 0)) return false;
  uint8_t* ip = f + 14;
  if (!ipv6 && ((ip[0] >> 4) != 4 || ip[8] <= 1)) return false;
  if (!tx.is_free(slot)) {
    tx.kick();
    if (!tx.is_free(slot)) return false;
  }
  if (ipv6) {
    if (!forward6(f, length, next_server)) return false;
    std::memcpy(tx.data(slot), f, length);
    tx.submit(slot, length);
    return true;
  }
  std::memcpy(f, config_.next_hop.bytes.data(), 6);
  std::memcpy(f + 6, rings_->out_mac.bytes.data(), 6);
  uint16_t check = get16(ip + 10);
  uint16_t old_word = get16(ip + 8);
  ip[8]--;
  check = vsd::fwd::checksum_update16(check, old_word, get16(ip + 8));
  if (servers) {
    uint32_t old_dst = get32(ip + 16), new_dst = config_.rewrite_to[next_server].value;
    next_server = next_server + 1 == servers ? 0 : next_server + 1;
    uint32_t wire = htonl(new_dst);
    std::memcpy(ip + 16, &wire, 4);
    check = vsd::fwd::checksum_update32(check, old_dst, new_dst);
    unsigned ihl = (ip[0] & 15u) * 4;
    bool first_fragment = (get16(ip + 6) & 0x1fff) == 0;
    if (first_fragment && ip[9] == 17 && length >= 14 + ihl + 8) {
      uint8_t* l4 = ip + ihl;
      put16(l4 + 6, vsd::fwd::udp_checksum_update32(get16(l4 + 6), old_dst, new_dst));
    } else if (first_fragment && ip[9] == 6 && length >= 14 + ihl + 20) {
      uint8_t* l4 = ip + ihl;
      put16(l4 + 16, vsd::fwd::checksum_update32(get16(l4 + 16), old_dst, new_dst));
    }
  }
  put16(ip + 10, check);
  std::memcpy(tx.data(slot), f, length);
  tx.submit(slot, length);
  return true;
}

bool BounceForwarder::forward6(uint8_t* f, uint32_t length, std::size_t& next_server) {
  std::span<uint8_t> frame(f, length);
  auto p = vsd::fwd::parse_ipv6(frame);
  if (!p || p->hop_limit <= 1) return false;
  if (!config_.rewrite_to6.empty() && p->has_ports()) {
    vsd::fwd::nat_in6(frame, *p, config_.rewrite_to6[next_server], p->dport, rings_->out_mac);
    next_server = next_server + 1 == config_.rewrite_to6.size() ? 0 : next_server + 1;
  } else {
    vsd::fwd::dr_forward6(frame, rings_->out_mac);
  }
  std::memcpy(f, config_.next_hop.bytes.data(), 6);
  return true;
}

}  // namespace vslab::bench
