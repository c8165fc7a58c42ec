#include "vsd/control_server.h"

#include <malloc.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "vsd/log.h"

namespace vsd {
namespace {

// A buffer that grew past this is given back to the system when its client is gone.
constexpr std::size_t kTrimAbove = 1u << 20;
constexpr std::size_t kReadChunk = 65536;

std::string error_line(const std::string& error) {
  return ctl::dump_json({{"ok", false}, {"exit", 2}, {"output", ""}, {"error", error}}) + "\n";
}

// The answer when the handler itself failed: one error line.
class FailedAnswer final : public ctl::Answer {
 public:
  explicit FailedAnswer(std::string error) : line_(error_line(error)) {}
  bool next(std::string& out) override {
    out += line_;
    return false;
  }

 private:
  std::string line_;
};

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    throw std::runtime_error("control socket path empty or too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  return addr;
}

int ms_until(std::chrono::steady_clock::time_point when,
             std::chrono::steady_clock::time_point now) {
  if (when <= now) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - now).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

}  // namespace

struct ControlServer::Client {
  vslab::os::UniqueFd fd;
  Clock::time_point accepted;
  Clock::time_point last_progress;  // of the answer's writing
  std::string in;                   // the request so far (the polling thread's)
  bool requested = false;           // handed over to the handler (the polling thread's)
  std::atomic<bool> big{false};     // trim the heap once this client's memory is freed
  // The handler thread's:
  std::string request;
  std::unique_ptr<ctl::Answer> answer;
  // Under mutex_:
  std::string out;           // answer lines not yet written, from out_sent on
  std::size_t out_sent = 0;  //
  bool finished = false;     // the response line is in out
  bool parked = false;       // not stepped until out drains
  bool fresh = false;        // output came since the polling thread last looked
  bool gone = false;

  std::size_t waiting() const { return out.size() - out_sent; }
  ~Client() {
    answer.reset();
    if (big) malloc_trim(0);
  }
};

void ControlServer::check_not_in_use(const std::string& path) {
  const sockaddr_un addr = address_of(path);
  const vslab::os::UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe) throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    ucred peer{};
    socklen_t size = sizeof peer;
    std::string pid = "pid unknown";
    if (getsockopt(probe.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && peer.pid > 0)
      pid = "pid " + std::to_string(peer.pid);
    throw std::runtime_error("another vsd answers on " + path + " (" + pid +
                             "); stop it first, or give this one another --socket");
  }
  // A listener whose backlog is full is alive too.
  if (errno == EAGAIN)
    throw std::runtime_error("another vsd answers on " + path +
                             " (its backlog is full); stop it first, or give this one another "
                             "--socket");
  // ENOENT: no socket; ECONNREFUSED: a dead vsd's, which bind replaces. Anything else is for
  // bind to report.
}

ControlServer::ControlServer(std::string path, Handler handler, Limits limits)
    : path_(std::move(path)), handler_(std::move(handler)), limits_(limits) {
  // glibc raises its mmap threshold to the largest block freed (up to 32 MB), and its trim
  // threshold with it: after one 16 MB request, the next large buffers and trees would live on
  // thread heaps whose top is never given back. Pinned at the default, large buffers are
  // mapped and unmapped, and freed heap tops are trimmed.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  const sockaddr_un addr = address_of(path_);
  check_not_in_use(path_);
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listen_fd_ || !stop_fd_ || !wake_fd_)
    throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
  unlink(path_.c_str());  // nobody answers on it (checked above): a killed vsd's
  // Root only from the first moment: the umask applies to the socket bind creates.
  mode_t old_mask = umask(0177);
  int rc = bind(listen_fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old_mask);
  if (rc != 0 || listen(listen_fd_.get(), 128) != 0)
    throw std::runtime_error("control socket " + path_ + ": " + std::strerror(rc ? err : errno));
  poller_ = std::thread([this] { serve(); });
  handler_thread_ = std::thread([this] { answer(); });
}

ControlServer::~ControlServer() {
  stop();
  listen_fd_.reset();
  unlink(path_.c_str());
}

void ControlServer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  runnable_changed_.notify_all();
  const uint64_t one = 1;
  [[maybe_unused]] auto ignored = write(stop_fd_.get(), &one, sizeof one);
  if (poller_.joinable()) poller_.join();
  if (handler_thread_.joinable()) handler_thread_.join();
}

void ControlServer::wake_poller() {
  const uint64_t one = 1;
  [[maybe_unused]] auto ignored = write(wake_fd_.get(), &one, sizeof one);
}

// --- the handler thread ------------------------------------------------------------------

void ControlServer::answer() {
  for (;;) {
    ClientPtr client;
    {
      std::unique_lock lock(mutex_);
      runnable_changed_.wait(lock, [&] { return stopping_ || !runnable_.empty(); });
      if (stopping_) return;
      client = std::move(runnable_.front());
      runnable_.pop_front();
    }
    if (!client->answer) {
      try {
        client->answer = handler_(client->request);
      } catch (const std::exception& e) {
        client->answer = std::make_unique<FailedAnswer>(std::string("vsd: ") + e.what());
      }
      if (client->request.size() > kTrimAbove) client->big = true;
      client->request = std::string();
    }
    std::string piece;
    const bool more = client->answer->next(piece);
    if (piece.size() > kTrimAbove) client->big = true;
    if (!more) client->answer.reset();
    {
      std::lock_guard lock(mutex_);
      if (client->gone) continue;
      client->out += piece;
      client->fresh = true;
      if (!more)
        client->finished = true;
      else if (client->waiting() < kOutputHighWater)
        runnable_.push_back(client);  // behind the others: clients take turns
      else
        client->parked = true;
    }
    wake_poller();
  }
}

// --- the polling thread ------------------------------------------------------------------

void ControlServer::serve() {
  std::vector<pollfd> fds;
  std::vector<ClientPtr> polled;
  for (;;) {
    const auto now = Clock::now();
    fds.assign(
        {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}});
    polled = clients_;
    int timeout = -1;
    {
      std::lock_guard lock(mutex_);
      for (const auto& c : polled) {
        if (c->fresh) c->fresh = false, c->last_progress = now;
        short events = 0;
        if (!c->requested) {
          events |= POLLIN;
        } else if (c->waiting() > 0) {
          events |= POLLOUT;
        }
        fds.push_back({c->fd.get(), events, 0});
        const auto due = !c->requested      ? c->accepted + limits_.request_deadline
                         : c->waiting() > 0 ? c->last_progress + limits_.stall_limit
                                            : Clock::time_point::max();
        if (due != Clock::time_point::max()) {
          const int ms = ms_until(due, now);
          timeout = timeout < 0 ? ms : std::min(timeout, ms);
        }
      }
    }
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      log_error(std::string("vsd: control socket poll: ") + std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN) break;
    if (fds[2].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] auto ignored = read(wake_fd_.get(), &count, sizeof count);
    }
    for (std::size_t i = 0; i < polled.size(); ++i) {
      const ClientPtr& c = polled[i];
      const short revents = fds[3 + i].revents;
      if (!c->fd || revents == 0) continue;
      if (revents & POLLIN) {
        read_request(c);
      } else if (revents & POLLOUT) {
        write_output(c);
      } else if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
        drop(c);  // gone before its answer: the handler skips it
      }
    }
    const auto later = Clock::now();
    for (const ClientPtr& c : polled) {
      if (!c->fd) continue;
      if (!c->requested && later >= c->accepted + limits_.request_deadline) {
        refuse(c, "vsd: request not complete within " +
                      std::to_string(limits_.request_deadline.count()) + " ms; dropped");
        continue;
      }
      std::lock_guard lock(mutex_);
      if (c->requested && c->waiting() > 0 && !c->fresh &&
          later >= c->last_progress + limits_.stall_limit) {
        c->gone = true;  // reads nothing of its answer: dropped below, without a word
      }
    }
    std::vector<ClientPtr> stalled;
    {
      std::lock_guard lock(mutex_);
      for (const ClientPtr& c : clients_)
        if (c->gone && c->fd) stalled.push_back(c);
    }
    for (const ClientPtr& c : stalled) drop(c);
    if (fds[0].revents & POLLIN) accept_clients();
  }
  for (const ClientPtr& c : std::vector<ClientPtr>(clients_)) drop(c);
}

void ControlServer::accept_clients() {
  for (;;) {
    vslab::os::UniqueFd fd(
        accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) return;  // EAGAIN, or a client gone before it was accepted
    if (clients_.size() >= limits_.max_clients) {
      const std::string too_many =
          "vsd: too many control clients (" + std::to_string(limits_.max_clients) + ")";
      auto oldest = std::find_if(clients_.begin(), clients_.end(),
                                 [](const ClientPtr& c) { return !c->requested; });
      if (oldest == clients_.end()) {
        const std::string line = error_line(too_many + " being answered; try again");
        [[maybe_unused]] auto ignored =
            send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        continue;
      }
      const ClientPtr victim = *oldest;  // drop() erases it from clients_
      refuse(victim, too_many + ": dropped the oldest one still sending its request");
    }
    auto client = std::make_shared<Client>();
    client->fd = std::move(fd);
    client->accepted = Clock::now();
    clients_.push_back(std::move(client));
  }
}

void ControlServer::read_request(const ClientPtr& client) {
  char buffer[kReadChunk];
  for (;;) {
    const std::size_t room = ctl::kMaxRequestBytes + 1 - client->in.size();
    const ssize_t n = read(client->fd.get(), buffer, std::min(sizeof buffer, room));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) return drop(client);
    if (n == 0)
      return refuse(client,
                    "vsd: bad request: the connection ended before the request's end "
                    "of line; ignored");
    const std::size_t scanned = client->in.size();
    client->in.append(buffer, static_cast<std::size_t>(n));
    if (client->in.capacity() > kTrimAbove) client->big = true;
    const std::size_t newline = client->in.find('\n', scanned);
    if (newline != std::string::npos) {
      std::string request = client->in.substr(0, newline);
      client->in = std::string();
      return hand_over(client, std::move(request));
    }
    if (client->in.size() > ctl::kMaxRequestBytes) {
      client->in = std::string();
      return refuse(client, "vsd: bad request: larger than " +
                                std::to_string(ctl::kMaxRequestBytes) + " bytes; ignored");
    }
  }
}

void ControlServer::hand_over(const ClientPtr& client, std::string request) {
  client->requested = true;
  client->request = std::move(request);
  {
    std::lock_guard lock(mutex_);
    runnable_.push_back(client);
  }
  runnable_changed_.notify_one();
}

bool ControlServer::write_output(const ClientPtr& client) {
  bool unpark = false, done = false, failed = false;
  {
    std::lock_guard lock(mutex_);
    while (client->waiting() > 0) {
      const ssize_t n = send(client->fd.get(), client->out.data() + client->out_sent,
                             client->waiting(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        client->out_sent += static_cast<std::size_t>(n);
        client->last_progress = Clock::now();
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        failed = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        break;
      }
    }
    if (client->waiting() == 0) {
      if (client->out.capacity() > kTrimAbove) client->big = true;
      client->out = std::string();
      client->out_sent = 0;
    }
    done = client->finished && client->waiting() == 0;
    if (client->parked && client->waiting() < kOutputHighWater / 2) {
      client->parked = false;
      runnable_.push_back(client);
      unpark = true;
    }
  }
  if (unpark) runnable_changed_.notify_one();
  if (failed || done) {
    drop(client);
    return false;
  }
  return true;
}

void ControlServer::refuse(const ClientPtr& client, const std::string& error) {
  const std::string line = error_line(error);
  [[maybe_unused]] auto ignored =
      send(client->fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  drop(client);
}

void ControlServer::drop(const ClientPtr& client) {
  {
    std::lock_guard lock(mutex_);
    client->gone = true;
    std::erase(runnable_, client);
  }
  client->fd.reset();
  std::erase(clients_, client);
}

}  // namespace vsd
