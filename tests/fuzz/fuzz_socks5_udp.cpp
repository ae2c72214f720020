// SOCKS5 UDP request header on whole datagrams. Invariants: a parsed header's payload lies
// inside the datagram right after the header, and the header re-encodes to its bytes.
#include "fuzz_check.hpp"
#include "udptun/protocol/socks5.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = decode_udp_header(ByteView(data, size));
  if (p.need_more()) FUZZ_CHECK(false);  // datagrams are whole: never need_more
  if (p.failed()) {
    FUZZ_CHECK(p.error != nullptr);
    return 0;
  }
  uint8_t hdr[kMaxUdpHeader];
  size_t n = encode_udp_header(p.value.address, hdr);
  FUZZ_CHECK(n + p.value.payload.size == size);
  FUZZ_CHECK(p.value.payload.data == nullptr || p.value.payload.data == data + n);
  hdr[2] = p.value.fragment;  // the encoder always writes FRAG 0
  FUZZ_CHECK(ByteView(hdr, n) == ByteView(data, n));
  return 0;
}
