// A translation between another protocol's byte stream and udptun frames, so a connection
// speaking it is served by the same engine as udptun's own (docs/PROTOCOL.md §7). The
// connection's stream (runtime::TcpStream) runs what it reads through decode() and what it
// writes through encode(); neither does any I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "udptun/protocol/bytes.hpp"

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

}  // namespace udptun::protocol
