// FWD UDP and UDP-over-TCP on a SOCKS5 stream: any bytes through the translator (with and
// without credentials), split in two at a point the input chooses. Invariants: the split
// changes neither the frames, the answers nor whether the stream fails; what it holds stays
// under one message; the frames it makes always decode and encode back.
#include "fuzz_check.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/udp_over_socks5.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::socks5;

namespace {
struct Count : FrameSink {
  bool on_frame(const Frame&) override { return true; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t split = (data[0] >> 1) % size;
  bool credentials = data[0] & 1;
  ByteView in(data + 1, size - 1);
  std::string user = credentials ? "u" : "", password = credentials ? "p" : "";
  UdpOverSocks5Translator whole(user, password), parts(user, password);
  std::vector<uint8_t> a, b, answer_a, answer_b;
  bool ok_a = whole.decode(in, a, answer_a);
  bool ok_b = parts.decode(in.first(split), b, answer_b);
  if (ok_b) ok_b = parts.decode(in.after(split), b, answer_b);
  FUZZ_CHECK(ok_a == ok_b);
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(answer_a == answer_b);
  FUZZ_CHECK(whole.buffered() <= 2 + 1 + kMaxEncodedAddress + 65'535);
  Count sink;
  FrameDecoder d;
  FUZZ_CHECK(d.feed(ByteView(a), sink) == FrameDecoder::Status::ok);
  std::vector<uint8_t> wire;
  FUZZ_CHECK(whole.encode(ByteView(a), wire));
  // udp-local's side: the same bytes as a server's answers and replies, split the same way.
  using Kind = UdpOverSocks5ClientTranslator::Kind;
  Kind kind = (data[0] & 2) ? Kind::uot : Kind::fwd_udp;
  UdpOverSocks5ClientTranslator c1(kind, user, password), c2(kind, user, password);
  std::vector<uint8_t> greeting, f1, f2, w1, w2;
  c1.start(greeting);
  FUZZ_CHECK(!greeting.empty());
  bool ok1 = c1.decode(in, f1, w1);
  bool ok2 = c2.decode(in.first(split), f2, w2);
  if (ok2) ok2 = c2.decode(in.after(split), f2, w2);
  FUZZ_CHECK(ok1 == ok2 && f1 == f2 && w1 == w2);
  FrameDecoder d2;
  FUZZ_CHECK(d2.feed(ByteView(f1), sink) == FrameDecoder::Status::ok);
  return 0;
}
