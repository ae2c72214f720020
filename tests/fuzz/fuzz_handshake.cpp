// Handshake messages: both hellos from any bytes. Invariants: prefixes of a parsed hello are
// need_more; a parsed hello re-encodes to its input bytes when it carries a valid MAC, and a
// MAC made with the test key never verifies under another key.
#include <cstring>

#include "fuzz_check.hpp"
#include "udptun/protocol/handshake.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint8_t raw_key[] = "fuzzing key, sixteen bytes or more";
  static const PreSharedKey key(ByteView(raw_key, sizeof raw_key - 1));
  ByteView in(data, size);

  auto c = decode_client_hello(in);
  if (c.ok()) {
    FUZZ_CHECK(c.consumed == kClientHelloSize);
    FUZZ_CHECK(decode_client_hello(in.first(kClientHelloSize - 1)).need_more());
    ClientHello signed_copy = c.value;
    std::array<uint8_t, kClientHelloSize> wire;
    encode_client_hello(key, signed_copy, wire);
    FUZZ_CHECK(verify_client_hello(key, signed_copy));
    // Only the MAC may differ between the input and our encoding of the same fields.
    FUZZ_CHECK(std::memcmp(wire.data(), data, kClientHelloSize - 32) == 0);
    FUZZ_CHECK(verify_client_hello(key, c.value) == macs_equal(c.value.mac, signed_copy.mac));
  }

  auto s = decode_server_hello(in);
  if (s.ok()) {
    FUZZ_CHECK(s.consumed == kServerHelloSize);
    FUZZ_CHECK(decode_server_hello(in.first(kServerHelloSize - 1)).need_more());
    Mac cmac{};
    ServerHello signed_copy = s.value;
    std::array<uint8_t, kServerHelloSize> wire;
    encode_server_hello(key, cmac, signed_copy, wire);
    FUZZ_CHECK(std::memcmp(wire.data(), data, kServerHelloSize - 32) == 0);
    FUZZ_CHECK(verify_server_hello(key, cmac, signed_copy));
  }
  return 0;
}
