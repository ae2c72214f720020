// A worker: one event loop's share of udp-server's sessions. A session lives on one worker
// (chosen by its id), with its connection and its flows, so nothing on the data path crosses
// a thread. Worker 0 runs on the instance's own loop and also takes every new connection
// through its handshake; a connection whose session belongs to another worker moves there
// after the hello (its socket, TLS state and any bytes read past the hello). Workers 1..N-1
// run on threads of their own. Their counters are published every stats interval and summed
// by the Server.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client_link.hpp"
#include "server_config.hpp"
#include "target_policy.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/server_handover.hpp"
#include "udptun/protocol/socks5_reassembly.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/flow_scheduler.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/runtime/token_bucket.hpp"
#include "udptun/runtime/uv_handle.hpp"
#include "udptun/udpserver.h"

namespace udptun::udpserver {

class ClientLink;
struct ClientRate;
class Server;
class Session;
class Tun2socksEgress;

// A connection just accepted by worker 0, on its way to the worker that runs its handshake.
struct FreshLink {
  runtime::TcpStream::Detached connection;
  Wire wire = Wire::udptun;
  protocol::SessionId session{};  // another protocol's link: the session it opens here
  uint64_t serial = 0;
  uint64_t created_ms = 0;
  bool pending_counted = false;
  bool connection_counted = false;
  std::string source_key;
};

// A connection on its way to the worker that owns its session.
struct MovedLink {
  runtime::TcpStream::Detached connection;
  uint64_t serial = 0;
  uint64_t created_ms = 0;
  protocol::ClientHello hello;
  std::vector<uint8_t> after_hello;  // bytes read past the hello
};

// What a worker publishes for the Server to sum (under its mutex).
struct WorkerCounters {
  udpserver_stats stats{};
  // How long replies waited in the per-flow queues toward the clients (seconds).
  runtime::Histogram sojourn = runtime::FlowScheduler::new_sojourn_histogram();
  size_t queued_bytes = 0;      // replies waiting in its clients' TCP output queues
  size_t queued_bytes_max = 0;  // the deepest one
  uint64_t handshakes = 0;      // handshakes this worker ran (the others' are in their own)
};

void sum_counters(WorkerCounters& sum, const WorkerCounters& part);

class Worker {
 public:
  // Worker 0 runs on `server_loop`; the others (server_loop == nullptr) on a loop and thread
  // of their own.
  Worker(Server& server, size_t index, runtime::EventLoop* server_loop);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  size_t index() const { return index_; }
  Server& server() { return server_; }
  runtime::EventLoop& loop() { return loop_; }
  runtime::Logger& log() { return log_; }
  const ServerConfig& config() const;
  const protocol::PreSharedKey& key() const;
  const TargetPolicy& policy() const { return policy_; }
  runtime::TlsContext* tls();
  udpserver_stats& stats() { return stats_; }
  runtime::Histogram& sojourn() { return sojourn_; }
  protocol::socks5::ReassemblyCounters& egress_reassembly() { return egress_reassembly_; }
  Tun2socksEgress* tun2socks_egress();
  runtime::LogThrottle& throttle() { return throttle_; }
  std::shared_ptr<ClientRate> client_rate(const std::string& source_key);

  // Handles and timers (on the worker's loop thread, or before its thread starts).
  void open();
  // Workers 1..N-1: run on a thread of their own; stop closes everything and joins. A worker
  // whose thread never started is closed on the caller's thread.
  int start_thread();
  void stop_thread();
  // Runs `fn` on this worker's loop thread and waits for it (planned restarts only: they stop
  // the server anyway). false when the worker is stopping.
  bool run_and_wait(const std::function<void()>& fn);

  // Connections: worker 0 accepts; the handshake runs on the worker the Server chose (with
  // TLS, the least busy one); the session's owner serves.
  void add_link(std::unique_ptr<ClientLink> link);
  // Counts a handshake coming to this worker (from the accepting thread, before it is sent).
  void expect_handshake() { handshakes_under_way_++; }
  size_t handshakes_under_way() const { return handshakes_under_way_; }
  // On this worker's thread: the accepted link's handshake starts here.
  void start_handshake(std::unique_ptr<ClientLink> link, const protocol::SessionId& session = {});
  // A link of another protocol (no handshake) opens a session of its own, `id` (this
  // worker's), which ends with it; the link is ended when there is no room.
  void open_session_for(ClientLink& link, const protocol::SessionId& id);
  // From worker 0's thread: a link worker 0 accepted goes to this worker for its handshake;
  // `link` is left closed.
  void take_fresh_link(ClientLink& link, const protocol::SessionId& session = {});
  // The worker that owns a session id.
  Worker& owner_of(const protocol::SessionId& id);
  // Sends `link` (just past its hello) to `owner`; it is forgotten here.
  void move_link(ClientLink& link, Worker& owner, const protocol::ClientHello& hello,
                 protocol::ByteView after_hello);
  void receive_link(MovedLink&& moved);

  // Decides a verified-structure hello: checks MAC, clock and replay, then resumes or
  // creates the session and attaches the link to it.
  protocol::ServerHello admit(ClientLink& link, const protocol::ClientHello& hello);
  // The link is finished (closed, refused or replaced): detach its session, free it later.
  void forget_link(ClientLink& link, const char* reason);
  // The link is no longer an unauthenticated one from its address.
  void handshake_over(ClientLink& link);
  // Takes a handshake token of the link's address (--handshakes-per-second-per-source).
  bool admit_handshake(const ClientLink& link);

  // Fairness: a link that used its share of this loop turn stops reading until the next
  // one, so one peer's flood of frames cannot starve every other connection.
  static constexpr size_t kReadBudgetPerTurn = 128 * 1024;
  uint64_t turn() const { return turn_; }
  void yield_until_next_turn(ClientLink& link);

  void sweep();
  // Graceful stop: established clients asked to move, the others closed; the server hears
  // once this worker has no client left.
  void begin_drain();
  // Planned restarts: the sessions described (descriptors duplicated into `fds`; nothing
  // changes here), and adopting a handed-over session.
  void describe_sessions(std::vector<protocol::HandoverRecord::Session>& sessions,
                         std::vector<int>& fds);
  Session* adopt_session(const protocol::SessionId& id);
  // Refreshes the derived counters and publishes them; the Server reads them with counters().
  void publish();
  WorkerCounters counters();
  void shutdown();

 private:
  Session* new_session(const protocol::SessionId& id, const std::string& source_key);
  // The session made and kept here, no cap consulted (the callers took their counts).
  Session* emplace_session(const protocol::SessionId& id, const std::string& source_key, Wire wire);
  // Evicts one session (of `only_key` when given): false when there was none to evict.
  bool evict_one_session(const std::string* only_key = nullptr);
  void remove_session(const protocol::SessionId& id, const char* why);
  void report_session(Session& s, bool up);
  void bury_dead_links(bool all);
  void release_link(ClientLink& link);
  void check_drained();
  void start_timer(runtime::UvHandle<uv_timer_t>& timer, uint64_t every_ms, uv_timer_cb fn);
  void receive_fresh_link(FreshLink&& fresh);
  // The gauge of another protocol's client connections.
  uint64_t& clients_of(Wire wire);
  void drop_oldest_pending();

  Server& server_;
  size_t index_;
  std::unique_ptr<runtime::EventLoop> own_loop_;  // workers 1..N-1
  runtime::EventLoop& loop_;
  bool thread_started_ = false;
  runtime::Logger log_;
  TargetPolicy policy_;
  udpserver_stats stats_{};
  runtime::Histogram sojourn_ = runtime::FlowScheduler::new_sojourn_histogram();  // sessions'
  protocol::socks5::ReassemblyCounters egress_reassembly_;
  runtime::LogThrottle throttle_;

  runtime::UvHandle<uv_check_t> burial_;
  runtime::UvHandle<uv_prepare_t> turn_counter_;
  runtime::UvHandle<uv_check_t> resume_yielded_;
  runtime::UvHandle<uv_timer_t> sweep_timer_;    // workers 1..N-1 (worker 0: the Server's)
  runtime::UvHandle<uv_timer_t> publish_timer_;  // the same
  std::vector<ClientLink*> yielded_;
  uint64_t turn_ = 0;
  std::list<std::unique_ptr<ClientLink>> links_;
  struct DeadLink {
    std::unique_ptr<ClientLink> link;
    uint64_t since_ms;
  };
  std::list<DeadLink> dead_links_;  // closing; freed once their last bytes are out
  std::map<protocol::SessionId, std::unique_ptr<Session>> sessions_;
  // Links between accept and their hello here (or on their way here): a relaxed count, read
  // by the accepting thread to choose the least busy worker.
  std::atomic<size_t> handshakes_under_way_{0};
  uint64_t handshakes_ = 0;
  struct HandshakeRate {
    runtime::TokenBucket tokens;
    uint64_t used_ms;
  };
  std::map<std::string, HandshakeRate> handshakes_by_source_;  // swept when idle
  uint64_t own_addresses_at_ms_ = 0;
  bool draining_ = false;
  bool drained_reported_ = false;

  std::mutex published_mutex_;
  WorkerCounters published_;
};

}  // namespace udptun::udpserver
