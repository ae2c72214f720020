// Tunnel frames: any bytes through FrameDecoder, whole and split at a point the input picks.
// Invariants: splitting never changes the frames or the verdict; every decoded frame
// re-encodes to exactly the bytes it came from; memory held stays within one frame.
#include <vector>

#include "fuzz_check.hpp"
#include "udptun/protocol/frame_decoder.hpp"

using namespace udptun::protocol;

namespace {

struct Collect : FrameSink {
  std::vector<std::vector<uint8_t>> frames;
  bool on_frame(const Frame& f) override {
    frames.emplace_back();
    append_frame(frames.back(), f);
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t split = (size_t{data[0]} << 8 | data[1]) % (size - 1);
  ByteView stream(data + 2, size - 2);

  FrameDecoder whole;
  Collect a;
  auto sa = whole.feed(stream, a);

  FrameDecoder parts;
  Collect b;
  auto sb = parts.feed(stream.first(split), b);
  FUZZ_CHECK(parts.buffered() <= kMaxFrameSize);
  if (sb == FrameDecoder::Status::ok) sb = parts.feed(stream.after(split), b);
  FUZZ_CHECK(parts.buffered() <= kMaxFrameSize);

  FUZZ_CHECK(sa == sb);
  FUZZ_CHECK(a.frames == b.frames);
  if (sa == FrameDecoder::Status::error) FUZZ_CHECK(whole.error() != nullptr);

  // Canonical encoding: the decoded frames, re-encoded, are a prefix of the input.
  size_t offset = 0;
  for (const auto& f : a.frames) {
    FUZZ_CHECK(offset + f.size() <= stream.size);
    FUZZ_CHECK(ByteView(f) == ByteView(stream.data + offset, f.size()));
    offset += f.size();
  }
  return 0;
}
