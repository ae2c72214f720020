// The udp-server instance: listeners, workers (each with its share of the sessions), planned
// restarts, drain, the summed stats. Runs on the instance's own loop, which worker 0 shares;
// see udptun/udpserver.h for the threading rules.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "per_source_count.hpp"
#include "server_config.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/instance_host.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/runtime/uv_handle.hpp"
#include "udptun/udpserver.h"
#include "worker.hpp"

namespace udptun::udpserver {

class ClientLink;
struct ClientRate;
class HandoverPoint;
class Tun2socksEgress;

class Server : public runtime::InstanceHost<udpserver_callbacks, udpserver_stats> {
 public:
  static constexpr uint64_t kSweepIntervalMs = 250;

  // With a `host` loop the server is a guest on it (runtime::InstanceHost): it opens, runs
  // and stops on that loop's thread, worker 0 beside the host's own handles; the middle-layer
  // tests drive it so, turn by turn.
  explicit Server(ServerConfig config, runtime::EventLoop* host = nullptr);
  ~Server() override;

  // Thread-safe: stop accepting, ask every client to move (GOAWAY), stop once they all left
  // or config().drain_grace_ms passed. A failure when the instance is stopping already.
  Status drain();

  // For workers (any worker's thread unless said otherwise).
  const ServerConfig& config() const { return config_; }
  const protocol::PreSharedKey& key() const { return key_; }
  // The TLS carrier's context (nullptr: connections are plain TCP). Shared by the workers:
  // mbedTLS guards its random generator.
  runtime::TlsContext* tls() { return tls_.get(); }
  // Where udpgw datagrams flagged DNS go: --udpgw-dns, or the system's resolver.
  const std::optional<protocol::Address>& udpgw_dns() const { return udpgw_dns_; }
  // The "tun2socks" egress (nullptr with the other egresses; only with one worker).
  Tun2socksEgress* tun2socks_egress() { return egress_.get(); }
  Worker& worker_for(const protocol::SessionId& id);
  // Totals over all sessions (from the configuration, or from RLIMIT_NOFILE), held by every
  // worker together: a slot is taken before a flow or session is made, given back after.
  uint64_t max_total_flows() const { return max_total_flows_; }
  bool reserve_flow() { return reserve(flows_in_use_, max_total_flows_); }
  void release_flows(uint64_t n) { flows_in_use_ -= n; }
  bool reserve_session() { return reserve(sessions_in_use_, config_.max_sessions); }
  void release_session() { sessions_in_use_--; }
  // Per client address (its source key), over every worker: sessions
  // (--max-sessions-per-client) and connections not yet authenticated
  // (--max-pending-handshakes-per-source).
  PerSourceCount& sessions_per_client() { return sessions_per_client_; }
  PerSourceCount& pending_per_client() { return pending_per_client_; }
  // Other protocols' connections per client address (--max-connections-per-client).
  PerSourceCount& connections_per_client() { return connections_per_client_; }
  // The rate limits shared by every session from one client address (nullptr when no client
  // limit is configured).
  std::shared_ptr<ClientRate> client_rate(const std::string& source_key);
  // The application's log callback, made safe to call from every worker (empty: stderr).
  runtime::Logger::Sink log_sink();
  void report_session(const std::string& id_hex, bool up);
  void connection_closed() { open_connections_--; }
  // A worker's share of --max-pending-handshakes.
  uint64_t pending_cap_per_worker() const { return pending_cap_per_worker_; }
  void worker_drained();
  bool stopping() const { return stopping_; }
  bool handed_over() const { return handed_over_; }

 private:
  Status open() override;
  void on_running() override;
  Status open_listeners();
  Status open_tls();
  Status open_workers();
  // Planned restarts (server_handover.cpp): take a predecessor's listeners and sessions
  // before ours open; hand ours to a successor, then stop.
  Status take_over();
  // Takes `fd` whatever happens; a failure says why it does not listen here.
  Status adopt_listener(int fd, const protocol::Address& address);
  void hand_over(int fd);
  void listen_for_successor();
  void derive_limits();
  template <Wire W>
  static void on_connection(uv_stream_t* listener, int status);
  static uv_connection_cb connection_callback(Wire wire);
  Status open_listener(const protocol::Address& addr, Wire wire);
  void accept_one(uv_stream_t* listener, Wire wire);
  // Where a new connection's handshake runs: with TLS (a key exchange and a signature each),
  // the worker with the fewest handshakes under way; without, worker 0 (an HMAC is cheaper
  // than moving the connection).
  Worker& handshake_worker();
  void sweep() override;
  void refresh_derived_stats() override;
  std::string render_metrics() override;  // server_metrics.cpp
  void shutdown() override;
  void begin_drain();
  WorkerCounters all_counters();
  std::unique_lock<std::mutex> serialize_callbacks() override {
    return std::unique_lock<std::mutex>(callback_mutex_);
  }
  static bool reserve(std::atomic<uint64_t>& in_use, uint64_t cap) {
    uint64_t n = in_use.load(std::memory_order_relaxed);
    do {
      if (n >= cap) return false;
    } while (!in_use.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }

  ServerConfig config_;
  std::unique_ptr<Tun2socksEgress> egress_;
  protocol::PreSharedKey key_;
  size_t worker_count_ = 1;
  std::vector<std::unique_ptr<Worker>> workers_;  // [0] on this loop

  std::vector<runtime::UvHandle<uv_tcp_t>> listeners_;
  std::vector<protocol::Address> adopted_listeners_;  // configured addresses a predecessor gave
  std::unique_ptr<HandoverPoint> handover_;
  std::unique_ptr<runtime::TlsContext> tls_;
  std::optional<protocol::Address> udpgw_dns_;
  std::atomic<bool> handed_over_{false};
  uint64_t next_link_serial_ = 1;
  size_t next_handshake_worker_ = 0;           // where the search for the least busy starts
  std::atomic<uint64_t> open_connections_{0};  // all workers'
  uint64_t max_connections_ = 0;
  uint64_t pending_cap_per_worker_ = 1;
  uint64_t max_total_flows_ = 0;
  std::atomic<uint64_t> flows_in_use_{0};
  std::atomic<uint64_t> sessions_in_use_{0};
  uint64_t client_rates_swept_ms_ = 0;
  std::mutex client_rates_mutex_;
  std::map<std::string, std::weak_ptr<ClientRate>> client_rates_;  // IP bytes → shared limits
  PerSourceCount sessions_per_client_{config_.max_sessions_per_client};
  PerSourceCount pending_per_client_{config_.max_pending_handshakes_per_source};
  PerSourceCount connections_per_client_{config_.max_connections_per_client};
  std::mutex callback_mutex_;  // the application's log and session callbacks, one at a time
  std::atomic<bool> stopping_{false};
  bool draining_ = false;
  size_t workers_drained_ = 0;
  runtime::UvHandle<uv_timer_t> drain_timer_;
};

}  // namespace udptun::udpserver
