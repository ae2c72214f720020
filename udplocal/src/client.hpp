// The udp-local instance: fronts take datagrams in, the flow table names them, the tunnel
// carries them; replies come back the same way. See udptun/udplocal.h for threading.
#pragma once

#include <memory>
#include <vector>

#include "client_config.hpp"
#include "flow_table.hpp"
#include "session_store.hpp"
#include "tunnel.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/instance_host.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/udplocal.h"

namespace udptun::udplocal {

class ForwardFront;
class InProcessFront;
class Socks5Front;

class Client : public runtime::InstanceHost<udplocal_callbacks, udplocal_stats>,
               public Tunnel::Events {
 public:
  // With `host`, a guest on that loop (tun2socks' in-process udp-local).
  explicit Client(ClientConfig config, runtime::EventLoop* host = nullptr);
  ~Client() override;

  // For fronts (loop thread).
  runtime::EventLoop& loop() { return loop_; }
  runtime::Logger& log() { return log_; }
  const ClientConfig& config() const { return config_; }
  udplocal_stats& stats() { return stats_; }
  protocol::socks5::ReassemblyCounters& reassembly() { return reassembly_; }
  protocol::socks5::ReassemblyBudget& reassembly_budget() { return reassembly_budget_; }
  void submit(FlowOrigin* origin, const protocol::Address& source, const protocol::Address& target,
              protocol::ByteView payload);
  // The origin is going away: its flows close (and the server hears of it).
  void close_flows_of(FlowOrigin* origin);
  void count_delivery(size_t bytes, int send_result);
  void count_dropped_deliveries(size_t count);
  void report_started(const char* kind, const std::string& address);
  // The in-process path (udplocal_submit / the datagram callback).
  int submit_in_process(const struct sockaddr* src, const struct sockaddr* dst, const uint8_t* data,
                        size_t len);
  void deliver_in_process(const struct sockaddr* src, const struct sockaddr* dst,
                          protocol::ByteView payload);

 private:
  void on_tunnel_up(bool resumed) override;
  void on_tunnel_down() override;
  void on_tunnel_frame(const protocol::Frame& frame) override;
  void announce(const LocalFlow& flow);
  void close_flow(uint32_t id, bool tell_server);
  Status open() override;
  void on_running() override;
  void sweep() override;
  void refresh_derived_stats() override;
  std::string render_metrics() override;  // client_metrics.cpp
  void shutdown() override;
  void report_session(bool up, bool resumed);
  void restore_session();
  void save_session();

  ClientConfig config_;
  protocol::socks5::ReassemblyCounters reassembly_;
  protocol::socks5::ReassemblyBudget reassembly_budget_;
  FlowTable flows_;
  Tunnel tunnel_;
  SessionStore store_;
  bool record_dirty_ = false;
  uint64_t saved_at_ms_ = 0;
  uint64_t reserved_ids_until_ = 0;  // the record on disk reserves flow ids below this
  std::vector<uint32_t> stale_ids_;  // recorded flows whose origin is gone: closed at the server
  std::vector<std::unique_ptr<ForwardFront>> forwards_;
  std::unique_ptr<Socks5Front> socks5_;
  std::unique_ptr<InProcessFront> in_process_;  // created with the Client: submit may race start
};

}  // namespace udptun::udplocal
