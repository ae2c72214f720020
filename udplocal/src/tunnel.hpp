// The upstream link to udp-server: connect (directly, or through a SOCKS5 CONNECT), the
// handshake, heartbeats, and reconnecting with backoff whenever anything fails. The session
// id lives as long as the instance, so a reconnect resumes the session when the server still
// has it. While the link is down, datagrams wait in a small bounded queue.
#pragma once

#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "client_config.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/socks5_client.hpp"
#include "udptun/runtime/backoff.hpp"
#include "udptun/runtime/carrier_queue.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/name_resolver.hpp"
#include "udptun/runtime/prometheus_text.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/udplocal.h"

namespace udptun::udplocal {

class Tunnel : public runtime::TcpStream::Events, public protocol::FrameSink {
 public:
  class Events {
   public:
    virtual ~Events() = default;
    // Authenticated. Re-announce flows now (before queued datagrams go out).
    virtual void on_tunnel_up(bool resumed) = 0;
    virtual void on_tunnel_down() = 0;
    virtual void on_tunnel_frame(const protocol::Frame& frame) = 0;
  };

  Tunnel(runtime::EventLoop& loop, runtime::Logger& log, const ClientConfig& config,
         udplocal_stats& stats, Events& events);
  ~Tunnel() override;

  // Before start: every connection's socket goes through `protector` before it connects.
  void set_protector(runtime::SocketProtector protector) { protector_ = std::move(protector); }
  // Before start: the frames will travel inside TLS. false with `error` (a bad pin, CA file).
  Status enable_tls();
  void start();
  // Says goodbye (GOAWAY) if up and closes; no reconnect after it.
  void stop();
  const protocol::SessionId& session_id() const { return session_id_; }
  // Heartbeat round trips, in seconds, since the start.
  const runtime::Histogram& rtt_histogram() const { return rtt_histogram_; }
  // Bytes waiting: in the TCP output queue and the per-flow queues, and held while the link
  // is down.
  size_t output_queued_bytes() const {
    return (stream_ ? stream_->queued_bytes() : 0) + carrier_.scheduler().queued_bytes();
  }
  // How long datagrams waited in the per-flow queues (seconds).
  const runtime::Histogram& queue_sojourn() const { return carrier_.scheduler().sojourn(); }
  uint64_t pacing_Bps() const { return carrier_.pacing_Bps(); }
  size_t held_bytes() const { return queued_bytes_; }
  // Before start: continue a session an earlier process had (its record was read back).
  void resume_session(const protocol::SessionId& id);
  const char* tag() const { return tag_; }

  // A datagram for a flow (to `to` when given, else to the flow's target): sent now when up,
  // queued when down, false when dropped.
  bool send_data(uint32_t flow_id, protocol::ByteView payload,
                 const protocol::Address* to = nullptr);
  // Control frames go out only when up (they are re-derived after a reconnect).
  void send_control(const protocol::Frame& frame);

 private:
  enum class State { waiting, resolving, connecting, proxying, handshaking, up, stopped };

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
  void link_failed(const char* why);
  void tick();
  void flush_queue();

  runtime::EventLoop& loop_;
  runtime::Logger& log_;
  const ClientConfig& config_;
  udplocal_stats& stats_;
  runtime::SocketProtector protector_;
  runtime::Histogram rtt_histogram_{
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  Events& events_;
  protocol::PreSharedKey key_;
  protocol::SessionId session_id_{};
  bool has_session_ = false;  // a handshake succeeded once: ask to resume from now on
  char tag_[16];

  State state_ = State::waiting;
  std::unique_ptr<runtime::TcpStream> stream_;
  runtime::CarrierQueue carrier_;  // data frames on their way into stream_, by flow
  std::unique_ptr<runtime::TlsContext> tls_;
  std::unique_ptr<protocol::FrameDecoder> decoder_;
  std::unique_ptr<protocol::socks5::ClientHandshake> proxy_;
  std::vector<uint8_t> inbox_;  // handshake bytes not yet complete
  protocol::Mac hello_mac_{};
  bool challenged_ = false;
  bool carrier_warned_ = false;  // a carrier option the system refused was logged                //
                                 // the server's challenge arrived and our hello is sent
  const char* pending_failure_ = nullptr;  // set inside frame handling, acted on after it

  runtime::NameResolver resolver_;

  runtime::ExponentialBackoff backoff_;
  runtime::UvHandle<uv_timer_t> retry_timer_;
  runtime::UvHandle<uv_timer_t> tick_timer_;
  uint64_t attempt_started_ms_ = 0;
  uint64_t last_heard_ms_ = 0;
  uint64_t last_ping_ms_ = 0;
  uint64_t failed_attempts_ = 0;  // since the last successful handshake

  struct Queued {
    uint32_t flow_id;
    bool has_address;
    protocol::Address address;
    std::vector<uint8_t> payload;
  };
  std::deque<Queued> queue_;
  size_t queued_bytes_ = 0;
};

}  // namespace udptun::udplocal
