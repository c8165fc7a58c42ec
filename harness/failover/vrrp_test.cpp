// keepalived's file for a director of a failover pair: one vrrp_instance, no checkers, the
// addresses on the interfaces they belong to.
#include "failover/vrrp.h"

#include <gtest/gtest.h>

namespace vslab::failover {
namespace {

TEST(KeepalivedConfig, OneInstanceInStateBackupWithEachAddressOnItsInterface) {
  VrrpInstance vi;
  vi.interface = "eth0";
  vi.virtual_router_id = 7;
  vi.priority = 150;
  vi.advert_centiseconds = 25;
  vi.addresses = {{"10.20.0.100/32", "eth0"}, {"192.168.10.1/32", "eth1"}};
  const std::string text = keepalived_config("vslab_director", vi);
  EXPECT_NE(text.find("router_id vslab_director\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vrrp_version 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  state BACKUP\n  interface eth0\n  virtual_router_id 7\n  priority 150\n"
                      "  advert_int 0.25\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    10.20.0.100/32 dev eth0\n    192.168.10.1/32 dev eth1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("virtual_server"), std::string::npos) << text;
}

TEST(FloatingAddress, IsTheCidrWithoutItsPrefix) {
  EXPECT_EQ((FloatingAddress{"10.20.0.100/32", "eth0"}).address(), "10.20.0.100");
}

}  // namespace
}  // namespace vslab::failover
