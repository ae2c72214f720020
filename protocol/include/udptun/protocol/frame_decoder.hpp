// Turns an arbitrarily split TCP byte stream into frames, with bounded memory: a frame that
// arrives whole is handed over in place; only a partial frame is copied, and never more than
// kMaxFrameSize bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "udptun/protocol/frame.hpp"

namespace udptun::protocol {

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Return false to stop decoding (e.g. the connection is being closed). The frame's views
  // are valid only during the call.
  virtual bool on_frame(const Frame& frame) = 0;
};

class FrameDecoder {
 public:
  enum class Status : uint8_t { ok, stopped, error };

  // Decodes every complete frame in `in` (after whatever was buffered) and hands it to
  // `sink`. After an error the stream is unusable: every later call returns error again.
  Status feed(ByteView in, FrameSink& sink);

  const char* error() const { return error_; }
  // Bytes held for a partial frame (for tests and memory accounting).
  size_t buffered() const { return partial_.size(); }

 private:
  Status fail_with(const char* why);

  std::vector<uint8_t> partial_;
  const char* error_ = nullptr;
};

}  // namespace udptun::protocol
