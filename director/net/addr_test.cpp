// Address value types parse and print what ipvsadm users type, and reject the rest.
#include "net/addr.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

TEST(Ipv4, ParsesDottedQuadsInHostOrder) {
  auto a = Ipv4::parse("10.20.0.100");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0x0a140064u);
  EXPECT_EQ(a->str(), "10.20.0.100");
  EXPECT_EQ(Ipv4::from_octets(192, 168, 1, 1).str(), "192.168.1.1");
}

TEST(Ipv4, RejectsWhatIsNotAnAddress) {
  for (const char* bad :
       {"", "999.1.1.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "1.2.3.4 ", "1.2.3.4/24", "10.0.0.1:80"})
    EXPECT_FALSE(Ipv4::parse(bad)) << bad;
}

TEST(Ipv4, MasksAndOrders) {
  auto a = *Ipv4::parse("10.0.5.2");
  EXPECT_EQ(a.masked(*Ipv4::parse("255.255.255.0")).str(), "10.0.5.0");
  EXPECT_LT(*Ipv4::parse("10.0.0.9"), *Ipv4::parse("10.0.0.10"));
}

TEST(Mac, ParsesAndPrintsLowerCase) {
  auto m = Mac::parse("02:76:73:0A:ff:00");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->str(), "02:76:73:0a:ff:00");
  EXPECT_FALSE(Mac::parse("02:76:73:0a:ff"));
  EXPECT_FALSE(Mac::parse("02-76-73-0a-ff-00"));
  EXPECT_FALSE(Mac::parse("02:76:73:0a:fg:00"));
  EXPECT_TRUE(Mac{}.is_zero());
}

TEST(Endpoint, PrintsAsIpvsadmDoes) {
  EXPECT_EQ((Endpoint{*Ipv4::parse("192.168.1.11"), 80}).str(), "192.168.1.11:80");
  EXPECT_EQ(proto_name(Proto::Udp), "UDP");
}

}  // namespace
}  // namespace vsd
