// One interface of a topology as the test sees it: frames go in through an AF_PACKET socket
// and every frame the interface receives is captured through libpcap, both opened from inside
// the interface's namespace. Capture runs before the constructor returns, so nothing sent
// afterwards can be missed; waiting is always "until a condition or a deadline".
#pragma once

#include <pcap/pcap.h>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <tins/pdu.h>

#include "os/unique_fd.h"
#include "port/pcap_file.h"

namespace vslab::port {

struct CapturedFrame : Frame {
  bool claimed = false;  // matched by a check already
};

class Port {
 public:
  // label names the port in reports and file names ("rs1-eth0").
  Port(const std::string& netns, const std::string& ifname, std::string label);
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  const std::string& label() const { return label_; }
  const std::string& mac() const { return mac_; }  // the interface's own MAC, as the kernel has it

  // Sends one frame out of the interface exactly as given. Throws on a send error.
  void send(std::span<const uint8_t> frame);
  void send(const Tins::PDU& frame);
  // Sends a frame the harness needs for itself, not part of any case (a warm-up of the path):
  // it stays out of sent(), so no case, replay or pcap of inputs shows it.
  void send_unrecorded(const Tins::PDU& frame);

  // Reads whatever has arrived without waiting.
  void poll_now();
  // Captures until done(frames) holds or the timeout passes; returns done()'s last answer.
  bool wait_until(const std::function<bool(std::vector<CapturedFrame>&)>& done,
                  std::chrono::milliseconds timeout);

  // Captures on all `ports` until at least one of them received something or the timeout
  // passes.
  static void wait_any(const std::vector<Port*>& ports, std::chrono::milliseconds timeout);

  std::vector<CapturedFrame>& captured() { return captured_; }
  const std::vector<Frame>& sent() const { return sent_; }

 private:
  void read_available(int timeout_ms);
  void transmit(std::span<const uint8_t> frame);

  std::string label_;
  std::string ifname_;
  std::string mac_;
  os::UniqueFd tx_fd_;  // closed after pcap_ (the destructor closes that)
  int ifindex_ = 0;
  pcap_t* pcap_ = nullptr;
  int pcap_fd_ = -1;
  std::vector<CapturedFrame> captured_;
  std::vector<Frame> sent_;
};

}  // namespace vslab::port
