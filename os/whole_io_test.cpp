// Whole-buffer I/O through a pipe and a socket far smaller than what is written, while
// signals without SA_RESTART keep interrupting both ends: every byte arrives, in order.
#include "os/whole_io.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "os/unique_fd.h"

namespace vslab::os {
namespace {

std::atomic<int> interruptions{0};
void count_interruption(int) {
  interruptions.fetch_add(1, std::memory_order_relaxed);
}

// Without SA_RESTART a signal makes a blocked write return what it wrote so far (a short
// write) or -1/EINTR, and a blocked read -1/EINTR: the cases the functions must ride over.
class InterruptingSignal {
 public:
  InterruptingSignal() {
    struct sigaction action {};
    action.sa_handler = count_interruption;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGUSR1, &action, &old_);
  }
  ~InterruptingSignal() { sigaction(SIGUSR1, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = char((i * 7 + i / 251) & 0xff);
  return bytes;
}

// Writes `bytes` with `write` on one thread while this one reads them back with read_exact in
// odd-sized pieces, both interrupted by SIGUSR1 until the writer is done.
void round_trip(int read_fd, const std::function<bool(std::string_view)>& write,
                const std::string& bytes) {
  InterruptingSignal interrupting;
  interruptions = 0;
  std::atomic<bool> written{false}, write_ok{false};
  std::thread writer([&] {
    write_ok = write(bytes);
    written = true;
  });
  const pthread_t reader = pthread_self(), writer_thread = writer.native_handle();
  std::thread interrupter([&] {
    while (!written) {
      pthread_kill(writer_thread, SIGUSR1);
      pthread_kill(reader, SIGUSR1);
      std::this_thread::yield();
    }
  });
  std::string got(bytes.size(), '\0');
  std::size_t at = 0;
  bool read_ok = true;
  while (read_ok && at < got.size()) {
    const std::size_t piece = std::min<std::size_t>(777, got.size() - at);
    read_ok = read_exact(read_fd, got.data() + at, piece);
    at += piece;
  }
  writer.join();
  interrupter.join();
  EXPECT_TRUE(write_ok);
  EXPECT_TRUE(read_ok);
  EXPECT_TRUE(got == bytes) << "the bytes arrived changed or out of order";
  EXPECT_GT(interruptions.load(), 0) << "no signal interrupted the transfer";
}

TEST(WriteAll, SendsEveryByteThroughASmallPipeDespiteInterruptions) {
  auto pipe = make_pipe(O_CLOEXEC);
  ASSERT_GE(fcntl(pipe.second.get(), F_SETPIPE_SZ, 4096), 4096);
  const int fd = pipe.second.get();
  round_trip(
      pipe.first.get(), [fd](std::string_view b) { return write_all(fd, b); }, pattern(4 << 20));
}

TEST(SendAll, SendsEveryByteThroughASmallSocketBufferDespiteInterruptions) {
  auto pair = make_socket_pair(SOCK_STREAM | SOCK_CLOEXEC);
  const int small = 4096;
  setsockopt(pair.second.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  setsockopt(pair.first.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const int fd = pair.second.get();
  round_trip(
      pair.first.get(), [fd](std::string_view b) { return send_all(fd, b); }, pattern(4 << 20));
}

TEST(SendAll, APeerThatWentAwayIsAnErrorNotASignal) {
  auto pair = make_socket_pair(SOCK_STREAM | SOCK_CLOEXEC);
  pair.first.reset();
  EXPECT_FALSE(send_all(pair.second.get(), "hello"));
  EXPECT_EQ(errno, EPIPE);
}

TEST(ReadExact, EndOfFileBeforeTheWholeBufferIsAFailureWithErrnoZero) {
  auto pipe = make_pipe(O_CLOEXEC);
  ASSERT_TRUE(write_all(pipe.second.get(), "abc"));
  pipe.second.reset();
  char buffer[4];
  EXPECT_FALSE(read_exact(pipe.first.get(), buffer, sizeof buffer));
  EXPECT_EQ(errno, 0);
}

TEST(ReadToEnd, AppendsEverythingUpToEndOfFile) {
  auto pipe = make_pipe(O_CLOEXEC);
  const std::string bytes = pattern(10000);
  std::thread writer([&] {
    write_all(pipe.second.get(), bytes);
    pipe.second.reset();
  });
  std::string got = "before:";
  EXPECT_TRUE(read_to_end(pipe.first.get(), got));
  writer.join();
  EXPECT_EQ(got, "before:" + bytes);
}

}  // namespace
}  // namespace vslab::os
