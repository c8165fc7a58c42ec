#include "check/check.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/core.h>
#include <fmt/format.h>

#include "port/pcap_file.h"

namespace vslab::check {
namespace {

std::string safe_file_part(const std::string& name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out;
}

uint16_t ether_type(std::span<const uint8_t> f) {
  if (f.size() < 14) return 0;
  uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
  if (type == 0x8100 && f.size() >= 18) type = static_cast<uint16_t>(f[16] << 8 | f[17]);
  return type;
}

}  // namespace

bool is_neighbour_noise(std::span<const uint8_t> frame) {
  auto type = ether_type(frame);
  // 01:00:5e and 33:33: IPv4 and IPv6 multicast (IGMP and MLD reports, router solicitations),
  // which no director sends.
  bool ipv4_multicast =
      frame.size() >= 3 && frame[0] == 0x01 && frame[1] == 0x00 && frame[2] == 0x5e;
  bool ipv6_multicast = frame.size() >= 2 && frame[0] == 0x33 && frame[1] == 0x33;
  if (type == 0x0806 || ipv4_multicast || ipv6_multicast) return true;
  if (type != 0x86dd) return false;
  // Unicast neighbour discovery: an ICMPv6 message (next header 58 right after the fixed
  // header, as RFC 4861 sends it) of types 133..137.
  std::size_t ip = frame[12] == 0x81 && frame[13] == 0x00 ? 18 : 14;
  if (frame.size() < ip + 41 || frame[ip + 6] != 58) return false;
  uint8_t icmp_type = frame[ip + 40];
  return icmp_type >= 133 && icmp_type <= 137;
}

std::filesystem::path default_failure_dir() {
  if (const char* dir = std::getenv("VSLAB_PCAP_DIR"); dir && *dir) return dir;
  return std::filesystem::current_path() / "vslab-failures";
}

FrameChecker::FrameChecker(std::string case_name, std::vector<port::Port*> ports,
                           std::filesystem::path failure_dir)
    : case_name_(std::move(case_name)),
      ports_(std::move(ports)),
      case_dir_(failure_dir / safe_file_part(case_name_)) {
  for (auto* p : ports_) sent_at_start_.push_back(p->sent().size());
}

std::size_t FrameChecker::sent_now() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < ports_.size(); ++i) n += ports_[i]->sent().size() - sent_at_start_[i];
  return n;
}

void FrameChecker::record(port::Port& port, const expect::FrameExpectation& want, bool ok) {
  journal_.push_back({{&port}, want, sent_now(), ok});
}

std::vector<std::pair<port::Port*, port::Frame>> FrameChecker::sent_since_start() const {
  std::vector<std::pair<port::Port*, port::Frame>> out;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    const auto& sent = ports_[i]->sent();
    for (std::size_t k = sent_at_start_[i]; k < sent.size(); ++k)
      out.push_back({ports_[i], sent[k]});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto &x = a.second.timestamp, &y = b.second.timestamp;
    return x.tv_sec != y.tv_sec ? x.tv_sec < y.tv_sec : x.tv_usec < y.tv_usec;
  });
  return out;
}

CheckResult FrameChecker::expect_frame(port::Port& port, const expect::FrameExpectation& want,
                                       std::chrono::milliseconds timeout) {
  std::size_t examined = 0;
  std::size_t match = 0;
  auto found = port.wait_until(
      [&](std::vector<port::CapturedFrame>& frames) {
        for (; examined < frames.size(); ++examined) {
          auto& f = frames[examined];
          if (f.claimed) continue;
          if (want.compare(f.bytes).ok()) {
            match = examined;
            return true;
          }
        }
        return false;
      },
      timeout);
  CheckResult result;
  record(port, want, found);
  if (found) {
    port.captured()[match].claimed = true;
    result.ok = true;
    result.summary = fmt::format("expected frame arrived on {}", port.label());
    result.report = result.summary;
    return result;
  }

  // No match: show the diff against the unclaimed frame that differs in the fewest fields.
  const port::CapturedFrame* closest = nullptr;
  expect::Comparison closest_cmp;
  std::size_t candidates = 0;
  for (const auto& f : port.captured()) {
    if (f.claimed || noise_(f.bytes)) continue;
    ++candidates;
    auto cmp = want.compare(f.bytes);
    if (!closest || cmp.mismatches() < closest_cmp.mismatches()) {
      closest = &f;
      closest_cmp = std::move(cmp);
    }
  }
  auto expected_bytes = want.bytes();
  result.pcaps = write_pcaps(port, &expected_bytes);
  if (!closest) {
    result.summary =
        fmt::format("no frame arrived on {} within {} ms", port.label(), timeout.count());
    result.report = result.summary + "\n";
  } else {
    result.summary = fmt::format("no frame on {} matches: the closest of {} differs in {} field(s)",
                                 port.label(), candidates, closest_cmp.mismatches());
    result.report = result.summary + "\n" + closest_cmp.diff();
  }
  if (auto link = judge_upstream(port, want)) {
    // The link's finding leads: a frame dropped on the way shows only there.
    result.summary += "; " + link->line;
    result.report =
        result.summary + "\n" + result.report.substr(result.report.find('\n') + 1) + link->diff;
    result.pcaps.insert(result.pcaps.end(), link->pcaps.begin(), link->pcaps.end());
  }
  if (!result.pcaps.empty()) result.report += "pcaps: " + case_dir_.string() + "/{";
  for (std::size_t i = 0; i < result.pcaps.size(); ++i)
    result.report += (i ? ", " : "") + std::filesystem::path(result.pcaps[i]).filename().string();
  if (!result.pcaps.empty()) result.report += "}\n";
  return result;
}

void FrameChecker::set_upstream(const port::Port& host, Upstream upstream) {
  std::erase_if(upstreams_, [&](const auto& u) { return u.first == &host; });
  upstreams_.emplace_back(&host, std::move(upstream));
}

std::optional<FrameChecker::LinkFinding> FrameChecker::judge_upstream(
    const port::Port& host, const expect::FrameExpectation& want) {
  auto it = std::find_if(upstreams_.begin(), upstreams_.end(),
                         [&](const auto& u) { return u.first == &host; });
  if (it == upstreams_.end()) return std::nullopt;
  const Upstream& up = it->second;
  // The link is upstream: whatever reached the host crossed it earlier, so what it holds now
  // is all there is to judge; no waiting.
  up.link->poll_now();
  const auto at_link = up.at_link(want);
  LinkFinding finding;
  finding.mismatches = SIZE_MAX;
  expect::Comparison closest;
  for (const auto& f : up.link->captured()) {
    if (noise_(f.bytes)) continue;
    auto cmp = at_link.compare(f.bytes);
    if (cmp.mismatches() < finding.mismatches) {
      finding.mismatches = cmp.mismatches();
      closest = std::move(cmp);
    }
  }
  if (finding.mismatches == SIZE_MAX) {
    finding.line = up.name + " carried no frame either";
    return finding;
  }
  auto expected_bytes = at_link.bytes();
  finding.pcaps = write_pcaps(*up.link, &expected_bytes);
  if (finding.mismatches == 0) {
    finding.line = "it left on " + up.name + " as expected, and was lost beyond";
    return finding;
  }
  std::vector<std::string> fields;
  for (const auto& row : closest.rows) {
    if (row.ok) continue;
    if (fields.size() == 3) {
      fields.push_back(fmt::format("{} more", finding.mismatches - 3));
      break;
    }
    fields.push_back(fmt::format("{} expected {} seen {}", row.name, row.expected, row.captured));
  }
  finding.line = fmt::format("on {}: {}", up.name, fmt::join(fields, "; "));
  finding.diff = "on " + up.name + ", the closest frame:\n" + closest.diff();
  return finding;
}

CheckResult FrameChecker::expect_no_other_frames(const std::vector<port::Port*>& ports,
                                                 std::chrono::milliseconds window) {
  auto deadline = std::chrono::steady_clock::now() + window;
  CheckResult result;
  std::vector<std::string> offenders;
  for (auto* port : ports) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // An unexpected frame ends the watch early: the verdict is already known.
    port->wait_until(
        [&](const std::vector<port::CapturedFrame>& frames) {
          return std::any_of(frames.begin(), frames.end(),
                             [&](const auto& f) { return !f.claimed && !noise_(f.bytes); });
        },
        std::max(left, std::chrono::milliseconds(0)));
    std::size_t extra = 0;
    std::string first_diff;
    for (auto& f : port->captured()) {
      if (f.claimed || noise_(f.bytes)) continue;
      if (extra++ == 0) {
        for (const auto& e : expect::dissect(f.bytes))
          first_diff += "    " + e.name + " = " + e.value.text + "\n";
      }
    }
    if (extra == 0) continue;
    offenders.push_back(fmt::format("{}: {} unexpected frame(s); the first:\n{}", port->label(),
                                    extra, first_diff));
    auto written = write_pcaps(*port, nullptr);
    result.pcaps.insert(result.pcaps.end(), written.begin(), written.end());
  }
  result.ok = offenders.empty();
  journal_.push_back({ports, std::nullopt, sent_now(), result.ok});
  if (result.ok) {
    result.summary = "no other frames";
    result.report = result.summary;
    return result;
  }
  result.summary = fmt::format("unexpected frames on {} port(s)", offenders.size());
  result.report = result.summary + "\n";
  for (const auto& o : offenders) result.report += o;
  for (const auto& p : result.pcaps) result.report += "pcap: " + p + "\n";
  return result;
}

std::vector<std::string> FrameChecker::write_pcaps(port::Port& failed_port,
                                                   const std::vector<uint8_t>* expected) {
  std::vector<std::string> written;
  std::error_code ec;
  std::filesystem::create_directories(case_dir_, ec);
  if (ec) return written;
  auto dump = [&](const std::string& name, const std::vector<port::Frame>& frames) {
    auto path = (case_dir_ / name).string();
    try {
      port::write_pcap(path, frames);
      written.push_back(path);
    } catch (const std::exception&) {
      // The diff is still reported; a missing pcap is not worth hiding it.
    }
  };
  for (auto* p : ports_)
    if (!p->sent().empty()) dump("in-" + safe_file_part(p->label()) + ".pcap", p->sent());
  if (expected) {
    port::Frame f{*expected, {}};
    gettimeofday(&f.timestamp, nullptr);
    dump("expect-" + safe_file_part(failed_port.label()) + ".pcap", {f});
  }
  std::vector<port::Frame> captured(failed_port.captured().begin(), failed_port.captured().end());
  dump("captured-" + safe_file_part(failed_port.label()) + ".pcap", captured);
  return written;
}

}  // namespace vslab::check
