#include "vsd/rules_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ctl/apply.h"
#include "vsd/log.h"

namespace vsd {

ctl::Result<RuleSet> read_rules_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ctl::refused(path + ": " + std::strerror(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return ctl::refused(path + ": read failed");
  RuleSet rules;
  if (auto failure = ctl::apply_restore(rules, text))
    return ctl::Failure{failure->exit_code, path + ": " + failure->message};
  return rules;
}

RulesReloader::RulesReloader(std::string path, std::function<std::string(const RuleSet&)> install)
    : path_(std::move(path)), install_(std::move(install)), thread_([this] { run(); }) {}

RulesReloader::~RulesReloader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RulesReloader::request() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

void RulesReloader::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
    }
    const auto rules = read_rules_file(path_);
    std::string error = rules.ok() ? "" : rules.failure().message;
    try {
      if (error.empty()) error = install_(rules.value());
    } catch (const std::exception& e) {
      error = e.what();  // vsd is shutting down
    }
    if (!error.empty()) {
      log_error("vsd: SIGHUP: " + error + "; the rules in service are unchanged");
    } else {
      log_info("vsd: rules loaded from " + path_ + ": " +
               std::to_string(rules.value().services.size()) + " service(s)");
    }
  }
}

}  // namespace vsd
