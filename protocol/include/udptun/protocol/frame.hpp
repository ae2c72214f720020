// Tunnel frames: what flows both ways after the handshake. Layouts are in docs/PROTOCOL.md.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

namespace udptun::protocol {

// Frame header: TYPE(1) FLAGS(1) LENGTH(4, big-endian) then LENGTH bytes of body.
constexpr size_t kFrameHeaderSize = 6;
constexpr size_t kMaxDatagram = 65507;  // the largest IPv4 UDP payload
// FLOW_ID + an address + the largest datagram: no valid frame has a longer body.
constexpr size_t kMaxFrameBody = 4 + kMaxEncodedAddress + kMaxDatagram;
constexpr size_t kMaxFrameSize = kFrameHeaderSize + kMaxFrameBody;
constexpr size_t kMaxGoAwayMessage = 255;
// A session's connections ("lanes"): lane 0 is its first, the others JOIN it (a 4-bit index
// in the hello's flags).
constexpr uint8_t kMaxLanes = 16;

enum class FrameType : uint8_t {
  open_flow = 0x01,
  data = 0x02,
  close_flow = 0x03,
  ping = 0x04,
  pong = 0x05,
  goaway = 0x06,
  flow_status = 0x07,
  // Extensions this build knows (a peer announces them before using them):
  lanes = 0x40,           // how many connections a session spreads over
  sequenced_data = 0x41,  // DATA with a per-flow sequence number, sent on two lanes
};
// Types 0x08..0x3F are reserved: receiving one is a protocol error. Types 0x40..0xFF are
// extensions: a receiver that does not know one skips it (see Extension).
constexpr uint8_t kFirstExtensionType = 0x40;

namespace frame_flag {
constexpr uint8_t kHasAddress = 0x01;  // DATA, FLOW_STATUS: an address follows the flow id
constexpr uint8_t kHasSource = 0x01;   // OPEN_FLOW: the client-side source follows the target
}  // namespace frame_flag

// Client → server: a new flow from `source` (informational) to `target`.
struct OpenFlow {
  uint32_t flow_id = 0;
  Address target;
  bool has_source = false;
  Address source;
};
// Both ways. Client → server: send payload to `address` if set, else to the flow's target.
// Server → client: a reply; `address` is set when it came from other than the flow's target.
struct Data {
  uint32_t flow_id = 0;
  bool has_address = false;
  Address address;
  ByteView payload;  // points into the decoded bytes
};
enum class CloseReason : uint8_t { normal = 0, idle = 1, evicted = 2, error = 3, refused = 4 };
struct CloseFlow {
  uint32_t flow_id = 0;
  CloseReason reason = CloseReason::normal;
};
struct Ping {
  uint64_t value = 0;
};
struct Pong {
  uint64_t value = 0;  // echoes the ping's value
};
enum class GoAwayReason : uint8_t {
  normal = 0,
  shutting_down = 1,
  protocol_error = 2,
  replaced = 3
};
struct GoAway {
  GoAwayReason reason = GoAwayReason::normal;
  ByteView message;  // up to 255 bytes of UTF-8 for the log
};
enum class FlowState : uint8_t {
  open = 0,
  target_forbidden = 1,
  resolve_failed = 2,
  flow_limit = 3,
  socket_error = 4,
};
// Server → client: how OPEN_FLOW went; when open, `bound` is the server's local address for
// the flow (the source address targets see).
struct FlowStatus {
  uint32_t flow_id = 0;
  FlowState state = FlowState::open;
  bool has_bound = false;
  Address bound;
};
// Both ways, once per first connection (lane 0). Client → server: the lanes it wants and
// the features it speaks; server → client: what it grants (count ≤ what was asked). A server
// that does not answer knows neither: the session keeps one connection.
namespace lane_feature {
constexpr uint8_t kSequenced = 0x01;  // SEQUENCED_DATA frames are understood
}  // namespace lane_feature
struct Lanes {
  uint8_t count = 1;  // 1..kMaxLanes (16)
  uint8_t features = 0;
};
// DATA whose copies may arrive on two connections: the receiver delivers the first copy of
// each (flow, seq) and drops the other.
struct SequencedData {
  uint32_t flow_id = 0;
  uint32_t seq = 0;
  bool has_address = false;
  Address address;
  ByteView payload;
};
// A frame of an extension type this build may not know.
struct Extension {
  uint8_t type = 0;
  uint8_t flags = 0;
  ByteView body;
};

using Frame = std::variant<OpenFlow, Data, CloseFlow, Ping, Pong, GoAway, FlowStatus, Lanes,
                           SequencedData, Extension>;

// Parses one frame from the front of `in`.
Parsed<Frame> decode_frame(ByteView in);

// Appends a whole frame (control path; copies the payload).
void append_frame(std::vector<uint8_t>& out, const Frame& f);

// Data path: writes just the header + flow id (+ address) of a DATA frame into `out`, so the
// payload can be sent from where it already is (writev). Returns the bytes written.
constexpr size_t kMaxDataPrefix = kFrameHeaderSize + 4 + kMaxEncodedAddress;
size_t encode_data_prefix(uint8_t* out, uint32_t flow_id, const Address* address,
                          size_t payload_size);
// The same for SEQUENCED_DATA (4 bytes more). Its payload is at most kMaxDatagram - 4 bytes.
constexpr size_t kMaxSequencedPrefix = kMaxDataPrefix + 4;
size_t encode_sequenced_prefix(uint8_t* out, uint32_t flow_id, uint32_t seq, const Address* address,
                               size_t payload_size);

}  // namespace udptun::protocol
