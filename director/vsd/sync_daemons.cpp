// The sync daemons' sockets and threads (sync_daemons.h).
#include "vsd/sync_daemons.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "sync/send_queues.h"
#include "vsd/log.h"

namespace vsd {

namespace {

using MonoClock = std::chrono::steady_clock;
constexpr int kSendDelayMs = 20;  // IPVS_SYNC_SEND_DELAY: HZ / 50

std::string system_error(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::optional<uint32_t> interface_mtu(const std::string& ifname) {
  const vslab::os::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (!fd || ioctl(fd.get(), SIOCGIFMTU, &req) != 0) return std::nullopt;
  return uint32_t(req.ifr_mtu);
}

// The kernel binds a master to inet_select_addr(dev): the interface's first IPv4 address.
in_addr interface_address(const std::string& ifname) {
  in_addr out{};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && ifname == a->ifa_name) {
      out = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr;
      break;
    }
  }
  freeifaddrs(list);
  return out;
}

// get_mcast_sockaddr: thread id's port is the configured one + id (16 bits, as the kernel adds).
sockaddr_in group_address(const sync::DaemonConfig& c, unsigned id) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(c.mcast_port + id));
  sa.sin_addr.s_addr = htonl(c.mcast_group->value);
  return sa;
}

// "" or why not; fd holds the socket on success.
std::string make_send_socket(const sync::DaemonConfig& c, unsigned ifindex, unsigned id,
                             vslab::os::UniqueFd& fd) {
  fd.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return system_error("socket");
  ip_mreqn mreq{};
  mreq.imr_ifindex = int(ifindex);
  const unsigned char loop = 0, ttl = c.mcast_ttl;
  const int pmtu = IP_PMTUDISC_DONT;
  if (setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) != 0)
    return system_error("IP_MULTICAST_IF");
  if (setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0 ||
      setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0 ||
      setsockopt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) != 0)
    return system_error("setsockopt");
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr = interface_address(c.mcast_ifn);
  if (local.sin_addr.s_addr == 0)
    log_warn("vsd: sync master: no IPv4 address on " + c.mcast_ifn + " to send from");
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return system_error("bind");
  const sockaddr_in group = group_address(c, id);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&group), sizeof group) != 0)
    return system_error("connect");
  return "";
}

std::string make_receive_socket(const sync::DaemonConfig& c, unsigned ifindex, unsigned id,
                                vslab::os::UniqueFd& fd) {
  fd.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return system_error("socket");
  const int one = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return system_error("SO_REUSEADDR");
  if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, c.mcast_ifn.c_str(),
                 socklen_t(c.mcast_ifn.size())) != 0)
    return system_error("SO_BINDTODEVICE");
  const sockaddr_in group = group_address(c, id);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&group), sizeof group) != 0)
    return system_error("bind");
  ip_mreqn mreq{};
  mreq.imr_multiaddr = group.sin_addr;
  mreq.imr_ifindex = int(ifindex);
  if (setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
    return system_error("IP_ADD_MEMBERSHIP");
  return "";
}

// set_sock_size: the value doubled, within the system's limits, as SO_SNDBUF / SO_RCVBUF take
// it; net.ipv4.vs.sync_sock_size.
std::string set_buffer_size(int fd, bool send_buffer, int size) {
  const int option = send_buffer ? SO_SNDBUF : SO_RCVBUF;
  if (setsockopt(fd, SOL_SOCKET, option, &size, sizeof size) != 0)
    return system_error(send_buffer ? "SO_SNDBUF" : "SO_RCVBUF");
  return "";
}

// Waits up to timeout_ms for one of fds to be readable or the stop eventfd to fire; false:
// stop.
bool wait_for(const std::vector<vslab::os::UniqueFd>& fds, int stop_fd, int timeout_ms) {
  std::vector<pollfd> polled{{stop_fd, POLLIN, 0}};
  for (const auto& fd : fds) polled.push_back({fd.get(), POLLIN, 0});
  const int n = poll(polled.data(), nfds_t(polled.size()), timeout_ms);
  return !(n > 0 && (polled[0].revents & POLLIN));
}

}  // namespace

SyncDaemons::~SyncDaemons() {
  for (auto* slot : {&master_, &backup_})
    if (*slot) halt(**slot);
}

void SyncDaemons::halt(Daemon& d) {
  const uint64_t one = 1;
  (void)!write(d.stop_fd.get(), &one, sizeof one);
  if (d.thread.joinable()) d.thread.join();
}

std::string SyncDaemons::start(const sync::DaemonConfig& requested) {
  std::lock_guard lock(mutex_);
  auto& slot = requested.role == sync::Role::Master ? master_ : backup_;
  if (slot) return "Daemon has already run";
  const unsigned ifindex = if_nametoindex(requested.mcast_ifn.c_str());
  const auto mtu = interface_mtu(requested.mcast_ifn);
  if (ifindex == 0 || !mtu) return std::strerror(ENODEV);
  auto d = std::make_unique<Daemon>();
  d->config = sync::with_defaults(requested, *mtu);
  d->stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!d->stop_fd) return system_error("eventfd");
  const bool master = d->config.role == sync::Role::Master;
  Sysctls sysctls;
  if (!calls_.call([&] { sysctls = dataplane_.sysctls(); })) return "vsd is shutting down";
  const auto& other = master ? backup_ : master_;
  const unsigned threads =
      other ? unsigned(other->sockets.size()) : sync::sync_threads(sysctls.sync_ports);
  d->sockets.resize(threads);
  for (unsigned id = 0; id < threads; ++id) {
    std::string error = master ? make_send_socket(d->config, ifindex, id, d->sockets[id])
                               : make_receive_socket(d->config, ifindex, id, d->sockets[id]);
    // make_send_sock / make_receive_sock: the buffer is sized at start only.
    if (error.empty() && sysctls.sync_sock_size > 0)
      error = set_buffer_size(d->sockets[id].get(), master, sysctls.sync_sock_size);
    if (!error.empty()) return error;
  }
  if (master) {
    // The side tables are made here, off the data plane, which only swaps them in.
    auto tracker = std::make_unique<sync::MasterTracker>(
        dataplane_.table_capacity(), sync::SendRules{}, dataplane_.table6_capacity());
    if (!calls_.call([&] { tracker = dataplane_.swap_sync_master(std::move(tracker)); }))
      return "vsd is shutting down";
  } else if (!calls_.call([&] { dataplane_.set_sync_backup_running(true); })) {
    return "vsd is shutting down";
  }
  Daemon& running = *d;
  d->thread = std::thread([this, &running] {
    running.config.role == sync::Role::Master ? run_master(running) : run_backup(running);
  });
  log_info("vsd: sync daemon started: " + std::string(sync::role_name(d->config.role)) +
           ", mcast_ifn = " + d->config.mcast_ifn + ", syncid = " +
           std::to_string(d->config.syncid) + ", threads = " + std::to_string(threads));
  slot = std::move(d);
  return "";
}

std::string SyncDaemons::stop(sync::Role role) {
  std::unique_ptr<Daemon> d;
  {
    std::lock_guard lock(mutex_);
    d = std::move(role == sync::Role::Master ? master_ : backup_);
  }
  if (!d) return "No daemon is running";
  halt(*d);
  if (role == sync::Role::Master) {
    std::unique_ptr<sync::MasterTracker> old;
    calls_.call([&] { old = dataplane_.swap_sync_master(nullptr); });
  } else {
    calls_.call([&] { dataplane_.set_sync_backup_running(false); });
  }
  log_info("vsd: sync daemon stopped: " + std::string(sync::role_name(role)));
  return "";
}

std::vector<sync::DaemonConfig> SyncDaemons::running() const {
  std::lock_guard lock(mutex_);
  std::vector<sync::DaemonConfig> out;
  for (const auto* slot : {&master_, &backup_})
    if (*slot) out.push_back((*slot)->config);
  return out;
}

void SyncDaemons::run_master(Daemon& d) {
  sync::SendQueues queues(unsigned(d.sockets.size()), d.config.syncid, d.config.sync_maxlen);
  std::vector<sync::SyncConn> batch;
  uint8_t version = sync::kProtocolVersion;
  int64_t qlen_max = 0;
  // The kernel's thread waits while its socket is full and sends the message again; vsd leaves
  // it at the head of its queue for the next round. Any other error loses the message.
  auto send_queued = [&](unsigned id) {
    auto& queue = queues.queue(id);
    auto& entries = queues.queue_entries(id);
    while (!queue.empty()) {
      const auto& bytes = queue.front();
      if (send(d.sockets[id].get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
        counters_.messages_sent++;
        counters_.entries_sent += entries.front();
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else {
        counters_.send_errors++;
      }
      queue.pop_front();
      entries.pop_front();
    }
  };
  while (wait_for({}, d.stop_fd.get(), kSendDelayMs)) {
    const bool running = calls_.call([&] {
      dataplane_.take_sync(batch);
      version = uint8_t(dataplane_.sysctls().sync_version);
      qlen_max = dataplane_.sysctls().sync_qlen_max;
    });
    if (!running) return;  // vsd is stopping
    // sync_version changed: what was gathered goes as it is (ip_vs_sync_switch_mode), the
    // rest in the new format.
    queues.set_queue_limit(uint64_t(std::max<int64_t>(qlen_max, 0)));
    queues.set_version(version);
    const auto now = sync::SendQueues::Clock::now();
    for (const auto& conn : batch) {
      // Noted under the other version, in a form the new one lacks.
      if (version == 0 && conn.ipv6) continue;
      queues.add(conn, now);
    }
    queues.flush_aged(now);
    counters_.messages_dropped = queues.messages_dropped();
    counters_.entries_dropped = queues.entries_dropped();
    for (unsigned id = 0; id < queues.threads(); ++id) send_queued(id);
  }
}

void SyncDaemons::run_backup(Daemon& d) {
  std::vector<uint8_t> buffer(d.config.sync_maxlen);
  while (wait_for(d.sockets, d.stop_fd.get(), 1000)) {
    for (std::size_t id = 0, idle = 0; idle < d.sockets.size(); id = (id + 1) % d.sockets.size()) {
      const ssize_t n = recv(d.sockets[id].get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0) {
        ++idle;
        continue;
      }
      idle = 0;
      counters_.messages_received++;
      auto decoded = sync::decode_message({buffer.data(), std::size_t(n)}, d.config.syncid);
      if (decoded.verdict != sync::MessageVerdict::Accepted) {
        counters_.messages_refused++;
        log_debug("vsd: sync backup: message dropped: " +
                  std::string(sync::verdict_name(decoded.verdict)));
        continue;
      }
      if (!decoded.dropped_rest.empty())
        log_debug("vsd: sync backup: rest of a message dropped: " + decoded.dropped_rest);
      counters_.entries_received += decoded.conns.size();
      if (decoded.conns.empty()) continue;
      if (!calls_.call([&] { dataplane_.apply_sync(decoded.conns); })) return;
    }
  }
}

}  // namespace vsd
