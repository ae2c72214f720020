// Handshake messages: the server's challenge and both hellos from any bytes. Invariants:
// prefixes of a parsed message are need_more; a parsed message re-encodes to its input bytes
// (hellos: when they carry a valid MAC), and a MAC verifies only with the challenge it was
// made over.
#include <cstring>

#include "fuzz_check.hpp"
#include "udptun/protocol/handshake.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const uint8_t raw_key[] = "fuzzing key, sixteen bytes or more";
  static const PreSharedKey key(ByteView(raw_key, sizeof raw_key - 1));
  ByteView in(data, size);

  auto ch = decode_server_challenge(in);
  if (ch.ok()) {
    FUZZ_CHECK(ch.consumed == kServerChallengeSize);
    FUZZ_CHECK(decode_server_challenge(in.first(kServerChallengeSize - 1)).need_more());
    std::array<uint8_t, kServerChallengeSize> wire;
    encode_server_challenge(ch.value, wire);
    FUZZ_CHECK(std::memcmp(wire.data(), data, kServerChallengeSize) == 0);
  }

  auto c = decode_client_hello(in);
  if (c.ok()) {
    FUZZ_CHECK(c.consumed == kClientHelloSize);
    FUZZ_CHECK(decode_client_hello(in.first(kClientHelloSize - 1)).need_more());
    ClientHello signed_copy = c.value;
    // A challenge from the bytes after the hello, when there are any.
    for (size_t i = 0; i < signed_copy.challenge.size() && kClientHelloSize + i < size; ++i)
      signed_copy.challenge[i] = data[kClientHelloSize + i];
    std::array<uint8_t, kClientHelloSize> wire;
    encode_client_hello(key, signed_copy, wire);
    FUZZ_CHECK(verify_client_hello(key, signed_copy.challenge, signed_copy));
    Challenge other = signed_copy.challenge;
    other[0] ^= 0x80;
    FUZZ_CHECK(!verify_client_hello(key, other, signed_copy));
    // Only the MAC may differ between the input and our encoding of the same fields.
    FUZZ_CHECK(std::memcmp(wire.data(), data, kClientHelloSize - 32) == 0);
    FUZZ_CHECK(verify_client_hello(key, signed_copy.challenge, c.value) ==
               macs_equal(c.value.mac, signed_copy.mac));
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
