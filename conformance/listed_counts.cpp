#include "listed_counts.h"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>

namespace vslab::conformance {

namespace {

// Every destination line of an `-L -n` listing: "ADDRESS:PORT" -> its counts.
std::map<std::string, ListedCounts> destination_lines(const std::string& listing) {
  std::map<std::string, ListedCounts> out;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string arrow, address, method;
    ListedCounts counts;
    int weight = 0;
    if (in >> arrow >> address >> method >> weight >> counts.active >> counts.inactive &&
        arrow == "->")
      out[address] = counts;
  }
  return out;
}

}  // namespace

ListedCounts listed_counts_of(const std::string& listing, const std::string& destination) {
  auto all = destination_lines(listing);
  auto it = all.find(destination);
  return it == all.end() ? ListedCounts{-1, -1} : it->second;
}

std::map<int, ListedCounts> listed_counts(ModeBed& bed) {
  auto listing = bed.admin({"-L", "-n"});
  EXPECT_TRUE(listing.ok()) << listing.output;
  std::map<int, ListedCounts> out;
  for (const auto& [address, counts] : destination_lines(listing.output))
    for (int rs = 1; rs <= 3; ++rs)
      if (address.substr(0, address.find(':')) == bed.rs(rs).ip) out[rs] = counts;
  return out;
}

void expect_listed_counts(ModeBed& bed, const std::map<int, ListedCounts>& want) {
  auto got = listed_counts(bed);
  for (const auto& [rs, counts] : want) {
    auto it = got.find(rs);
    if (it == got.end()) {
      ADD_FAILURE() << "-L -n does not list rs" << rs;
      continue;
    }
    EXPECT_EQ(it->second.active, counts.active) << "ActiveConn of rs" << rs;
    EXPECT_EQ(it->second.inactive, counts.inactive) << "InActConn of rs" << rs;
  }
  if (testing::Test::HasFailure()) std::cerr << "-L -n:\n" << bed.admin({"-L", "-n"}).output;
}

}  // namespace vslab::conformance
