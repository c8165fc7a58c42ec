// Frames through the whole per-packet path of vsd (vsd/dataplane.h) on the director of
// director_bed.h: classify, ARP, reassembly, ICMP errors, services of every method, replies,
// persistence, the firewall-mark classifier, routing, the answers it originates, timers.
// The input is records (records.h); a record's tag says:
//   bit 0     the port it arrives on (0 ext: clients; 1 int: real servers)
//   bit 6     first move the clock by ((tag >> 1) & 31) * 10 s and run the timers
//   bit 7     first look ahead for it, as vsd's receive loop does (Dataplane::prefetch)
// and its bytes are the frame (none: only the clock). At the end the state is listed as
// `vsadm -L -n -c` and `--stats` would list it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ctl/format.h"
#include "director_bed.h"
#include "records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace vslab::fuzz;
  DirectorBed bed;
  auto& plane = bed.plane();
  for (const Record& r : split_records({data, size})) {
    if (r.tag & 0x40) {
      bed.clock().advance(uint64_t((r.tag >> 1) & 31) * 10'000);
      plane.tick();
    }
    if (r.bytes.empty()) continue;
    // Exactly the frame's size, so that a read past its end is a heap overflow.
    std::vector<uint8_t> frame(r.bytes.begin(), r.bytes.end());
    if (r.tag & 0x80)
      for (std::size_t stage = 0; stage < vsd::kLookAheadStages; ++stage)
        plane.prefetch(frame, vsd::LookAhead(stage));
    plane.handle(r.tag & 1, frame);
    plane.flush();
    // Room for the next frames' output; what was sent is not looked at.
    bed.port(kExt).clear();
    bed.port(kInt).clear();
  }
  const auto state = plane.state();
  vsd::ctl::ListOptions listing;
  listing.numeric = true;
  vsd::ctl::format_services(state, listing);
  listing.kind = vsd::ctl::ListKind::Connections;
  vsd::ctl::format_connections(state, listing);
  plane.counters();
  return 0;
}
