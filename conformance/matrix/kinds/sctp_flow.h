// One SCTP association of a cell, driven from both ends as TcpFlow drives a TCP connection:
// packets of one chunk each (frames/sctp.h), the client's checked at its real server as the
// mode rewrites them, the server's (NAT, FULLNAT) at the client from VIP:vport, each with a
// CRC32c that must still verify where it arrives.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

class SctpFlow {
 public:
  SctpFlow(MatrixBed& mb, Findings& f) : mb_(mb), f_(f), cport_(mb.next_client_port()) {}

  uint16_t cport() const { return cport_; }
  std::chrono::steady_clock::time_point last_sent() const { return last_sent_; }

  // The first packet reaches some real server, later ones that one; false when not.
  bool client_sends(uint8_t chunk_type, const std::string& what);
  // The real server answers on the association as it received it; the client gets it from
  // VIP:vport.
  bool server_sends(uint8_t chunk_type, const std::string& what);

 private:
  MatrixBed& mb_;
  Findings& f_;
  uint16_t cport_;
  int rs_ = 0;
  std::chrono::steady_clock::time_point last_sent_;
};

}  // namespace vslab::matrix::kinds
