#include "vsd/control_bridge.h"

#include <stdexcept>

namespace vsd {

void ControlBridge::on_dataplane(const std::function<void()>& fn) const {
  if (!calls_.call(fn)) throw std::runtime_error("vsd is shutting down");
}

RuleSet ControlBridge::rules() const {
  RuleSet out;
  on_dataplane([&] { out = dataplane_.rules(); });
  return out;
}

std::string ControlBridge::install(const RuleSet& next) {
  std::string error;
  on_dataplane([&] { error = dataplane_.install(next); });
  if (error.empty() && on_installed_) on_installed_(next);
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
