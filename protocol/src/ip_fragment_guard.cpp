#include "udptun/protocol/ip_fragment_guard.hpp"

namespace udptun::protocol {

namespace {
constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kDestinationOptions = 60;
}

const char* ipv6_fragment_refusal(ByteView p) {
  if (p.size < 40 || (p.data[0] >> 4) != 6) return nullptr;  // not IPv6: the stack judges it
  uint8_t next = p.data[6];
  size_t at = 40;  // the unfragmentable part ends where the fragment header starts
  // Only the headers that may precede a fragment header (RFC 8200 §4.1), at most a few.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == kFragment) {
      if (at + 8 > p.size) return "truncated IPv6 fragment header";
      size_t offset = static_cast<size_t>(p.data[at + 2] << 8 | (p.data[at + 3] & 0xF8));
      size_t data = p.size - at - 8;
      // The reassembled packet: unfragmentable headers, then everything up to this
      // fragment's end.
      if (at + offset + data > 65'535) return "IPv6 fragments that reassemble past 65,535 bytes";
      return nullptr;
    }
    if (next != kHopByHop && next != kRouting && next != kDestinationOptions) return nullptr;
    if (at + 2 > p.size) return nullptr;  // malformed: the stack drops it
    next = p.data[at];
    at += 8 * (1 + static_cast<size_t>(p.data[at + 1]));
  }
  return nullptr;
}

}  // namespace udptun::protocol
