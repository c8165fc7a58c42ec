// The ingress tables' names, and what vsd reads back from nft's listings of them: who owns a
// table and which ports it hooks. The listings are nft 1.0.6's own output (nft -t).
#include "io/ingress_tables.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

TEST(IngressTableName, KeepsPlainNamesAndEscapesTheRestSoNoTwoInterfacesMeet) {
  EXPECT_EQ(ingress_table_name("eth0"), "vsd_eth0");
  EXPECT_EQ(ingress_table_name("veth-a.10"), "vsd_veth-a.10");
  EXPECT_EQ(ingress_table_name("br_1"), "vsd_br_5f1");
  EXPECT_EQ(ingress_table_name("br@1"), "vsd_br_401");
  EXPECT_NE(ingress_table_name("a_401"), ingress_table_name("a@1"));
}

TEST(ParseIngressTable, AnOwnedTableNamesItsOwnerAndItsPort) {
  const char* listing =
      "table netdev vsd_eth0 { # progname vsd\n"
      "\tflags owner\n"
      "\tcomment \"vsd pid 28764\"\n"
      "\n"
      "\tset host {\n"
      "\t\ttype ipv4_addr\n"
      "\t}\n"
      "\n"
      "\tchain to_host {\n"
      "\t\tip daddr . meta l4proto . th dport @services drop\n"
      "\t\taccept\n"
      "\t}\n"
      "\n"
      "\tchain ingress {\n"
      "\t\ttype filter hook ingress device \"eth0\" priority filter; policy drop;\n"
      "\t\tether type arp accept\n"
      "\t}\n"
      "}\n";
  IngressTable table = parse_ingress_table("vsd_eth0", listing);
  EXPECT_TRUE(table.owned);
  EXPECT_EQ(table.owner_pid, 28764);
  EXPECT_EQ(table.devices, std::vector<std::string>{"eth0"});
  EXPECT_TRUE(table.hooks_any({"eth1", "eth0"}));
  EXPECT_FALSE(table.hooks_any({"eth1"}));
}

// The table of vsd before it owned its tables: one for every port, no flags, no comment.
TEST(ParseIngressTable, AnOlderVsdsTableIsNobodysAndHooksEachPort) {
  const char* listing =
      "table netdev vsd {\n"
      "\tchain ingress0 {\n"
      "\t\ttype filter hook ingress device \"eth0\" priority filter; policy drop;\n"
      "\t\tcomment \"vsd pid 1\"\n"
      "\t}\n"
      "\n"
      "\tchain ingress1 {\n"
      "\t\ttype filter hook ingress device \"eth1\" priority filter; policy drop;\n"
      "\t}\n"
      "}\n";
  IngressTable table = parse_ingress_table("vsd", listing);
  EXPECT_FALSE(table.owned);
  EXPECT_EQ(table.owner_pid, 0) << "a chain's comment is not the table's";
  EXPECT_EQ(table.devices, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(table.hooks_any({"eth1"}));
}

TEST(ParseIngressTable, AChainOnSeveralDevicesHooksEachAndOtherFlagsAreNotOwner) {
  const char* listing =
      "table netdev vsd_x {\n"
      "\tflags dormant\n"
      "\tchain c {\n"
      "\t\ttype filter hook ingress devices = { \"a0\", b1 } priority filter; policy drop;\n"
      "\t}\n"
      "}\n";
  IngressTable table = parse_ingress_table("vsd_x", listing);
  EXPECT_FALSE(table.owned);
  EXPECT_EQ(table.devices, (std::vector<std::string>{"a0", "b1"}));
}

TEST(VsdTableNames, TakesVsdsAndLeavesTheRest) {
  EXPECT_EQ(vsd_table_names("table netdev vsd\n"
                            "table netdev vsd_eth0\n"
                            "table netdev vsdx\n"
                            "table netdev mine\n"
                            "table netdev vsd_br_5f1 { # progname vsd\n"),
            (std::vector<std::string>{"vsd", "vsd_eth0", "vsd_br_5f1"}));
}

TEST(OwnerComment, IsWhatTheParserReadsBack) {
  IngressTable table =
      parse_ingress_table("vsd_eth0", "table netdev vsd_eth0 {\n\tflags owner\n\tcomment \"" +
                                          owner_comment(77) + "\"\n}\n");
  EXPECT_EQ(table.owner_pid, 77);
}

}  // namespace
}  // namespace vsd
