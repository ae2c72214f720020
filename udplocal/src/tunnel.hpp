// The upstream link to udp-server: a session carried by one TCP connection, or by several
// ("lanes", --connections) that the server agreed to. The session id lives as long as the
// instance, so a reconnect resumes the session when the server still has it. The session is
// up while its first connection is; added connections come and go beside it (a flow whose
// lane is down takes the first connection meanwhile), and start again whenever the first
// one reconnects: a session's lanes are resumed together. While the link is down,
// datagrams wait in a small bounded queue.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "client_config.hpp"
#include "flow_connections.hpp"
#include "tunnel_connection.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/sequence_window.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/lane_chooser.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/prometheus_text.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/udplocal.h"

namespace udptun::udplocal {

class Tunnel : public TunnelConnection::Events {
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
  // Says goodbye (GOAWAY) on every connection that is up and closes; no reconnect after it.
  void stop();
  const protocol::SessionId& session_id() const override { return session_id_; }
  // Heartbeat round trips, in seconds, since the start.
  const runtime::Histogram& rtt_histogram() const { return rtt_histogram_; }
  // Bytes waiting: in the TCP output queues and the per-flow queues.
  size_t output_queued_bytes() const;
  // How long datagrams waited in the per-flow queues (seconds), every lane's, ever.
  const runtime::Histogram& queue_sojourn() const { return sojourn_; }
  uint64_t pacing_Bps() const;
  size_t held_bytes() const { return queued_bytes_; }
  // Before start: continue a session an earlier process had (its record was read back).
  void resume_session(const protocol::SessionId& id);
  const char* tag() const { return tag_; }

  // A datagram for a flow (to `to` when given, else to the flow's target): sent now when up,
  // queued when down, false when dropped.
  bool send_data(uint32_t flow_id, protocol::ByteView payload,
                 const protocol::Address* to = nullptr);
  // Control frames go out only when up (they are re-derived after a reconnect), on the lane
  // of the flow they are about.
  void send_control(const protocol::Frame& frame);

 private:
  // TunnelConnection::Events
  bool wants_resume() const override { return has_session_; }
  void on_connection_up(TunnelConnection& c, bool resumed) override;
  void on_connection_frame(TunnelConnection& c, const protocol::Frame& frame) override;
  void on_connection_down(TunnelConnection& c, bool was_up) override;
  void on_round_trip(uint64_t us) override;

  bool up() const { return lanes_[0]->up(); }
  std::unique_ptr<TunnelConnection> make_lane(unsigned lane);
  void agree_lanes(const protocol::Lanes& granted);
  void stop_added_lanes();
  void deliver_sequenced(const protocol::SequencedData& d);
  void flush_queue();

  runtime::EventLoop& loop_;
  runtime::Logger& log_;
  const ClientConfig& config_;
  udplocal_stats& stats_;
  runtime::SocketProtector protector_;
  runtime::Histogram rtt_histogram_{
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
  Events& events_;
  protocol::SessionId session_id_{};
  bool has_session_ = false;  // a handshake succeeded once: ask to resume from now on
  char tag_[16];

  std::unique_ptr<runtime::TlsContext> tls_;
  // lanes_[0]: the session's connection, always there; the others exist while it is up and
  // the server agreed to them.
  std::vector<std::unique_ptr<TunnelConnection>> lanes_;
  uint32_t lanes_up_ = 0;  // bit i: lane i is up
  runtime::LaneChooser chooser_;
  runtime::Histogram sojourn_ = runtime::FlowScheduler::new_sojourn_histogram();
  std::unordered_map<uint32_t, protocol::SequenceWindow> received_;  // copied flows, by id

  struct Queued {
    uint32_t flow_id;
    bool has_address;
    protocol::Address address;
    std::vector<uint8_t> payload;
  };
  std::deque<Queued> queue_;
  size_t queued_bytes_ = 0;
  // --server-protocol socks5-fwd-udp | uot: a connection per flow instead of the lanes.
  std::unique_ptr<FlowConnections> per_flow_;
};

}  // namespace udptun::udplocal
