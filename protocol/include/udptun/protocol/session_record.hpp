// What udp-local keeps on disk so that a restarted instance resumes its server session with
// the same flows (and so the same server-side ports): the session id, the flow ids it may
// not reuse, and the flows whose origin outlives the process (a forward socket, the
// in-process path). Text, one item per line, so an operator can read it:
//   udptun-local-state 1
//   session 00112233445566778899aabbccddeeff
//   next-flow 65537
//   flow 7 forward:127.0.0.1:5300 127.0.0.1:41000 192.0.2.1:3478
// The file is ours, but is read as untrusted input: any defect refuses the whole record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/status.hpp"

namespace udptun::protocol {

struct SessionRecord {
  struct Flow {
    uint32_t id = 0;
    std::string origin;  // "forward:LISTEN" or "in-process"; no spaces
    Address source;      // an IP address
    Address target;      // IP or name
  };
  SessionId session{};
  uint32_t next_flow_id = 1;  // ids below it may still live at the server
  std::vector<Flow> flows;
};

constexpr size_t kMaxRecordedFlows = 4096;
constexpr size_t kMaxSessionRecordBytes = 1 << 20;

std::string encode_session_record(const SessionRecord& record);
// A failure names the line and the defect.
Result<SessionRecord> decode_session_record(std::string_view text);

}  // namespace udptun::protocol
