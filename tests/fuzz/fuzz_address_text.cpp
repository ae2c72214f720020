// Address text ("1.2.3.4:80", "[::1]:53", "name:443") as typed on command lines and in JSON.
// Invariants: what parses formats to text that parses to the same address, and its wire
// form decodes back to it.
#include <string>

#include "fuzz_check.hpp"
#include "udptun/protocol/address.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = parse_address_text(text);
  if (!t.address) {
    FUZZ_CHECK(t.error != nullptr);
    return 0;
  }
  std::string formatted = format_address(*t.address);
  auto again = parse_address_text(formatted);
  FUZZ_CHECK(again.address.has_value());
  FUZZ_CHECK(*again.address == *t.address);

  uint8_t wire[kMaxEncodedAddress];
  size_t n = encode_address(*t.address, wire);
  FUZZ_CHECK(n == encoded_size(*t.address));
  auto back = decode_address(ByteView(wire, n));
  FUZZ_CHECK(back.ok() && back.consumed == n && back.value == *t.address);
  return 0;
}
