// The controller's request stream: any bytes, split where the input says. Invariants: the
// split never changes the objects found or the verdict; every object found is balanced and
// starts with '{' and ends with '}'; memory stays within the limit.
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "udptun/protocol/json_object_stream.hpp"

using namespace udptun::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t split = data[0] % size;
  ByteView in(data + 1, size - 1);
  JsonObjectStream whole(1024), parts(1024);
  std::vector<std::string> a, b;
  const char* ea = whole.feed(in, a);
  const char* eb = parts.feed(in.first(split), b);
  if (!eb) eb = parts.feed(in.after(split), b);
  FUZZ_CHECK((ea == nullptr) == (eb == nullptr));
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(whole.buffered() <= 1024);
  for (const auto& o : a) FUZZ_CHECK(o.size() >= 2 && o.front() == '{' && o.back() == '}');
  return 0;
}
