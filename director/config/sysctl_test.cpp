// The net.ipv4.vs.* table as vsd --sysctl and vsadm --sysctl check it: names with or without
// the prefix, the kernel's ranges, the kernel's defaults, and refusals that name the setting.
#include "config/sysctl.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace vsd {
namespace {

TEST(Sysctl, DefaultsAreTheKernels) {
  const Sysctls s;
  EXPECT_EQ(get_sysctl(s, "conn_reuse_mode"), "1");
  EXPECT_EQ(get_sysctl(s, "expire_nodest_conn"), "0");
  EXPECT_EQ(get_sysctl(s, "expire_quiescent_template"), "0");
  EXPECT_EQ(get_sysctl(s, "run_estimation"), "1");
  EXPECT_EQ(get_sysctl(s, "snat_reroute"), "1");
  EXPECT_EQ(get_sysctl(s, "pmtu_disc"), "1");
  EXPECT_EQ(get_sysctl(s, "amemthresh"), "1024");
  EXPECT_EQ(get_sysctl(s, "sync_threshold"), "3\t50");
}

TEST(Sysctl, KubeProxysThreeAreTaken) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "net.ipv4.vs.expire_nodest_conn", "1"), "");
  EXPECT_EQ(set_sysctl(s, "expire_quiescent_template", "1"), "");
  EXPECT_EQ(set_sysctl(s, "net/ipv4/vs/conn_reuse_mode", "0"), "");
  EXPECT_EQ(s.expire_nodest_conn, 1);
  EXPECT_EQ(s.expire_quiescent_template, 1);
  EXPECT_EQ(s.conn_reuse_mode, 0);
}

TEST(Sysctl, IntegersAreReadAsTheKernelReadsThem) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "conn_reuse_mode", "0x2"), "");
  EXPECT_EQ(s.conn_reuse_mode, 2);
  EXPECT_EQ(set_sysctl(s, "conn_reuse_mode", " 3\n"), "");
  EXPECT_EQ(s.conn_reuse_mode, 3);
  EXPECT_EQ(set_sysctl(s, "sloppy_tcp", "-1"), "");
  EXPECT_EQ(s.sloppy_tcp, -1);
}

TEST(Sysctl, AnUnknownNameIsRefusedByName) {
  Sysctls s;
  const auto error = set_sysctl(s, "net.ipv4.vs.no_such_thing", "1");
  EXPECT_NE(error.find("unknown sysctl 'net.ipv4.vs.no_such_thing'"), std::string::npos) << error;
  EXPECT_EQ(get_sysctl(s, "ip_forward"), std::nullopt);
}

TEST(Sysctl, AValueOutOfTheKernelsRangeNamesTheSettingAndTheRange) {
  Sysctls s;
  const Sysctls before = s;
  for (auto [name, value] : {std::pair{"expire_nodest_conn", "yes"},
                             {"expire_nodest_conn", "1 2"},
                             {"expire_nodest_conn", "4294967296"},
                             {"drop_entry", "4"},
                             {"sync_ports", "3"},
                             {"sync_retries", "-1"},
                             {"sync_threshold", "50 3"},
                             {"sync_version", "2"}}) {
    const auto error = set_sysctl(s, name, value);
    EXPECT_NE(error.find("invalid value '" + std::string(value) + "' for net.ipv4.vs." + name +
                         ": allowed is "),
              std::string::npos)
        << error;
  }
  EXPECT_EQ(s, before);
}

TEST(Sysctl, SyncPortsTakesPowersOfTwoOnly) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "sync_ports", "4"), "");
  EXPECT_EQ(s.sync_ports, 4);
  EXPECT_EQ(get_sysctl(s, "sync_ports"), "4");
  const auto error = set_sysctl(s, "sync_ports", "3");
  EXPECT_EQ(error,
            "invalid value '3' for net.ipv4.vs.sync_ports: allowed is a power of 2, at least 1");
  EXPECT_NE(set_sysctl(s, "sync_ports", "0"), "");
  EXPECT_EQ(s.sync_ports, 4);
}

// unsigned long in the kernel: a value past 32 bits is kept as it is.
TEST(Sysctl, SyncQlenMaxKeepsA64BitValue) {
  Sysctls s;
  EXPECT_EQ(get_sysctl(s, "sync_qlen_max"), "65536");
  EXPECT_EQ(set_sysctl(s, "sync_qlen_max", "0"), "");
  EXPECT_EQ(s.sync_qlen_max, 0);
  EXPECT_EQ(set_sysctl(s, "sync_qlen_max", "8589934592"), "");
  EXPECT_EQ(s.sync_qlen_max, int64_t(1) << 33);
  EXPECT_EQ(get_sysctl(s, "sync_qlen_max"), "8589934592");
  EXPECT_NE(set_sysctl(s, "sync_qlen_max", "-1"), "");
  EXPECT_EQ(s.sync_qlen_max, int64_t(1) << 33);
}

TEST(Sysctl, TheDefenceModesTakeZeroToThree) {
  Sysctls s;
  for (const char* name : {"drop_entry", "drop_packet", "secure_tcp"}) {
    for (const char* value : {"0", "1", "2", "3"}) {
      EXPECT_EQ(set_sysctl(s, name, value), "") << name << "=" << value;
      EXPECT_EQ(get_sysctl(s, name), value);
    }
    EXPECT_NE(set_sysctl(s, name, "-1"), "");
    EXPECT_EQ(get_sysctl(s, name), "3");
  }
  EXPECT_EQ(set_sysctl(s, "am_droprate", "3"), "");
  EXPECT_EQ(s.am_droprate, 3);
}

// proc_dointvec_jiffies: seconds times HZ (250) must fit an int, either sign.
TEST(Sysctl, TheLocalityExpirationsAreSecondsThatFitInJiffies) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "lblc_expiration", "120"), "");
  EXPECT_EQ(s.lblc_expiration, 120);
  EXPECT_EQ(set_sysctl(s, "lblcr_expiration", "-8589934"), "");
  EXPECT_EQ(get_sysctl(s, "lblcr_expiration"), "-8589934");
  EXPECT_NE(set_sysctl(s, "lblc_expiration", "8589935"), "");
  EXPECT_EQ(s.lblc_expiration, 120);
}

TEST(Sysctl, PmtuDiscIsTakenOnAndOff) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "net.ipv4.vs.pmtu_disc", "0"), "");
  EXPECT_EQ(s.pmtu_disc, 0);
  EXPECT_EQ(get_sysctl(s, "pmtu_disc"), "0");
  EXPECT_EQ(set_sysctl(s, "pmtu_disc", "7"), "");
  EXPECT_EQ(s.pmtu_disc, 7);
}

TEST(Sysctl, SyncThresholdTakesItsTwoValues) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "sync_threshold", "2 10"), "");
  EXPECT_EQ(s.sync_threshold, 2);
  EXPECT_EQ(s.sync_period, 10);
  EXPECT_EQ(get_sysctl(s, "sync_threshold"), "2\t10");
  EXPECT_EQ(set_sysctl(s, "sync_threshold", "5 0"), "");
  EXPECT_NE(set_sysctl(s, "sync_threshold", "5"), "");
  EXPECT_EQ(s.sync_threshold, 5);
  EXPECT_EQ(s.sync_period, 0);
}

TEST(Sysctl, EveryNameOnceWithADefaultItAccepts) {
  std::set<std::string_view> names;
  for (const auto& info : sysctl_table()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    Sysctls s;
    EXPECT_EQ(set_sysctl(s, info.name, info.fallback), "") << info.name;
    EXPECT_EQ(s, Sysctls{}) << info.name;
    EXPECT_EQ(info.field == nullptr,
              info.support == SysctlSupport::DefaultOnly || info.name == "sync_qlen_max")
        << info.name;
  }
  EXPECT_EQ(names.size(), 29u);
}

// The sync settings vsd now acts on keep what they are set to, in the kernel's ranges.
TEST(Sysctl, SyncSettingsAndBackupOnlyAreKept) {
  Sysctls s;
  EXPECT_EQ(set_sysctl(s, "sync_version", "0"), "");
  EXPECT_EQ(set_sysctl(s, "net.ipv4.vs.sync_refresh_period", "30"), "");
  EXPECT_EQ(set_sysctl(s, "sync_retries", "3"), "");
  EXPECT_EQ(set_sysctl(s, "sync_persist_mode", "1"), "");
  EXPECT_EQ(set_sysctl(s, "sync_sock_size", "262144"), "");
  EXPECT_EQ(set_sysctl(s, "backup_only", "7"), "");
  EXPECT_EQ(s.sync_version, 0);
  EXPECT_EQ(s.sync_refresh_period, 30);
  EXPECT_EQ(s.sync_retries, 3);
  EXPECT_EQ(s.sync_persist_mode, 1);
  EXPECT_EQ(s.sync_sock_size, 262144);
  EXPECT_EQ(s.backup_only, 7);
  EXPECT_EQ(get_sysctl(s, "backup_only"), "7");
  const Sysctls before = s;
  EXPECT_NE(set_sysctl(s, "sync_retries", "4"), "");
  EXPECT_NE(set_sysctl(s, "sync_version", "2"), "");
  EXPECT_EQ(s, before);
  EXPECT_EQ(set_sysctl(s, "sync_ports", "2"), "");
  EXPECT_EQ(set_sysctl(s, "sync_qlen_max", "10"), "");
  EXPECT_EQ(s.sync_ports, 2);
  EXPECT_EQ(s.sync_qlen_max, 10);
}

TEST(Sysctl, AssignmentsSplitAtTheFirstEquals) {
  EXPECT_EQ(split_assignment("conn_reuse_mode=0"),
            (std::pair<std::string, std::string>{"conn_reuse_mode", "0"}));
  EXPECT_EQ(split_assignment("sync_threshold=3 50"),
            (std::pair<std::string, std::string>{"sync_threshold", "3 50"}));
  EXPECT_EQ(split_assignment("conn_reuse_mode"), std::nullopt);
  EXPECT_EQ(split_assignment("=1"), std::nullopt);
  EXPECT_EQ(split_assignment("conn_reuse_mode="), std::nullopt);
}

TEST(Sysctl, TheListingHasEveryNameWithItsPrefix) {
  Sysctls s;
  s.conn_reuse_mode = 0;
  const auto text = list_sysctls(s);
  EXPECT_NE(text.find("net.ipv4.vs.conn_reuse_mode = 0\n"), std::string::npos);
  EXPECT_NE(text.find("net.ipv4.vs.lblcr_expiration = 86400\n"), std::string::npos);
}

}  // namespace
}  // namespace vsd
