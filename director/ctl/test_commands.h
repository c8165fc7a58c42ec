// The ctl tests' shared vocabulary: command lines as words, parsed or applied, with the
// failure reported in the test that wrote the line.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/apply.h"
#include "ctl/command.h"

namespace vsd::ctl::test_lines {

inline std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

inline Command parsed(const std::string& line) {
  auto result = parse_command(words(line));
  EXPECT_TRUE(result.ok()) << line << ": " << (result.ok() ? "" : result.failure().message);
  return result.ok() ? result.value() : Command{};
}

inline Failure failure_of(const std::string& line) {
  auto result = parse_command(words(line));
  EXPECT_FALSE(result.ok()) << line << " was accepted";
  return result.ok() ? Failure{} : result.failure();
}

// Parses and applies one command line; the failure, if any.
inline std::optional<Failure> run(RuleSet& rules, const std::string& line) {
  auto command = parse_command(words(line));
  if (!command.ok()) return command.failure();
  return apply(rules, command.value());
}

inline void run_ok(RuleSet& rules, const std::string& line) {
  auto failure = run(rules, line);
  ASSERT_FALSE(failure) << line << ": " << *failure;
}

inline ServiceKey tcp(const char* addr, uint16_t port) {
  return {Proto::Tcp, {*Ipv4::parse(addr), port}, 0};
}
inline Endpoint ep(const char* addr, uint16_t port) {
  return {*Ipv4::parse(addr), port};
}
// IPv6: "2001:db8::1" without brackets.
inline IpEndpoint ep6(const char* addr, uint16_t port) {
  return {*IpAddr::parse_v6(addr), port};
}
inline ServiceKey tcp6(const char* addr, uint16_t port) {
  return {Proto::Tcp, ep6(addr, port), 0};
}
inline ServiceKey udp6(const char* addr, uint16_t port) {
  return {Proto::Udp, ep6(addr, port), 0};
}
inline ServiceKey fwmark6(uint32_t mark) {
  return {Proto::Tcp, IpEndpoint(IpAddr::zero(Family::V6), 0), mark};
}

}  // namespace vsd::ctl::test_lines
