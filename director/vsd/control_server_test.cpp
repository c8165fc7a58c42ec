// The control socket under clients that stall, trickle, crowd, send 16 MB of brackets or do not
// read their answer: none of them may delay another client's request past the request deadline,
// and vsd's memory comes back. Also the listing of a million connections, streamed. In process,
// over a real unix socket, no root needed. Figures are printed for the record.
#include "vsd/control_server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "conn/table.h"
#include "ctl/client.h"
#include "ctl/format.h"
#include "ctl/protocol.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vsd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// AddressSanitizer's allocator keeps freed memory in quarantine and is many times slower: RSS
// says nothing there, and the million-entry listing is cut to a tenth.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// VmRSS of this process, in kB.
long rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

vslab::os::UniqueFd connect_to(const std::string& path) {
  vslab::os::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

// Waits for the one line the server sends before closing (at most `limit`).
std::string line_from(int fd, std::chrono::milliseconds limit = 10s) {
  const timeval timeout{static_cast<time_t>(limit.count() / 1000),
                        static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string text;
  vslab::os::read_to_end(fd, text);
  return text;
}

// A director of rules and a connection table, listed a chunk at a time as the data plane does;
// it remembers the longest time one chunk took (what a chunk would hold forwarding for).
class TableTarget final : public ctl::ControlTarget {
 public:
  // No flood defences: the early drop would take the listing's embryonic entries from 7/8 on.
  explicit TableTarget(uint32_t capacity = 1024)
      : table_(ConnTableConfig{.capacity = capacity, .max_destinations = 16, .defences = false}) {}
  RuleSet rules() const override { return rules_; }
  std::string install(const RuleSet& next) override {
    rules_ = next;
    return "";
  }
  DirectorState state() const override {
    DirectorState s = summary();
    table_.for_each([&](const Conn& c) { s.connections.push_back(table_.describe(c, now_ms)); });
    return s;
  }
  DirectorState summary() const override {
    DirectorState s;
    s.rules = rules_;
    return s;
  }
  std::size_t connections(std::size_t from, std::vector<ConnectionEntry>& out) const override {
    const auto start = Clock::now();
    const std::size_t next = table_.describe_from(from, 4096, 65536, now_ms, out);
    const double took = ms_since(start);
    longest_chunk_ms = std::max(longest_chunk_ms, took);
    total_chunk_ms += took;
    ++chunks;
    return next >= table_.capacity() ? ctl::kNoMoreConnections : next;
  }
  void zero(const std::optional<ServiceKey>&) override {}

  // `count` UDP connections from distinct clients.
  void fill(uint32_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      NewConn c;
      c.proto = Proto::Udp;
      c.client = Endpoint{Ipv4{0x0a000000u + (i >> 14)}, uint16_t(1024 + (i & 0x3fff))};
      c.virtual_addr = Endpoint{*Ipv4::parse("10.20.0.100"), 53};
      c.destination = Endpoint{*Ipv4::parse("192.168.10.11"), 53};
      c.method = Method::Nat;
      ASSERT_NE(table_.insert(c, now_ms), nullptr) << i;
    }
  }

  uint64_t now_ms = 1'000'000;
  mutable double longest_chunk_ms = 0, total_chunk_ms = 0;
  mutable std::size_t chunks = 0;

 private:
  RuleSet rules_;
  ConnTable table_;
};

class ControlServerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vsd-control-server-" + std::to_string(getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "vsd.sock").string();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Outlives the server (declared before it), which may still hold an answer referring to it.
  TableTarget& make_target(uint32_t capacity = 1024) {
    target_ = std::make_unique<TableTarget>(capacity);
    return *target_;
  }
  void start(ctl::ControlTarget& target, ControlLimits limits = {}) {
    server_ = std::make_unique<ControlServer>(
        path_,
        [&target](const std::string& request) { return ctl::start_request(request, target); },
        limits);
  }
  // One ordinary request, as vsadm makes it, and how long it took.
  std::pair<ctl::Reply, double> timed_request(const std::vector<std::string>& argv) {
    const auto start = Clock::now();
    ctl::Reply reply = ctl::send_request(path_, ctl::apply_request(argv));
    return {reply, ms_since(start)};
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<TableTarget> target_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ControlServerTest, SilentAndTricklingClientsDoNotDelayAnother) {
  TableTarget& target = make_target();
  start(target);
  std::vector<vslab::os::UniqueFd> silent;
  for (int i = 0; i < 10; ++i) {
    silent.push_back(connect_to(path_));
    ASSERT_TRUE(silent.back().valid());
  }
  // One byte of a request every 2.5 s: each byte comes well within any per-read timeout.
  auto trickler = connect_to(path_);
  ASSERT_TRUE(trickler.valid());
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    const std::string request = ctl::dump_json(ctl::apply_request({"-L", "-n"})) + "\n";
    auto next = Clock::now();
    for (char c : request) {
      while (!stop && Clock::now() < next) std::this_thread::yield();
      if (stop || !vslab::os::send_all(trickler.get(), std::string_view(&c, 1))) return;
      next += 2500ms;
    }
  });
  auto [added, add_ms] = timed_request({"-A", "-t", "10.0.0.1:80", "-s", "rr"});
  auto [listed, list_ms] = timed_request({"-L", "-n"});
  std::printf(
      "figure: with 10 silent clients and one trickling a byte per 2.5 s: -A answered in "
      "%.1f ms, -L -n in %.1f ms\n",
      add_ms, list_ms);
  EXPECT_EQ(added.exit, 0) << added.error;
  EXPECT_EQ(listed.exit, 0) << listed.error;
  EXPECT_NE(listed.output.find("TCP  10.0.0.1:80 rr"), std::string::npos) << listed.output;
  // Generous against a loaded 2-core machine, and still below the 3 s a client gets.
  EXPECT_LT(add_ms, 2000.0);
  EXPECT_LT(list_ms, 2000.0);

  // The silent ones and the trickler are dropped at their deadline, with a reason.
  const auto waited = Clock::now();
  const std::string answer = line_from(silent[0].get());
  std::printf("figure: a silent client was dropped %.0f ms after the test's requests\n",
              ms_since(waited));
  EXPECT_NE(answer.find("request not complete within 3000 ms"), std::string::npos) << answer;
  EXPECT_NE(line_from(trickler.get()).find("request not complete"), std::string::npos);
  stop = true;
  trickle.join();
}

TEST_F(ControlServerTest, ACrowdOfSilentClientsCannotLockOutARequest) {
  TableTarget& target = make_target();
  ControlLimits limits;
  limits.max_clients = 8;
  start(target, limits);
  std::vector<vslab::os::UniqueFd> crowd;
  for (int i = 0; i < 20; ++i) crowd.push_back(connect_to(path_));
  auto [listed, ms] = timed_request({"-L", "-n"});
  std::printf("figure: 20 silent clients against a cap of 8: -L -n answered in %.1f ms\n", ms);
  EXPECT_EQ(listed.exit, 0) << listed.error;
  EXPECT_LT(ms, 2000.0);
  // The first ones were dropped to make room, and told why.
  EXPECT_NE(line_from(crowd[0].get(), 2s).find("too many control clients (8)"), std::string::npos);
}

TEST_F(ControlServerTest, AHostileNestedRequestIsRefusedAndMemoryComesBack) {
  TableTarget& target = make_target();
  start(target);
  ASSERT_EQ(timed_request({"-L", "-n"}).first.exit, 0);  // warmed up
  const long before = rss_kb();
  auto fd = connect_to(path_);
  ASSERT_TRUE(fd.valid());
  // 16 MB of '[' (just under the size limit) and the end of line, sent in pieces so that this
  // side holds no 16 MB buffer of its own.
  const std::string piece(1 << 16, '[');
  std::size_t sent = 0;
  for (; sent + piece.size() < ctl::kMaxRequestBytes; sent += piece.size())
    ASSERT_TRUE(vslab::os::send_all(fd.get(), piece));
  ASSERT_TRUE(vslab::os::send_all(fd.get(), "\n"));
  const std::string answer = line_from(fd.get());
  EXPECT_NE(answer.find("nests deeper than"), std::string::npos) << answer.substr(0, 200);
  fd.reset();
  // The server trims once the client is gone; a request after it proves that has happened.
  ASSERT_EQ(timed_request({"-L", "-n"}).first.exit, 0);
  const long after = rss_kb();
  std::printf("figure: RSS %ld kB before a %zu-byte nested request, %ld kB after (+%ld kB)\n",
              before, sent + 1, after, after - before);
  if (!kSanitized) {
    EXPECT_LT(after - before, 8 * 1024) << "kB kept after the request";
  }

  // 16 MB that parses: four million words of argv, a large tree while the handler reads it.
  const long before_words = rss_kb();
  if (!kSanitized) {
    auto words = connect_to(path_);
    ASSERT_TRUE(vslab::os::send_all(words.get(), R"({"version":1,"op":"apply","argv":["-L")"));
    const std::string some = [] {
      std::string text;
      for (int i = 0; i < 16384; ++i) text += R"(,"x")";
      return text;
    }();
    for (sent = 0; sent + some.size() < ctl::kMaxRequestBytes - 16; sent += some.size())
      ASSERT_TRUE(vslab::os::send_all(words.get(), some));
    ASSERT_TRUE(vslab::os::send_all(words.get(), "]}\n"));
    const std::string refused = line_from(words.get(), 60s);
    EXPECT_NE(refused.find(R"("ok":false)"), std::string::npos) << refused.substr(0, 200);
    words.reset();
    ASSERT_EQ(timed_request({"-L", "-n"}).first.exit, 0);
    const long after_words = rss_kb();
    std::printf(
        "figure: RSS %ld kB before a %zu-byte request of 4M words, %ld kB after (+%ld kB)\n",
        before_words, sent, after_words, after_words - before_words);
    EXPECT_LT(after_words - before_words, 16 * 1024) << "kB kept after the request";
  } else {
    std::printf("RSS not checked: AddressSanitizer's allocator keeps what is freed\n");
  }

  // Past the size limit, without an end of line: refused once the limit is passed.
  auto big = connect_to(path_);
  for (sent = 0; sent <= ctl::kMaxRequestBytes; sent += piece.size())
    if (!vslab::os::send_all(big.get(), piece)) break;
  EXPECT_NE(line_from(big.get()).find("larger than 16777216 bytes"), std::string::npos);
}

TEST_F(ControlServerTest, AClientThatDoesNotReadItsListingDelaysNoOne) {
  TableTarget& target = make_target(1u << 17);
  target.fill(100'000);
  start(target);
  // Asks for the listing (about 9 MB), reads none of it.
  auto reader = connect_to(path_);
  ASSERT_TRUE(vslab::os::send_all(reader.get(), ctl::dump_json([] {
                                                  auto r = ctl::apply_request({"-L", "-n", "-c"});
                                                  r["stream"] = true;
                                                  return r;
                                                }()) +
                                                    "\n"));
  // Its answer is parked once its buffers are full; the others go on.
  for (int i = 0; i < 3; ++i) {
    auto [reply, ms] = timed_request({"-A", "-t", "10.0.0." + std::to_string(i + 1) + ":80"});
    std::printf("figure: -A beside a listing nobody reads: %.1f ms\n", ms);
    EXPECT_EQ(reply.exit, 0) << reply.error;
    EXPECT_LT(ms, 2000.0);
  }
}

TEST_F(ControlServerTest, AMillionConnectionsAreListedStreamedAndByteForByte) {
  const uint32_t count = kSanitized ? 100'000 : 1'000'000;
  TableTarget& target = make_target(1u << 20);
  const auto filling = Clock::now();
  target.fill(count);
  std::printf("figure: table of %u entries filled in %.0f ms\n", count, ms_since(filling));
  start(target);
  std::string streamed;
  std::size_t pieces = 0;
  double first_piece_ms = -1;
  const auto start = Clock::now();
  ctl::Reply reply =
      ctl::send_request(path_, ctl::apply_request({"-L", "-n", "-c"}), [&](std::string_view piece) {
        if (pieces++ == 0) first_piece_ms = ms_since(start);
        streamed += piece;
      });
  const double list_ms = ms_since(start);
  ASSERT_EQ(reply.exit, 0) << reply.error;
  std::printf(
      "figure: -L -n -c of %u connections: %.0f ms, %zu bytes in %zu pieces, first "
      "after %.1f ms; %zu data-plane chunks, %.3f ms on average, the longest %.3f ms\n",
      count, list_ms, streamed.size(), pieces, first_piece_ms, target.chunks,
      target.total_chunk_ms / double(target.chunks), target.longest_chunk_ms);
  EXPECT_LT(list_ms, 30'000.0);  // 87 s before; seconds now
  EXPECT_GT(pieces, 10u) << "streamed, not one string";
  // ipvsadm's format, byte for byte: the same text format_connections makes of the whole state.
  ctl::ListOptions options;
  options.kind = ctl::ListKind::Connections;
  options.numeric = true;
  const auto formatting = Clock::now();
  const std::string whole = ctl::format_connections(target.state(), options);
  std::printf(
      "figure: the same listing made in one piece in process (no socket, no JSON): %.0f "
      "ms\n",
      ms_since(formatting));
  EXPECT_EQ(streamed.size(), whole.size());
  EXPECT_TRUE(streamed == whole) << "the streamed listing differs from format_connections";
  EXPECT_EQ(std::count(streamed.begin(), streamed.end(), '\n'), count + 2);

  // Without "stream" the same text comes whole.
  ctl::Reply whole_reply = ctl::send_request(path_, ctl::apply_request({"-L", "-n", "-c"}));
  EXPECT_TRUE(whole_reply.output == whole);
}

TEST_F(ControlServerTest, ASecondServerOnALiveSocketIsRefusedAndTheFirstServesOn) {
  TableTarget& target = make_target();
  start(target);
  try {
    ControlServer second(path_,
                         [&](const std::string& r) { return ctl::start_request(r, target); });
    ADD_FAILURE() << "a second server took the socket over";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  "another vsd answers on " + path_ + " (pid " + std::to_string(getpid()) + ")", 0),
              0u)
        << e.what();
  }
  EXPECT_EQ(timed_request({"-L", "-n"}).first.exit, 0);
}

TEST_F(ControlServerTest, ASocketNobodyAnswersOnIsReplaced) {
  {
    vslab::os::UniqueFd dead(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(bind(dead.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(dead.get(), 1), 0);
  }  // closed: the file stays, as a killed vsd leaves it
  ASSERT_TRUE(std::filesystem::exists(path_));
  EXPECT_NO_THROW(ControlServer::check_not_in_use(path_));
  TableTarget& target = make_target();
  start(target);
  EXPECT_EQ(timed_request({"-L", "-n"}).first.exit, 0);
}

}  // namespace
}  // namespace vsd
