#include "vsd/control_bridge.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace vsd {
namespace {

// Preparing 100k services takes the control thread a few hundred ms of CPU, and nft as much
// again; on a busy 2-core box that would be taken from forwarding. While it lasts, the calling
// thread (and the nft work it does) runs at a lower priority than the data plane; the old nice
// value comes back after (root may raise it again; without root it stays lowered, which only
// slows control requests).
class YieldToForwarding {
 public:
  YieldToForwarding() : tid_(id_t(syscall(SYS_gettid))) {
    errno = 0;
    before_ = getpriority(PRIO_PROCESS, tid_);
    if (errno == 0 && before_ < kNice) lowered_ = setpriority(PRIO_PROCESS, tid_, kNice) == 0;
  }
  ~YieldToForwarding() {
    if (lowered_) setpriority(PRIO_PROCESS, tid_, before_);
  }
  YieldToForwarding(const YieldToForwarding&) = delete;
  YieldToForwarding& operator=(const YieldToForwarding&) = delete;

 private:
  static constexpr int kNice = 10;
  id_t tid_;
  int before_ = 0;
  bool lowered_ = false;
};

}  // namespace

void ControlBridge::on_dataplane(const std::function<void()>& fn) const {
  if (!calls_.call(fn)) throw std::runtime_error("vsd is shutting down");
}

RuleSet ControlBridge::rules() const {
  std::shared_ptr<const RuleSet> now;
  {
    std::lock_guard lock(mutex_);
    now = rules_;
  }
  return *now;
}

std::string ControlBridge::install(const RuleSet& next) {
  std::unique_lock lock(mutex_);
  YieldToForwarding nice;
  // Everything that grows with the rules is done here, on this thread; the data plane's part
  // is proportional to what changed. What it replaced comes back in the plan and is freed
  // here when the plan goes.
  PreparedInstall plan = dataplane_.prepare(next);
  std::string error = plan.services.error;
  if (!error.empty()) return error;
  std::shared_ptr<const RuleSet> installed = plan.services.table->rules;
  on_dataplane([&] { error = dataplane_.commit(plan); });
  if (!error.empty()) return error;
  rules_ = std::move(installed);
  // Under the lock, so that the ingress chain's sets follow the installs in their order.
  if (on_installed_) on_installed_(*rules_);
  return error;
}

DirectorState ControlBridge::state() const {
  DirectorState out;
  on_dataplane([&] { out = dataplane_.state(); });
  return out;
}

void ControlBridge::zero(const std::optional<ServiceKey>& which) {
  on_dataplane([&] { dataplane_.zero(which); });
}

std::string ControlBridge::answer(const std::string& request) {
  // Only a string "op" of "counters" is vsd's own; every other request, wrong types included,
  // goes to handle_request, which checks each field's type before it reads it.
  auto parsed = nlohmann::json::parse(request, nullptr, /*allow_exceptions=*/false);
  const auto op = parsed.is_object() ? parsed.find("op") : parsed.end();
  if (op == parsed.end() || !op->is_string() || op->get_ref<const std::string&>() != "counters")
    return ctl::handle_request(request, *this);
  std::vector<std::pair<std::string, uint64_t>> counters;
  if (!calls_.call([&] { counters = dataplane_.counters(); }))
    return ctl::dump_json(
        {{"ok", false}, {"exit", 255}, {"output", ""}, {"error", "vsd is shutting down"}});
  nlohmann::json values = nlohmann::json::object();
  std::string text;
  for (const auto& [name, value] : counters) {
    values[name] = value;
    text += name + " " + std::to_string(value) + "\n";
  }
  return ctl::dump_json(
      {{"ok", true}, {"exit", 0}, {"output", text}, {"error", ""}, {"counters", values}});
}

}  // namespace vsd
