// vsd --rules: an ipvsadm rule file (what `ipvsadm -S` writes and `vsadm -R` reads) loaded
// whole at start and again on SIGHUP, as a service unit's ExecReload expects.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "config/rules.h"
#include "ctl/result.h"

namespace vsd {

// The rules in the file at `path`, applied as -R applies them but to an empty RuleSet, so the
// file is the whole configuration (a service, mark or timeout not in it is gone). A failure
// changes nothing and says "PATH: line N: why", or "PATH: why" for a file that cannot be read.
ctl::Result<RuleSet> read_rules_file(const std::string& path);

// SIGHUP's reload, off the data-plane thread: a file of 100k services takes a while to read and
// prepare, and forwarding should pay only the swap. `install` is what vsadm's requests go
// through (ControlBridge::install), so a reload and a vsadm change never interleave; its
// outcome is logged. Requests that come while one runs are one more reload after it.
class RulesReloader {
 public:
  RulesReloader(std::string path, std::function<std::string(const RuleSet&)> install);
  ~RulesReloader();  // waits for a reload in progress (stop the calls it waits on first)
  RulesReloader(const RulesReloader&) = delete;
  RulesReloader& operator=(const RulesReloader&) = delete;

  void request();  // never blocks

 private:
  void run();

  std::string path_;
  std::function<std::string(const RuleSet&)> install_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vsd
