// What a translator emitted, frame by frame, for the protocol tests: the frames, and a copy of
// each DATA payload (a Frame's views die with the decoder's call).
#pragma once

#include <string>
#include <vector>

#include "cmocka_support.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"

namespace test {

struct Frames : udptun::protocol::FrameSink {
  std::vector<udptun::protocol::Frame> all;
  std::vector<std::vector<uint8_t>> payloads;  // empty for frames other than DATA
  bool on_frame(const udptun::protocol::Frame& f) override {
    all.push_back(f);
    if (auto* d = std::get_if<udptun::protocol::Data>(&f))
      payloads.emplace_back(d->payload.data, d->payload.data + d->payload.size);
    else
      payloads.emplace_back();
    return true;
  }
  std::string text(size_t i) const { return std::string(payloads[i].begin(), payloads[i].end()); }
};

inline Frames frames_of(const std::vector<uint8_t>& wire) {
  Frames f;
  udptun::protocol::FrameDecoder d;
  assert_true(d.feed(udptun::protocol::ByteView(wire), f) ==
              udptun::protocol::FrameDecoder::Status::ok);
  return f;
}

}  // namespace test
