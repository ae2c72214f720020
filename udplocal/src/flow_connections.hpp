// udp-local's link for the protocols where a TCP connection is one UDP socket (hev-socks5's FWD
// UDP, sing-box's UDP-over-TCP: --server-protocol socks5-fwd-udp | uot): a connection per
// flow, opened with the flow and closed with it. Each is a TunnelConnection whose stream
// translates the flow's frames (UdpOverSocks5ClientTranslator); it reconnects by itself while
// the flow lives, and the flow's datagrams wait (a few) while it connects. Nothing resumes: a
// new connection is a new socket at the server.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "client_config.hpp"
#include "tunnel_connection.hpp"
#include "udptun/protocol/frame.hpp"

namespace udptun::udplocal {

class FlowConnections : public TunnelConnection::Events {
 public:
  using FrameHandler = std::function<void(const protocol::Frame&)>;
  // Datagrams a flow holds while its connection comes up.
  static constexpr size_t kMaxWaitingDatagrams = 64;
  static constexpr size_t kMaxWaitingBytes = 256 * 1024;

  FlowConnections(runtime::EventLoop& loop, runtime::Logger& log, const ClientConfig& config,
                  udplocal_stats& stats, const protocol::SessionId& session, FrameHandler frames);
  ~FlowConnections() override;

  void set_protector(runtime::SocketProtector protector) { protector_ = std::move(protector); }
  // A connection for the flow (none twice).
  void open(const protocol::OpenFlow& open, const char* tag);
  void close(uint32_t flow_id);
  // Sent on the flow's connection, or held while it connects; false when dropped.
  bool send(uint32_t flow_id, protocol::ByteView payload, const protocol::Address* to);
  void stop();
  size_t queued_bytes() const;

 private:
  struct Waiting {
    bool has_address;
    protocol::Address address;
    std::vector<uint8_t> payload;
  };
  struct Link {
    std::unique_ptr<TunnelConnection> connection;
    protocol::OpenFlow open;
    std::deque<Waiting> waiting;
    size_t waiting_bytes = 0;
  };
  // TunnelConnection::Events
  const protocol::SessionId& session_id() const override { return session_; }
  bool wants_resume() const override { return false; }
  void on_connection_up(TunnelConnection& c, bool resumed) override;
  void on_connection_frame(TunnelConnection& c, const protocol::Frame& frame) override;
  void on_connection_down(TunnelConnection& c, bool was_up) override;
  void on_round_trip(uint64_t) override {}
  void write(Link& link, protocol::ByteView payload, const protocol::Address* to);

  runtime::EventLoop& loop_;
  runtime::Logger& log_;
  const ClientConfig& config_;
  udplocal_stats& stats_;
  const protocol::SessionId& session_;
  FrameHandler frames_;
  runtime::SocketProtector protector_;
  std::unordered_map<uint32_t, Link> links_;
  std::unordered_map<const TunnelConnection*, uint32_t> flow_of_;
  // Stopped connections, freed at the next open: a flow may be closed from inside one of its
  // connection's own callbacks.
  std::vector<std::unique_ptr<TunnelConnection>> retired_;
};

}  // namespace udptun::udplocal
