#include "udptun/protocol/frame_decoder.hpp"

#include <algorithm>

namespace udptun::protocol {

FrameDecoder::Status FrameDecoder::fail_with(const char* why) {
  error_ = why;
  partial_.clear();
  partial_.shrink_to_fit();
  return Status::error;
}

FrameDecoder::Status FrameDecoder::feed(ByteView in, FrameSink& sink) {
  if (error_) return Status::error;

  // Finish a frame begun in an earlier call: top up the copy with just the bytes it lacks
  // (first the header, then exactly the body), so the buffer never exceeds one frame.
  while (!partial_.empty() && !in.empty()) {
    size_t want = kFrameHeaderSize;
    if (partial_.size() >= kFrameHeaderSize) {
      want += load_u32(partial_.data() + 2);
    }
    size_t take = std::min(want - partial_.size(), in.size);
    partial_.insert(partial_.end(), in.data, in.data + take);
    in = in.after(take);
    auto p = decode_frame(ByteView(partial_));
    if (p.failed()) return fail_with(p.error);
    if (p.need_more()) continue;
    bool go_on = sink.on_frame(p.value);
    partial_.clear();
    if (!go_on) return Status::stopped;
  }

  // Whole frames straight from the caller's bytes.
  while (!in.empty()) {
    auto p = decode_frame(in);
    if (p.failed()) return fail_with(p.error);
    if (p.need_more()) {
      partial_.assign(in.data, in.data + in.size);
      break;
    }
    in = in.after(p.consumed);
    if (!sink.on_frame(p.value)) return Status::stopped;
  }
  // A big partial frame's buffer is given back once it is done, so idle connections stay small.
  if (partial_.empty() && partial_.capacity() > 4096) partial_.shrink_to_fit();
  return Status::ok;
}

}  // namespace udptun::protocol
