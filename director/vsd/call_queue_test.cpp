#include "vsd/call_queue.h"

#include <poll.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace vsd {
namespace {

// The owner's loop as vsd runs it: wait for the queue's fd, run what is pending.
void serve_until(CallQueue& queue, const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{queue.fd(), POLLIN, 0};
    if (poll(&p, 1, 50) > 0) queue.run_pending();
  }
}

TEST(CallQueue, RunsEachCallOnTheOwningThreadInOrder) {
  CallQueue queue;
  std::atomic<bool> stop = false;
  std::thread::id owner;
  std::thread loop([&] {
    owner = std::this_thread::get_id();
    serve_until(queue, stop);
  });
  std::vector<int> order;  // touched only by the owner
  std::vector<std::thread::id> ran_on;
  std::thread callers[4];
  for (int i = 0; i < 4; ++i)
    callers[i] = std::thread([&, i] {
      for (int k = 0; k < 50; ++k)
        ASSERT_TRUE(queue.call([&] {
          order.push_back(i);
          ran_on.push_back(std::this_thread::get_id());
        }));
    });
  for (auto& c : callers) c.join();
  // Each call returned only after it ran, so everything is recorded before stop.
  stop = true;
  loop.join();
  EXPECT_EQ(order.size(), 200u);
  for (auto id : ran_on) EXPECT_EQ(id, owner);
}

TEST(CallQueue, ACallerSeesItsResultWhenCallReturns) {
  CallQueue queue;
  std::atomic<bool> stop = false;
  std::thread loop([&] { serve_until(queue, stop); });
  int value = 0;
  ASSERT_TRUE(queue.call([&] { value = 42; }));
  EXPECT_EQ(value, 42);
  stop = true;
  loop.join();
}

TEST(CallQueue, AnExceptionReachesTheCallerNotTheOwner) {
  CallQueue queue;
  std::atomic<bool> stop = false;
  std::thread loop([&] { serve_until(queue, stop); });
  EXPECT_THROW(queue.call([] { throw std::runtime_error("bad rule"); }), std::runtime_error);
  int after = 0;
  EXPECT_TRUE(queue.call([&] { after = 1; }));  // the owner kept serving
  EXPECT_EQ(after, 1);
  stop = true;
  loop.join();
}

TEST(CallQueue, CloseReleasesAWaitingCallerWithoutRunningIt) {
  CallQueue queue;
  std::atomic<bool> ran = false, result = true;
  std::thread caller([&] { result = queue.call([&] { ran = true; }); });
  // The owner never serves; once the call is waiting (the fd is readable), it closes.
  pollfd p{queue.fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  queue.close();
  caller.join();
  EXPECT_FALSE(result);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(queue.call([] {}));  // closed for good
}

}  // namespace
}  // namespace vsd
