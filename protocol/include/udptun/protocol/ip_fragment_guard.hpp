// A check on packets before they reach the lwIP stack: lwIP 2.1.3 counts a reassembled IPv6
// packet in 16 bits, headers included, and aborts (an assertion) on a fragment set whose
// whole would pass 65,535 bytes — valid IPv6 (a payload of up to 65,535 after the 40-byte
// header) that an app on the TUN can send with one large datagram. Such fragments are
// refused here, so the datagram is lost (as one too large for the path) and nothing crashes.
#pragma once

#include "udptun/protocol/bytes.hpp"

namespace udptun::protocol {

// The largest UDP payload an IPv6 datagram may carry through the stack whole.
constexpr size_t kMaxIpv6StackDatagram = 65'535 - 40 - 8;

// nullptr when the packet may go to the stack; otherwise why not.
const char* ipv6_fragment_refusal(ByteView packet);

}  // namespace udptun::protocol
