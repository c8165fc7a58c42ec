// What vsadm sees of several workers (vsd --workers): one director, the workers' counts summed.
#include <gtest/gtest.h>

#include "vsd/control_bridge.h"

namespace vsd {
namespace {

DirectorState one_service(uint32_t active, uint32_t inactive, bool overloaded, uint64_t packets) {
  DirectorState s;
  ServiceState svc;
  svc.totals.conns = active + inactive;
  svc.totals.in_packets = packets;
  DestinationState rs1, rs2;
  rs1.active = active;
  rs1.inactive = inactive;
  rs1.overloaded = overloaded;
  rs1.totals.in_packets = packets;
  rs2.persistent = 1;
  rs2.rates.in_bytes = 100;
  svc.destinations = {rs1, rs2};
  s.services.push_back(svc);
  ConnectionEntry conn;
  conn.client.port = uint16_t(packets);
  s.connections.push_back(conn);
  return s;
}

TEST(WorkerStates, AddUpToOneDirector) {
  DirectorState merged = one_service(2, 1, false, 10);
  add_worker_state(merged, one_service(3, 4, true, 5));
  const ServiceState& svc = merged.services.at(0);
  EXPECT_EQ(svc.totals.conns, 10u);
  EXPECT_EQ(svc.totals.in_packets, 15u);
  EXPECT_EQ(svc.destinations[0].active, 5u);
  EXPECT_EQ(svc.destinations[0].inactive, 5u);
  EXPECT_TRUE(svc.destinations[0].overloaded) << "overloaded on one worker is overloaded";
  EXPECT_EQ(svc.destinations[0].totals.in_packets, 15u);
  EXPECT_EQ(svc.destinations[1].persistent, 2u);
  EXPECT_EQ(svc.destinations[1].rates.in_bytes, 200u);
  ASSERT_EQ(merged.connections.size(), 2u);
  EXPECT_EQ(merged.connections[1].client.port, 5);
}

}  // namespace
}  // namespace vsd
