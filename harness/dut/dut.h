// A device under test: the director that a topology's "director" node stands for. The suites
// only ever talk to this interface (rules in ipvsadm save format, listings back), so the same
// checks run against vsd, kernel IPVS or a hardware box (DESIGN.md rule 1).
#pragma once

#include <memory>
#include <string>

#include "topology/live.h"

namespace vslab::dut {

struct Result {
  int exit_code = 0;
  std::string output;  // stdout and stderr
  bool ok() const { return exit_code == 0; }
};

class Dut {
 public:
  virtual ~Dut() = default;
  virtual std::string name() const = 0;
  // Starts the director inside the topology (returns when it is ready to forward).
  virtual void start(const topo::LiveTopology& topology) = 0;
  // Replaces the whole rule set: ipvsadm save format, one command per line (ipvsadm -R).
  virtual Result restore(const std::string& rules) = 0;
  // One ipvsadm command, e.g. {"-L", "-n"}.
  virtual Result admin(const std::vector<std::string>& args) = 0;
  virtual void stop() = 0;
};

// vsd started in the director namespace on all of the director node's interfaces, configured
// with vsadm through its control socket.
class BuiltinDut final : public Dut {
 public:
  // vsd_args: more options for vsd (e.g. "--ipfrag-time 1"), after --socket and --port.
  BuiltinDut(std::string vsd_binary, std::string vsadm_binary,
             std::vector<std::string> vsd_args = {});
  ~BuiltinDut() override;
  std::string name() const override { return "builtin"; }
  void start(const topo::LiveTopology& topology) override;
  Result restore(const std::string& rules) override;
  Result admin(const std::vector<std::string>& args) override;
  void stop() override;
  std::string log() const;                                    // what vsd wrote to stderr
  const std::string& socket_path() const { return socket_; }  // vsd's control socket

 private:
  std::string vsd_, vsadm_;
  std::vector<std::string> vsd_args_;
  std::string netns_, socket_;
  int pid_ = -1;
  int output_fd_ = -1;
  std::string log_path_;
  std::string ready_line_;
};

}  // namespace vslab::dut
