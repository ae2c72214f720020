// The SOCKS5 server side as a stream: greeting, then the username/password request when the
// client offered it, then the request. Invariants: every parser's verdict is the same on the
// whole input and on any prefix that already holds the message (incrementality), and what
// parses re-encodes to the bytes it came from.
#include <vector>

#include "fuzz_check.hpp"
#include "udptun/protocol/socks5.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;

namespace {

template <class Parse, class Encode>
size_t step(Parse parse, Encode encode, ByteView in, bool& go_on) {
  auto p = parse(in);
  go_on = p.ok();
  if (!p.ok()) {
    if (p.failed()) FUZZ_CHECK(p.error != nullptr);
    return 0;
  }
  // Every shorter prefix is need_more: a message is never recognised early.
  for (size_t k = 0; k < p.consumed; ++k) FUZZ_CHECK(parse(in.first(k)).need_more());
  std::vector<uint8_t> again;
  ByteWriter w(again);
  encode(w, p.value);
  FUZZ_CHECK(ByteView(again) == in.first(p.consumed));
  return p.consumed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  bool go_on = false;
  Greeting greeting;
  size_t used = step(
      decode_greeting,
      [&](ByteWriter& w, const Greeting& g) {
        greeting = g;
        encode_greeting(w, g);
      },
      in, go_on);
  if (!go_on) return 0;
  in = in.after(used);
  if (greeting.offers(method::kUserPass)) {
    used = step(
        decode_user_pass_request,
        [](ByteWriter& w, const UserPassRequest& u) {
          encode_user_pass_request(w, u.user_name(), u.password_text());
        },
        in, go_on);
    if (!go_on) return 0;
    in = in.after(used);
  }
  step(
      decode_request, [](ByteWriter& w, const Request& q) { encode_request(w, q); }, in, go_on);
  return 0;
}
