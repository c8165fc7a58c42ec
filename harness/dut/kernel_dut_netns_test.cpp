// The kernel adapter on this machine's real kernel, in a real director namespace: where the
// kernel has no IPVS it must refuse to start with the reason (and every case skips on it);
// where it has IPVS it must take and list rules.
#include <sys/utsname.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "dut/kernel_dut.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vslab::dut {
namespace {

TEST(KernelDutHere, StartsOrSaysWhyNot) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  auto parsed = topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/nat.toml");
  ASSERT_TRUE(parsed.ok());
  topo::LiveTopology live(*parsed.topology);
  KernelDut dut;
  bool has_ipvs = live.exec("director", {"test", "-e", "/proc/net/ip_vs"}).ok();
  bool has_ipvsadm = access("/usr/sbin/ipvsadm", X_OK) == 0 || access("/sbin/ipvsadm", X_OK) == 0;

  if (!has_ipvs || !has_ipvsadm) {
    utsname names{};
    uname(&names);
    try {
      dut.start(live);
      FAIL() << "started without kernel IPVS";
    } catch (const DutUnavailable& e) {
      std::string why = e.what();
      EXPECT_EQ(why.rfind("kernel IPVS not available: ", 0), 0u) << why;
      if (!has_ipvs) {
        EXPECT_NE(why.find("/proc/net/ip_vs missing"), std::string::npos) << why;
        EXPECT_NE(why.find(std::string("kernel ") + names.release), std::string::npos) << why;
      }
      if (!has_ipvsadm) {
        EXPECT_NE(why.find("ipvsadm is not installed"), std::string::npos) << why;
      }
    }
    return;
  }
  dut.start(live);
  auto restored = dut.restore(
      "-A -t 10.20.0.100:80 -s rr\n"
      "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n");
  ASSERT_TRUE(restored.ok()) << restored.output;
  auto listing = dut.admin({"-L", "-n"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("192.168.10.11:8080"), std::string::npos) << listing.output;
  auto vip = live.exec("director", {"ip", "-br", "addr", "show", "dev", "eth0"});
  EXPECT_NE(vip.output.find("10.20.0.100/32"), std::string::npos) << vip.output;
  dut.stop();
}

}  // namespace
}  // namespace vslab::dut
