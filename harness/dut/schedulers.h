// IPVS scheduler names as ipvsadm takes them (spec/ipvs-semantics.md, section 6), for what a
// DUT may claim.
#pragma once

#include <algorithm>
#include <array>
#include <string_view>

namespace vslab::dut {

// Every scheduler of Linux 6.1 (net/netfilter/ipvs/ip_vs_*.c).
inline constexpr std::array<std::string_view, 13> kKernel61Schedulers = {
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"};

// ip_vs_twos.c, mainline only since 6.5.
inline constexpr std::string_view kTwosScheduler = "twos";

inline bool is_kernel61_scheduler(std::string_view name) {
  return std::find(kKernel61Schedulers.begin(), kKernel61Schedulers.end(), name) !=
         kKernel61Schedulers.end();
}

inline bool is_ipvs_scheduler(std::string_view name) {
  return is_kernel61_scheduler(name) || name == kTwosScheduler;
}

}  // namespace vslab::dut
