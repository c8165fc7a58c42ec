#include <algorithm>
#include <map>

#include "sched/scheduler.h"

namespace vsd {
namespace {
// A function-local static: registrations run during static initialisation of other files.
std::map<std::string, SchedulerFactory, std::less<>>& registry() {
  static std::map<std::string, SchedulerFactory, std::less<>> factories;
  return factories;
}
}  // namespace

bool register_scheduler(std::string_view name, SchedulerFactory factory) {
  registry().emplace(std::string(name), std::move(factory));
  return true;
}

std::unique_ptr<Scheduler> make_scheduler(std::string_view name, const SchedulerOptions& options) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second(options);
}

bool decorate_scheduler(std::string_view name, SchedulerDecorator decorate) {
  auto it = registry().find(name);
  if (it == registry().end()) return false;
  SchedulerFactory undecorated = std::move(it->second);
  it->second = [make = std::move(undecorated), decorate = std::move(decorate)](
                   const SchedulerOptions& options) { return decorate(make(options)); };
  return true;
}

std::vector<std::string> scheduler_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

}  // namespace vsd
