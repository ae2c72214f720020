// A translation between another protocol's byte stream and udptun frames, so a connection
// speaking it is served by the same engine as udptun's own (docs/PROTOCOL.md §7). The
// connection's stream (runtime::TcpStream) runs what it reads through decode() and what it
// writes through encode(); neither does any I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"

namespace udptun::protocol {

class StreamCodec {
 public:
  virtual ~StreamCodec() = default;
  // Bytes for the peer as soon as the codec takes the stream (a client's greeting).
  virtual void start(std::vector<uint8_t>& wire) { (void)wire; }
  // The peer's bytes (any split) → udptun frames appended to `frames`, and bytes for the peer
  // at once (a handshake's answers) appended to `answer`. false: the stream ends (error()
  // says why) once `answer` is written (a refusal's reply).
  virtual bool decode(ByteView wire, std::vector<uint8_t>& frames,
                      std::vector<uint8_t>& answer) = 0;
  // udptun frames for the peer (any split) → its protocol's bytes appended to `wire`.
  virtual bool encode(ByteView frames, std::vector<uint8_t>& wire) = 0;
  virtual const char* error() const = 0;
};

// Cuts a byte stream into messages split anywhere: whole ones are taken where they lie, only
// a split one is copied (one message at most is held).
class MessageStream {
 public:
  static constexpr size_t kStop = static_cast<size_t>(-1);
  // `take(bytes)` returns the size of the message at the front of `bytes` once it is whole
  // (having handled it), 0 for "need more", or kStop to end the stream: feed() is false then.
  template <class Take>
  bool feed(ByteView wire, Take&& take) {
    ByteView rest = wire;
    if (!held_.empty()) {
      held_.insert(held_.end(), wire.data, wire.data + wire.size);
      rest = ByteView(held_);
    }
    size_t used = 0;
    while (used < rest.size) {
      size_t n = take(rest.after(used));
      if (n == kStop) return false;
      if (n == 0) break;
      used += n;
    }
    if (!held_.empty())
      held_.erase(held_.begin(), held_.begin() + static_cast<long>(used));
    else if (used < rest.size)
      held_.assign(rest.data + used, rest.data + rest.size);
    return true;
  }
  size_t held() const { return held_.size(); }

 private:
  std::vector<uint8_t> held_;
};

// A codec made of two halves taken one unit at a time: the peer's messages (take_one(), cut
// from its stream however it is split) and our frames (translate()).
class FrameTranslator : public StreamCodec, private FrameSink {
 public:
  bool decode(ByteView wire, std::vector<uint8_t>& frames, std::vector<uint8_t>& answer) final;
  bool encode(ByteView frames, std::vector<uint8_t>& wire) final;
  const char* error() const final { return error_; }
  // Bytes of a message split across reads, held until it is whole.
  size_t buffered() const { return in_.held(); }

 protected:
  // The peer's message at the front of `in`: its size once it is whole (having appended its
  // frames, and any answer for the peer), 0 for "need more". Setting error_ ends the stream.
  virtual size_t take_one(ByteView in, std::vector<uint8_t>& frames,
                          std::vector<uint8_t>& answer) = 0;
  // One of our frames for the peer: its translation, if it has one, appended to `wire`.
  virtual void translate(const Frame& frame, std::vector<uint8_t>& wire) = 0;
  const char* error_ = nullptr;  // set: the stream failed

 private:
  bool on_frame(const Frame& frame) final;
  MessageStream in_;
  FrameDecoder frames_;
  std::vector<uint8_t>* wire_ = nullptr;  // during encode()
};

}  // namespace udptun::protocol
