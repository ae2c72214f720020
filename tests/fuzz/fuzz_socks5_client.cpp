// The SOCKS5 client side: what a server (ss-local, any proxy) may answer. Invariants as for
// the server side: prefixes need more, parsed messages re-encode to their bytes.
#include <vector>

#include "fuzz_check.hpp"
#include "udptun/protocol/socks5.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;

namespace {

template <class Parse, class Encode>
void check(Parse parse, Encode encode, ByteView in) {
  auto p = parse(in);
  if (p.failed()) FUZZ_CHECK(p.error != nullptr);
  if (!p.ok()) return;
  for (size_t k = 0; k < p.consumed; ++k) FUZZ_CHECK(parse(in.first(k)).need_more());
  std::vector<uint8_t> again;
  ByteWriter w(again);
  encode(w, p.value);
  FUZZ_CHECK(ByteView(again) == in.first(p.consumed));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  check(
      decode_method_selection,
      [](ByteWriter& w, MethodSelection m) { encode_method_selection(w, m); }, in);
  check(
      decode_user_pass_status,
      [](ByteWriter& w, UserPassStatus s) { encode_user_pass_status(w, s); }, in);
  check(
      decode_reply, [](ByteWriter& w, const ReplyMessage& m) { encode_reply(w, m); }, in);
  return 0;
}
