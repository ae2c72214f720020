// badvpn udpgw: any byte stream through the translator, split in two at a point the input
// chooses, then every frame it made fed back as the server's replies. Invariants: the split
// does not change the frames, what it holds stays under one packet, the frames it makes
// always decode, and the ids it tracks never exceed the cap. Then udp-local's side, both ways.
#include "fuzz_check.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/udpgw.hpp"

using namespace udptun::protocol;
using namespace udptun::protocol::udpgw;

namespace {
struct Count : FrameSink {
  size_t n = 0;
  bool on_frame(const Frame&) override {
    n++;
    return true;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t split = data[0] % (size);
  ByteView in(data + 1, size - 1);
  constexpr size_t kIds = 4;
  UdpgwTranslator whole(kIds, std::nullopt), parts(kIds, std::nullopt);
  std::vector<uint8_t> a, b;
  FUZZ_CHECK(whole.decode(in, a));
  FUZZ_CHECK(parts.decode(in.first(split), b));
  FUZZ_CHECK(parts.decode(in.after(split), b));
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(whole.buffered() <= kLengthSize + kMaxPacketBody);
  FUZZ_CHECK(whole.ids() <= kIds);
  Count frames;
  FrameDecoder d;
  FUZZ_CHECK(d.feed(ByteView(a), frames) == FrameDecoder::Status::ok);
  // The frames as replies: whatever they are, encoding never fails on well-formed frames.
  std::vector<uint8_t> wire;
  FUZZ_CHECK(whole.encode(ByteView(a), wire));
  // udp-local's side: the frames the server side made, as udp-local's own (ids bounded), and
  // the same bytes as a server's packets.
  UdpgwClientTranslator client(kIds);
  std::vector<uint8_t> out, back, none;
  FUZZ_CHECK(client.encode(ByteView(a), out));
  FUZZ_CHECK(client.ids() <= kIds);
  FUZZ_CHECK(client.decode(in, back, none));
  FUZZ_CHECK(none.empty());
  FrameDecoder d2;
  FUZZ_CHECK(d2.feed(ByteView(back), frames) == FrameDecoder::Status::ok);
  return 0;
}
