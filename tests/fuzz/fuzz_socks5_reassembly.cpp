// SOCKS5 UDP fragment reassembly over a sequence of datagrams: the input is split into
// datagrams (a length byte, then that many bytes), each decoded and fed to one reassembler
// with a clock that advances. Invariants: nothing whole is larger than the cap, what is held
// never exceeds it, and every completed sequence was counted.
#include "fuzz_check.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kCap = 512;
  ReassemblyCounters c;
  Reassembler r(kCap, 5'000, c);
  uint64_t now = 0, wholes_from_fragments = 0;
  size_t i = 0;
  while (i < size) {
    size_t len = data[i++];
    if (len > size - i) len = size - i;
    auto h = decode_udp_header(ByteView(data + i, len));
    i += len;
    now += 700;  // some sequences outlive the timer
    if (!h.ok()) continue;
    auto whole = r.add(h.value, now);
    if (whole.complete) {
      if (h.value.fragment != 0) {
        wholes_from_fragments++;
        FUZZ_CHECK(whole.payload.size <= kCap);
      } else {
        FUZZ_CHECK(whole.payload.data == h.value.payload.data);
      }
    }
    FUZZ_CHECK(r.held_bytes() <= kCap);
    if (now % 3 == 0) r.expire(now);
  }
  FUZZ_CHECK(c.reassembled == wholes_from_fragments);
  return 0;
}
