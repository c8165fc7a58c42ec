// HostWatch hands on each change of the host's addresses once, and nothing while they stay.
#include "vsd/host_watch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

TEST(HostWatch, HandsOnEachChangeOnce) {
  const HostAddresses a({ip("10.0.0.1")}, {}), b({ip("10.0.0.1"), ip("10.0.0.100")}, {});
  // What the kernel reports read after read: the same set twice, a VIP added, then it stays.
  const std::vector<HostAddresses> reads{a, a, b, b, b, a};
  std::atomic<std::size_t> next{0};
  std::vector<HostAddresses> seen;
  std::promise<void> done;
  {
    HostWatch watch(
        a,
        [&](const HostAddresses& fresh) {
          seen.push_back(fresh);
          if (seen.size() == 2) done.set_value();
        },
        std::chrono::milliseconds(1), [&] { return reads[std::min(next++, reads.size() - 1)]; });
    ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  EXPECT_EQ(seen, (std::vector<HostAddresses>{b, a}));
}

TEST(HostWatch, AReadThatFailsChangesNothing) {
  std::promise<void> tried;
  std::atomic<bool> told{false};
  std::atomic<int> reads{0};
  {
    HostWatch watch(
        HostAddresses({ip("10.0.0.1")}, {}), [&](const HostAddresses&) { told = true; },
        std::chrono::milliseconds(1),
        [&]() -> HostAddresses {
          if (++reads == 3) tried.set_value();
          throw std::runtime_error("getifaddrs: no memory");
        });
    ASSERT_EQ(tried.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  }
  EXPECT_FALSE(told);
}

}  // namespace
}  // namespace vsd
