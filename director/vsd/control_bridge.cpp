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
  DirectorState out = summary();
  for (std::size_t cursor = 0; cursor != ctl::kNoMoreConnections;)
    cursor = connections(cursor, out.connections);
  return out;
}

DirectorState ControlBridge::summary() const {
  DirectorState out;
  on_dataplane([&] { out = dataplane_.summary(); });
  return out;
}

std::size_t ControlBridge::connections(std::size_t from, std::vector<ConnectionEntry>& out) const {
  std::size_t next = ctl::kNoMoreConnections;
  on_dataplane([&] { next = dataplane_.connections(from, out); });
  return next;
}

void ControlBridge::zero(const std::optional<ServiceKey>& which) {
  on_dataplane([&] { dataplane_.zero(which); });
}

std::vector<std::pair<std::string, uint64_t>> ControlBridge::counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  on_dataplane([&] { out = dataplane_.counters(); });
  return out;
}

}  // namespace vsd
