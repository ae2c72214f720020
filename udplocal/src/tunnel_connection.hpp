// One TCP connection of the tunnel ("a lane"): connect (directly, or through a SOCKS5
// CONNECT), TLS when on, the handshake, heartbeats, and reconnecting with backoff whenever
// anything fails, until stopped. Lane 0 is the session's own connection (new or resumed);
// lanes 1.. JOIN the live session as added connections. Each lane has its own per-flow
// queues and delay control (CarrierQueue): a stalled lane holds only its own flows.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "client_config.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/socket_api.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/runtime/backoff.hpp"
#include "udptun/runtime/carrier_queue.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/name_resolver.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/udplocal.h"

namespace udptun::udplocal {

class TunnelConnection : public runtime::TcpStream::Events, public protocol::FrameSink {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // What the hello names: the session, and (lane 0) whether to ask to resume it.
    virtual const protocol::SessionId& session_id() const = 0;
    virtual bool wants_resume() const = 0;
    virtual void on_connection_up(TunnelConnection& c, bool resumed) = 0;
    // A frame other than PING, PONG and GOAWAY (which the connection handles itself). The
    // handler must not destroy `c`.
    virtual void on_connection_frame(TunnelConnection& c, const protocol::Frame& frame) = 0;
    // The connection failed (it retries by itself unless stopped). The handler must not
    // destroy `c`.
    virtual void on_connection_down(TunnelConnection& c, bool was_up) = 0;
    virtual void on_round_trip(uint64_t us) = 0;
  };

  TunnelConnection(runtime::EventLoop& loop, runtime::Logger& log, const ClientConfig& config,
                   udplocal_stats& stats, Events& events, unsigned lane);
  ~TunnelConnection() override;
  TunnelConnection(const TunnelConnection&) = delete;
  TunnelConnection& operator=(const TunnelConnection&) = delete;

  void set_protector(runtime::SocketProtector protector) { protector_ = std::move(protector); }
  void set_tls(runtime::TlsContext* tls) { tls_ = tls; }
  void start(const char* session_tag);
  // Says goodbye (GOAWAY) if up and closes; no reconnect after it.
  void stop(protocol::GoAwayReason reason, const char* why);

  unsigned lane() const { return lane_; }
  bool up() const { return state_ == State::up; }
  const char* tag() const { return tag_; }
  std::string peer_name() const { return stream_ ? stream_->peer_name() : std::string(); }
  runtime::CarrierQueue& carrier() { return carrier_; }
  const runtime::CarrierQueue& carrier() const { return carrier_; }
  size_t stream_queued_bytes() const { return stream_ ? stream_->queued_bytes() : 0; }
  // A control frame, written at once (when up).
  void write_frame(const protocol::Frame& frame);

 private:
  enum class State { waiting, resolving, connecting, proxying, handshaking, up, stopped };
  void become_up(bool resumed);

  // TcpStream::Events
  void on_stream_connected(int status) override;
  void on_stream_data(protocol::ByteView data) override;
  void on_stream_closed(const char* reason) override;
  // FrameSink
  bool on_frame(const protocol::Frame& frame) override;

  void attempt();
  void resolve(const protocol::Address& name);
  void connect_to(const struct sockaddr* to);
  void begin_handshake();
  void send_hello(const protocol::Challenge& challenge);
  void feed_frames(protocol::ByteView data);
  void handle_handshake(protocol::ByteView& data);
  void handle_proxy(protocol::ByteView& data);
  void refused(const char* why);
  void link_failed(const char* why);
  void tick();

  runtime::EventLoop& loop_;
  runtime::Logger& log_;
  const ClientConfig& config_;
  udplocal_stats& stats_;
  Events& events_;
  const unsigned lane_;
  runtime::SocketProtector protector_;
  runtime::TlsContext* tls_ = nullptr;
  protocol::PreSharedKey key_;
  char tag_[24] = "";

  State state_ = State::waiting;
  std::unique_ptr<runtime::TcpStream> stream_;
  runtime::CarrierQueue carrier_;  // data frames on their way into stream_, by flow
  std::unique_ptr<protocol::FrameDecoder> decoder_;
  std::unique_ptr<protocol::socks5::ClientHandshake> proxy_;
  std::vector<uint8_t> inbox_;  // handshake bytes not yet complete
  protocol::Mac hello_mac_{};
  bool challenged_ = false;                // the server's challenge arrived and our hello is sent
  bool carrier_warned_ = false;            // a carrier option the system refused was logged
  const char* pending_failure_ = nullptr;  // set inside frame handling, acted on after it
  static constexpr uint64_t kJoinRetryMs = 10'000;
  bool refused_join_ = false;  // the server has no such session: retry slowly

  runtime::NameResolver resolver_;
  runtime::ExponentialBackoff backoff_;
  runtime::UvHandle<uv_timer_t> retry_timer_;
  runtime::UvHandle<uv_timer_t> tick_timer_;
  uint64_t attempt_started_ms_ = 0;
  uint64_t last_heard_ms_ = 0;
  uint64_t last_ping_ms_ = 0;
  uint64_t failed_attempts_ = 0;  // since the last successful handshake
};

}  // namespace udptun::udplocal
