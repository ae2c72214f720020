#include "udptun/protocol/stream_codec.hpp"

namespace udptun::protocol {

bool FrameTranslator::decode(ByteView wire, std::vector<uint8_t>& frames,
                             std::vector<uint8_t>& answer) {
  if (error_) return false;
  return in_.feed(wire, [&](ByteView in) -> size_t {
    size_t n = take_one(in, frames, answer);
    return error_ ? MessageStream::kStop : n;
  });
}

bool FrameTranslator::encode(ByteView frames, std::vector<uint8_t>& wire) {
  wire_ = &wire;
  auto status = frames_.feed(frames, *this);
  wire_ = nullptr;
  if (status == FrameDecoder::Status::error) {
    error_ = frames_.error();
    return false;
  }
  return true;
}

bool FrameTranslator::on_frame(const Frame& frame) {
  translate(frame, *wire_);
  return true;
}

}  // namespace udptun::protocol
