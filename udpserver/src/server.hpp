// The udp-server instance: listeners, the session table, authentication, timers, stats.
// Everything runs on the instance's own loop; see udptun/udpserver.h for the threading rules.
#pragma once

#include <array>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "server_config.hpp"
#include "target_policy.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/instance_host.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/runtime/uv_handle.hpp"
#include "udptun/udpserver.h"

namespace udptun::udpserver {

class ClientLink;
struct ClientRate;
class HandoverPoint;
class Session;
class Tun2socksEgress;

class Server : public runtime::InstanceHost<udpserver_callbacks, udpserver_stats> {
 public:
  explicit Server(ServerConfig config);
  ~Server() override;

  // Thread-safe: stop accepting, ask every client to move (GOAWAY), stop once they all left
  // or config().drain_grace_ms passed. false when the instance is stopping already.
  bool drain();

  // For links, sessions and flows (loop thread only).
  runtime::EventLoop& loop() { return loop_; }
  runtime::Logger& log() { return log_; }
  const ServerConfig& config() const { return config_; }
  const protocol::PreSharedKey& key() const { return key_; }
  const TargetPolicy& policy() const { return policy_; }
  // The TLS carrier's context (nullptr: connections are plain TCP).
  runtime::TlsContext* tls() { return tls_.get(); }
  udpserver_stats& stats() { return stats_; }
  protocol::socks5::ReassemblyCounters& egress_reassembly() { return egress_reassembly_; }
  // The "tun2socks" egress (nullptr with the other egresses).
  Tun2socksEgress* tun2socks_egress() { return egress_.get(); }

  // Decides a verified-structure hello: checks MAC, clock and replay, then resumes or
  // creates the session and attaches the link to it.
  protocol::ServerHello admit(ClientLink& link, const protocol::ClientHello& hello);
  // The link is finished (closed, refused or replaced): detach its session, free it later.
  void forget_link(ClientLink& link, const char* reason);
  // The link is no longer an unauthenticated one from its address.
  void handshake_over(ClientLink& link);
  // Fairness: a link that used its share of this loop turn stops reading until the next
  // one, so one peer's flood of frames cannot starve every other connection.
  static constexpr size_t kReadBudgetPerTurn = 128 * 1024;
  uint64_t turn() const { return turn_; }
  void yield_until_next_turn(ClientLink& link);
  // Totals over all sessions (from the configuration, or from RLIMIT_NOFILE).
  uint64_t max_total_flows() const { return max_total_flows_; }
  // The rate limits shared by every session from one client address (nullptr when no client
  // limit is configured).
  std::shared_ptr<ClientRate> client_rate(const std::string& source_key);
  // Events peers can repeat at will are logged through this.
  runtime::LogThrottle& throttle() { return throttle_; }

 private:
  Status open() override;
  void on_running() override;
  Status open_listeners();
  Status open_tls();
  // Planned restarts (server_handover.cpp): take a predecessor's listeners and sessions
  // before ours open; hand ours to a successor, then stop.
  Status take_over();
  bool adopt_listener(int fd, const protocol::Address& address);
  void hand_over(int fd);
  void listen_for_successor();
  void derive_limits();
  static void on_connection(uv_stream_t* listener, int status);
  void accept_one(uv_stream_t* listener);
  void sweep() override;
  void refresh_derived_stats() override;
  std::string render_metrics() override;  // server_metrics.cpp
  void shutdown() override;
  void begin_drain();
  void bury_dead_links(bool all);
  Session* new_session(const protocol::SessionId& id);
  void evict_one_session();
  void remove_session(const protocol::SessionId& id, const char* why);
  void report_session(Session& s, bool up);

  ServerConfig config_;
  std::unique_ptr<Tun2socksEgress> egress_;
  protocol::PreSharedKey key_;
  TargetPolicy policy_;

  std::vector<runtime::UvHandle<uv_tcp_t>> listeners_;
  std::vector<protocol::Address> adopted_listeners_;  // configured addresses a predecessor gave
  std::unique_ptr<HandoverPoint> handover_;
  std::unique_ptr<runtime::TlsContext> tls_;
  bool handed_over_ = false;
  runtime::UvHandle<uv_check_t> burial_;
  runtime::UvHandle<uv_prepare_t> turn_counter_;
  runtime::UvHandle<uv_check_t> resume_yielded_;
  std::vector<ClientLink*> yielded_;
  uint64_t turn_ = 0;
  std::list<std::unique_ptr<ClientLink>> links_;
  struct DeadLink {
    std::unique_ptr<ClientLink> link;
    uint64_t since_ms;
  };
  std::list<DeadLink> dead_links_;  // closing; freed once their last bytes are out
  std::map<protocol::SessionId, std::unique_ptr<Session>> sessions_;
  uint64_t next_link_serial_ = 1;
  std::map<std::string, uint32_t> pending_by_source_;  // IP bytes → unauthenticated links
  std::map<std::string, std::weak_ptr<ClientRate>> client_rates_;  // IP bytes → shared limits
  uint64_t max_connections_ = 0;
  uint64_t max_total_flows_ = 0;
  uint64_t own_addresses_at_ms_ = 0;
  runtime::LogThrottle throttle_;
  bool stopping_ = false;
  bool draining_ = false;
  runtime::UvHandle<uv_timer_t> drain_timer_;

  protocol::socks5::ReassemblyCounters egress_reassembly_;
};

}  // namespace udptun::udpserver
