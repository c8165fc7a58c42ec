// IPVS scheduler names as ipvsadm takes them (docs/ipvs.md, section 6): the one list
// of them outside director/, for what a DUT may claim and for the conformance matrix's rows.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace vslab::dut {

struct IpvsScheduler {
  std::string_view name;
  bool in_linux61;  // net/netfilter/ipvs/ip_vs_<name>.c exists in Linux 6.1
};

// Every scheduler ipvsadm knows, in the order of the conformance matrix's rows.
inline constexpr std::array<IpvsScheduler, 14> kIpvsSchedulers{{
    {"rr", true},
    {"wrr", true},
    {"lc", true},
    {"wlc", true},
    {"sed", true},
    {"nq", true},
    {"lblc", true},
    {"lblcr", true},
    {"dh", true},
    {"sh", true},
    {"mh", true},
    {"fo", true},
    {"ovf", true},
    {"twos", false},  // ip_vs_twos.c, mainline only since 6.5
}};

// The schedulers of Linux 6.1, in kIpvsSchedulers' order.
inline constexpr auto kKernel61Schedulers = [] {
  constexpr auto count = std::count_if(kIpvsSchedulers.begin(), kIpvsSchedulers.end(),
                                       [](const IpvsScheduler& s) { return s.in_linux61; });
  std::array<std::string_view, count> names{};
  std::size_t n = 0;
  for (const auto& s : kIpvsSchedulers)
    if (s.in_linux61) names[n++] = s.name;
  return names;
}();

// Not in 6.1, and the one that picks at random (power of two choices), so no run can compare
// its choices with another's.
inline constexpr std::string_view kTwosScheduler = "twos";

inline bool is_kernel61_scheduler(std::string_view name) {
  return std::find(kKernel61Schedulers.begin(), kKernel61Schedulers.end(), name) !=
         kKernel61Schedulers.end();
}

inline bool is_ipvs_scheduler(std::string_view name) {
  return std::any_of(kIpvsSchedulers.begin(), kIpvsSchedulers.end(),
                     [&](const IpvsScheduler& s) { return s.name == name; });
}

}  // namespace vslab::dut
