// What a udp-server hands to its successor in a planned restart (upgrade, configuration
// reload): its listening sockets, its sessions and their flows' sockets, so targets keep
// seeing the same source ports and clients resume their sessions on the new process. The
// descriptors travel beside this record (SCM_RIGHTS); the record names them by index.
//   udptun-server-handover 1
//   listener 0 127.0.0.1:7001
//   session 00112233445566778899aabbccddeeff
//   flow 7 1 192.0.2.1:3478 192.0.2.1:3478 0
// (a flow line belongs to the session above it: id, descriptor index, target as the client
// named it, the address it resolved to, 1 if it only ever spoke DNS). Read as untrusted input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/status.hpp"

namespace udptun::protocol {

struct HandoverRecord {
  struct Listener {
    uint32_t fd_index = 0;
    Address address;  // an IP address
  };
  struct Flow {
    uint32_t id = 0;
    uint32_t fd_index = 0;
    Address target;     // IP or name
    Address target_ip;  // an IP address
    bool dns_only = false;
  };
  struct Session {
    SessionId id{};
    std::vector<Flow> flows;
  };
  std::vector<Listener> listeners;
  std::vector<Session> sessions;
};

constexpr size_t kMaxHandoverDescriptors = 1u << 20;
constexpr size_t kMaxHandoverRecordBytes = 256u << 20;

std::string encode_handover_record(const HandoverRecord& record);
// A failure names the line; `descriptors` is how many arrived beside it: every index must be
// below it and used once.
Result<HandoverRecord> decode_handover_record(std::string_view text, size_t descriptors);

}  // namespace udptun::protocol
