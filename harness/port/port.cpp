#include "port/port.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/netns.h"

namespace vslab::port {
namespace {

std::runtime_error port_error(const std::string& label, const std::string& what) {
  return std::runtime_error(fmt::format("port {}: {}", label, what));
}

std::string read_mac(int fd, const std::string& ifname) {
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &req) != 0) return {};
  const auto* b = reinterpret_cast<const uint8_t*>(req.ifr_hwaddr.sa_data);
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

}  // namespace

Port::Port(const std::string& netns, const std::string& ifname, std::string label)
    : label_(std::move(label)), ifname_(ifname) {
  topo::NetnsGuard inside(netns);
  ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex_ == 0) throw port_error(label_, fmt::format("no interface {} in {}", ifname, netns));

  // Protocol 0: a send-only socket that receives nothing, so it queues no copies.
  tx_fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!tx_fd_) throw port_error(label_, fmt::format("AF_PACKET: {}", std::strerror(errno)));
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = ifindex_;
  if (bind(tx_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw port_error(label_, fmt::format("bind: {}", std::strerror(errno)));
  mac_ = read_mac(tx_fd_.get(), ifname);

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_ = pcap_create(ifname.c_str(), errbuf);
  auto fail = [&](const std::string& what) {
    std::string msg = what + (pcap_ ? std::string(": ") + pcap_geterr(pcap_) : "");
    if (pcap_) pcap_close(pcap_);
    return port_error(label_, msg);
  };
  if (!pcap_) throw port_error(label_, std::string("pcap_create: ") + errbuf);
  pcap_set_snaplen(pcap_, 262144);
  pcap_set_promisc(pcap_, 1);
  pcap_set_immediate_mode(pcap_, 1);  // deliver each frame at once, not per filled block
  pcap_set_buffer_size(pcap_, 8 << 20);
  if (pcap_activate(pcap_) < 0) throw fail("pcap_activate");
  // Only what the interface receives: our own injected frames are in sent_.
  if (pcap_setdirection(pcap_, PCAP_D_IN) != 0) throw fail("pcap_setdirection");
  if (pcap_setnonblock(pcap_, 1, errbuf) != 0) throw fail("pcap_setnonblock");
  pcap_fd_ = pcap_get_selectable_fd(pcap_);
  if (pcap_fd_ < 0) throw fail("no selectable fd");
}

Port::~Port() {
  if (pcap_) pcap_close(pcap_);
}

void Port::send(std::span<const uint8_t> frame) {
  // Stamped before it goes: any frame it causes is captured (and stamped) later, which is how
  // `vslab diff` and `vslab record` order what was received after what was sent.
  Frame record{std::vector<uint8_t>(frame.begin(), frame.end()), {}};
  gettimeofday(&record.timestamp, nullptr);
  transmit(frame);
  sent_.push_back(std::move(record));
}

void Port::transmit(std::span<const uint8_t> frame) {
  ssize_t n = ::send(tx_fd_.get(), frame.data(), frame.size(), 0);
  if (n != static_cast<ssize_t>(frame.size()))
    throw port_error(label_, fmt::format("send of {} bytes: {}", frame.size(),
                                         n < 0 ? std::strerror(errno) : "short write"));
}

void Port::send_unrecorded(const Tins::PDU& frame) {
  std::unique_ptr<Tins::PDU> copy(frame.clone());
  auto bytes = copy->serialize();
  transmit(std::span<const uint8_t>(bytes.data(), bytes.size()));
}

void Port::send(const Tins::PDU& frame) {
  // serialize() is not const in libtins 4.0.
  std::unique_ptr<Tins::PDU> copy(frame.clone());
  auto bytes = copy->serialize();
  send(std::span<const uint8_t>(bytes.data(), bytes.size()));
}

void Port::read_available(int timeout_ms) {
  pollfd pfd{pcap_fd_, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return;
  auto on_frame = [](u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* self = reinterpret_cast<Port*>(user);
    CapturedFrame f;
    f.bytes.assign(bytes, bytes + h->caplen);
    f.timestamp = h->ts;
    self->captured_.push_back(std::move(f));
  };
  while (pcap_dispatch(pcap_, -1, on_frame, reinterpret_cast<u_char*>(this)) > 0) {
  }
}

void Port::wait_any(const std::vector<Port*>& ports, std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  for (auto* p : ports) fds.push_back({p->pcap_fd_, POLLIN, 0});
  if (poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return;
  for (std::size_t i = 0; i < ports.size(); ++i)
    if (fds[i].revents) ports[i]->read_available(0);
}

void Port::poll_now() {
  read_available(0);
}

bool Port::wait_until(const std::function<bool(std::vector<CapturedFrame>&)>& done,
                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  poll_now();
  while (!done(captured_)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_available(static_cast<int>(left.count()));
  }
  return true;
}

}  // namespace vslab::port
