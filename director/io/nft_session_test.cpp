// What NftSession hands back: each command's own words only. Syntax errors never reach the
// kernel, so this needs no root.
#include "io/nft_session.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

TEST(NftSession, EachOutcomeCarriesOnlyItsOwnMessage) {
  NftSession nft;
  auto long_error = nft.run("add table netdev vsd_x { bogus_statement_of_some_length; }\n");
  EXPECT_FALSE(long_error.ok);
  EXPECT_NE(long_error.output.find("bogus_statement_of_some_length"), std::string::npos)
      << long_error.output;
  auto short_error = nft.run("frob\n");
  EXPECT_FALSE(short_error.ok);
  EXPECT_NE(short_error.output.find("frob"), std::string::npos) << short_error.output;
  EXPECT_EQ(short_error.output.find("bogus"), std::string::npos) << short_error.output;
}

}  // namespace
}  // namespace vsd
