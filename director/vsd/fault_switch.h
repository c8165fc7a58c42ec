// vsd's test-only fault switch (vsd --test-fault NAME): bugs made on purpose, so that the
// conformance suite can show it fails exactly the cells that check what a bug breaks. Not part
// of the product: only vsd's command line reaches it, never vsadm or the control socket, and
// every fault is off unless named there.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/result.h"
#include "sched/scheduler.h"

namespace vsd {

enum class TestFault : uint8_t {
  NoTtlDecrement,     // forwarded packets keep their TTL (NAT, DR, TUN inside and out, FULLNAT)
  WrrOffByOne,        // wrr takes the available destination after the one it should
  NoNatReplyRewrite,  // NAT replies leave with the real server's address, not the VIP
};

// Every fault's --test-fault name, comma-separated, for --help and errors.
std::string test_fault_names();
std::string_view name_of(TestFault fault);

// The faults --test-fault named, each once, in the order first named; or a usage failure
// (exit 2) naming the first unknown name and the known ones.
ctl::Result<std::vector<TestFault>> parse_test_faults(std::span<const std::string> names);

// Breaks this process's director for good; call once per fault, before the first frame and
// before the first service is installed (a wrr made earlier is not decorated).
void switch_on(TestFault fault);

// The wrr-off-by-one decorator: the first available destination after the one `inner` picks,
// in list order and round past the end. The inner scheduler keeps its own state (wrr's cursor
// stays on its own choice), so its sequence, shifted by one, is what comes out.
std::unique_ptr<Scheduler> pick_one_after(std::unique_ptr<Scheduler> inner);

}  // namespace vsd
