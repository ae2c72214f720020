// A session: one udp-local instance's identity at this server and the flows it owns. It
// outlives its TCP connection: while detached, its flows and their sockets wait (for the
// grace period) for the client to resume on a new connection.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "server_flow.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/server_handover.hpp"
#include "udptun/runtime/carrier_queue.hpp"
#include "udptun/runtime/token_bucket.hpp"

namespace udptun::udpserver {

class Worker;
class ClientLink;

// The rate limits every session from one client address shares. With several workers, an
// address's sessions may live on several threads: then each check takes a short lock (only
// when per-address limits are configured).
struct ClientRate {
  explicit ClientRate(bool shared_between_workers) : shared(shared_between_workers) {}
  bool admit(runtime::RateLimit& limit, size_t bytes, uint64_t now_ms) {
    if (!shared) return limit.admit(bytes, now_ms);
    std::lock_guard<std::mutex> lock(mutex);
    return limit.admit(bytes, now_ms);
  }
  runtime::RateLimit up, down;
  const bool shared;
  std::mutex mutex;
};

class Session {
 public:
  Session(Worker& worker, const protocol::SessionId& id);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Worker& worker() { return worker_; }
  const protocol::SessionId& id() const { return id_; }
  const char* tag() const { return tag_; }  // "s=1a2b3c4d" for log lines

  ClientLink* link() const { return link_; }
  void attach(ClientLink* link);
  void detach();
  uint64_t detached_since_ms() const { return detached_since_ms_; }
  uint64_t last_active_ms() const { return last_active_ms_; }

  // Frames from the client (after the handshake).
  void on_frame(const protocol::Frame& frame);
  // The answer to one of our PINGs (its value: when we sent it).
  void on_pong(uint64_t value);
  // From flows.
  void deliver(ServerFlow& flow, protocol::ByteView payload, const protocol::Address* source);
  void flow_ready(ServerFlow& flow);
  void flow_failed(ServerFlow& flow, protocol::FlowState state, const char* why);
  // An open flow's egress ended under it: closed, and the client told (CLOSE_FLOW error).
  void flow_lost(ServerFlow& flow, const char* why);

  // Closes flows idle past their timeout, and gives up flows not ready in time.
  void sweep(uint64_t now_ms);
  // The session's budget for datagrams held while flows are set up: false (and counted) when
  // `bytes` more would exceed it.
  bool hold(size_t bytes);
  void release_held(size_t bytes);
  size_t flow_count() const { return flows_.size(); }
  // Planned restarts: what this session hands over (descriptors duplicated into `fds`), and
  // taking a handed-over flow.
  void describe(protocol::HandoverRecord::Session& out, std::vector<int>& fds) const;
  bool adopt_flow(const protocol::HandoverRecord::Flow& flow, int fd);

 private:
  void open_flow(const protocol::OpenFlow& open);
  void close_flow(uint32_t id, protocol::CloseReason reason, bool tell_client);
  void evict_least_recent_flow();
  bool take_open_token();
  void send_status(uint32_t id, protocol::FlowState state, const protocol::Address* bound);

  Worker& worker_;
  protocol::SessionId id_;
  char tag_[16];
  ClientLink* link_ = nullptr;
  runtime::CarrierQueue carrier_;  // replies on their way into link_'s stream, by flow
  static constexpr unsigned kSweepsPerPing = 4;  // sweeps are 250 ms apart
  unsigned sweeps_ = 0;
  uint64_t detached_since_ms_ = 0;
  uint64_t last_active_ms_ = 0;
  double open_tokens_ = 0;  // flow-open rate limit (token bucket)
  uint64_t tokens_at_ms_ = 0;
  std::unordered_map<uint32_t, std::unique_ptr<ServerFlow>> flows_;
  size_t held_bytes_ = 0;
  runtime::RateLimit up_, down_;        // this session's, each direction
  std::shared_ptr<ClientRate> client_;  // its address's (nullptr: no client limits)
};

}  // namespace udptun::udpserver
