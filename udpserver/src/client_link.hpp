// One TCP connection from a udp-local: the handshake, then frames to and from its session.
// A link can die at any time without its session dying with it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/runtime/tcp_stream.hpp"

namespace udptun::udpserver {

class Worker;
class Session;
struct MovedLink;
struct FreshLink;

// What a connection speaks: udptun's own protocol, or another one translated into udptun
// frames by its stream's codec (docs/PROTOCOL.md §7).
enum class Wire : uint8_t { udptun, udpgw, socks5 };
const char* wire_name(Wire w);  // "udptun", "udpgw", "socks5"

class ClientLink : public runtime::TcpStream::Events, public protocol::FrameSink {
 public:
  ClientLink(Worker& worker, uint64_t serial, Wire wire = Wire::udptun);
  ClientLink(const ClientLink&) = delete;
  ClientLink& operator=(const ClientLink&) = delete;

  // Takes a connection from a listener; nothing is read or written until greet(), so the
  // server can still refuse it.
  int accept(uv_stream_t* listener);
  // Takes a connection another worker accepted, for its handshake here (then greet()).
  int arrive_fresh(FreshLink&& fresh);
  // Starts the handshake: reading, TLS, our challenge. Another protocol has no handshake:
  // the link opens its own session (`session`, this worker's) at once.
  int greet(const protocol::SessionId& session = {});
  Wire wire() const { return wire_; }
  // How long the peer may stay silent before the link is closed.
  uint64_t silence_limit_ms() const;
  // A connection another worker took through its hello: adopted here, the hello decided here
  // (its session is this worker's), then the bytes that followed the hello.
  void arrive(MovedLink&& moved);
  // Handed to another worker: this object only waits to be freed.
  void mark_moved() { state_ = State::closed; }
  uint64_t serial() const { return serial_; }
  runtime::TcpStream& stream() { return stream_; }
  bool established() const { return state_ == State::established; }
  uint64_t created_ms() const { return created_ms_; }
  uint64_t last_heard_ms() const { return last_heard_ms_; }
  Session* session() const { return session_; }
  // Set by Session::attach / detach only.
  void set_session(Session* s, unsigned lane) {
    session_ = s;
    lane_ = lane;
  }
  unsigned lane() const { return lane_; }
  const char* tag() const { return tag_; }
  const protocol::Challenge& challenge() const { return challenge_; }
  // The peer's IP address as a map key ("" if unknown); counted while it is unauthenticated.
  const std::string& source_key() const { return source_key_; }
  // Counted against its address's unauthenticated connections and its worker's handshakes
  // under way, until Worker::handshake_over.
  bool pending_counted = false;
  // Another protocol's link: counted against its address's connections until its session
  // takes the count over (or the link ends first).
  bool connection_counted = false;

  // Tells the client to move (GOAWAY) but keeps relaying until it closes: a drain.
  void ask_to_move(protocol::GoAwayReason reason, const char* why);
  // Reads again after yielding its turn (unless backpressure holds it).
  void resume_after_yield();

  // Ends the link: a GOAWAY first when established, then close; the server forgets it.
  void end(protocol::GoAwayReason reason, const char* why);

 private:
  enum class State { handshaking, established, closed };
  static constexpr size_t kReplyReserve = 64 * 1024;
  void on_stream_data(protocol::ByteView data) override;
  void on_stream_closed(const char* reason) override;
  void on_stream_reads_held() override;
  bool on_frame(const protocol::Frame& frame) override;
  void handshake(protocol::ByteView& data);
  void note_peer();
  void complete_handshake(const protocol::ClientHello& hello);
  void answer_hello(protocol::ServerHello reply, const protocol::Mac& client_mac);

  Worker& worker_;
  Wire wire_;
  runtime::TcpStream stream_;
  protocol::FrameDecoder decoder_;
  State state_ = State::handshaking;
  bool yielded_ = false;  // not reading: it used its share of this loop turn
  uint64_t turn_ = 0;     // the loop turn read_this_turn_ counts for
  size_t read_this_turn_ = 0;
  std::vector<uint8_t> hello_;
  protocol::Challenge challenge_{};
  std::string source_key_;
  Session* session_ = nullptr;
  unsigned lane_ = 0;  // which of its session's connections this is
  uint64_t serial_;
  uint64_t created_ms_;
  uint64_t last_heard_ms_;
  char tag_[40];
};

}  // namespace udptun::udpserver
