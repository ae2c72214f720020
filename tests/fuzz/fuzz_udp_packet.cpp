// IPv4/IPv6 UDP packets (what tun2socks hands udp-server's egress). Invariants: a parsed
// packet's payload lies inside it, and building a packet from what was parsed parses back to
// the same addresses and payload.
#include <vector>

#include "fuzz_check.hpp"
#include "udptun/protocol/ip_fragment_guard.hpp"
#include "udptun/protocol/udp_packet.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)ipv6_fragment_refusal(ByteView(data, size));  // any packet: no crash, no overread
  auto p = parse_udp_packet(ByteView(data, size));
  FUZZ_CHECK(!p.need_more());  // packets are whole
  if (p.failed()) {
    FUZZ_CHECK(p.error != nullptr);
    return 0;
  }
  FUZZ_CHECK(p.consumed <= size);
  const UdpPacket& u = p.value;
  FUZZ_CHECK(u.payload.size == 0 ||
             (u.payload.data >= data && u.payload.data + u.payload.size <= data + p.consumed));
  std::vector<uint8_t> again(u.payload.size + kIpv6UdpHeader);
  size_t n = build_udp_packet(u.src, u.dst, u.payload, again.data(), again.size());
  if (n == 0) return 0;  // e.g. an IPv6 payload that cannot fit a 16-bit length again
  auto q = parse_udp_packet(ByteView(again.data(), n));
  FUZZ_CHECK(q.ok());
  FUZZ_CHECK(format_address(q.value.src) == format_address(u.src));
  FUZZ_CHECK(format_address(q.value.dst) == format_address(u.dst));
  FUZZ_CHECK(q.value.payload == u.payload);
  return 0;
}
