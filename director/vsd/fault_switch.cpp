// The test faults switched on where they act: the forwarding ones through fwd::test_faults,
// wrr's by decorating its factory in the scheduler registry. With no fault named, the per-packet
// path pays a load for the TTL step and one predictable test on NAT replies, and wrr nothing.
#include "vsd/fault_switch.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "fwd/test_faults.h"

namespace vsd {
namespace {

class PickOneAfter final : public Scheduler {
 public:
  explicit PickOneAfter(std::unique_ptr<Scheduler> inner) : inner_(std::move(inner)) {}

  void on_change(std::span<const SchedDest> dests) override { inner_->on_change(dests); }

  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t now_ms) override {
    const int chosen = inner_->pick(dests, flow, now_ms);
    if (chosen < 0) return chosen;
    // Only an available one, so that the fault shows in the order of the picks alone and not
    // as a quiesced or overloaded server getting traffic, which other cells check.
    const int n = int(dests.size());
    for (int step = 1; step < n; ++step)
      if (dests[(chosen + step) % n].available()) return (chosen + step) % n;
    return chosen;
  }

 private:
  std::unique_ptr<Scheduler> inner_;
};

struct TestFaultName {
  std::string_view name;
  TestFault fault;
};

constexpr std::array<TestFaultName, 3> kNames{{
    {"no-ttl-decrement", TestFault::NoTtlDecrement},
    {"wrr-off-by-one", TestFault::WrrOffByOne},
    {"no-nat-reply-rewrite", TestFault::NoNatReplyRewrite},
}};

}  // namespace

std::string test_fault_names() {
  std::string list;
  for (const auto& known : kNames) list += (list.empty() ? "" : ", ") + std::string(known.name);
  return list;
}

std::string_view name_of(TestFault fault) {
  for (const auto& known : kNames)
    if (known.fault == fault) return known.name;
  throw std::logic_error("a test fault without a name");
}

ctl::Result<std::vector<TestFault>> parse_test_faults(std::span<const std::string> names) {
  std::vector<TestFault> faults;
  for (const auto& name : names) {
    auto known = std::find_if(kNames.begin(), kNames.end(),
                              [&](const TestFaultName& k) { return k.name == name; });
    if (known == kNames.end())
      return ctl::usage_error("unknown test fault `" + name + "' (known: " + test_fault_names() +
                              ")");
    if (std::find(faults.begin(), faults.end(), known->fault) == faults.end())
      faults.push_back(known->fault);
  }
  return faults;
}

void switch_on(TestFault fault) {
  switch (fault) {
    case TestFault::NoTtlDecrement:
      fwd::test_faults.ttl_decrement = 0;
      return;
    case TestFault::NoNatReplyRewrite:
      fwd::test_faults.keep_nat_reply_source = true;
      return;
    case TestFault::WrrOffByOne:
      if (!decorate_scheduler("wrr", pick_one_after))
        throw std::logic_error("wrr-off-by-one: no scheduler registered as wrr");
      return;
  }
}

std::unique_ptr<Scheduler> pick_one_after(std::unique_ptr<Scheduler> inner) {
  return std::make_unique<PickOneAfter>(std::move(inner));
}

}  // namespace vsd
