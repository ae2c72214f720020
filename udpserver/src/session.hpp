// A session: one udp-local instance's identity at this server and the flows it owns. It
// outlives its TCP connections: while detached, its flows and their sockets wait (for the
// grace period) for the client to resume on a new connection. A client may spread the
// session over several connections ("lanes", agreed with a LANES frame on the first): each
// has its own per-flow queues, a flow's replies take the lane of its id (or the first one
// up), and small flows' replies take two.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "client_link.hpp"
#include "server_flow.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/server_handover.hpp"
#include "udptun/runtime/carrier_queue.hpp"
#include "udptun/runtime/lane_chooser.hpp"
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

  // A connection of the session (nullptr: detached), and the one on `lane`.
  ClientLink* link() const;
  ClientLink* link_at(unsigned lane) const { return lanes_[lane].link; }
  unsigned lanes_agreed() const { return lanes_agreed_; }
  void attach(ClientLink* link, unsigned lane);
  void detach(ClientLink* link);
  // Every connection, detached (the session's lanes resume together): the caller ends them.
  std::vector<ClientLink*> take_links();
  uint64_t detached_since_ms() const { return detached_since_ms_; }
  uint64_t last_active_ms() const { return last_active_ms_; }
  // The client address it counts against (--max-sessions-per-client; "" for none).
  const std::string& client_key() const { return client_key_; }
  // Another protocol's session (udpgw, SOCKS5): it ends with its connection, and is not
  // handed over.
  Wire wire() const { return wire_; }
  void set_wire(Wire w) { wire_ = w; }
  bool resumable() const { return wire_ == Wire::udptun; }
  void set_client_key(std::string key) { client_key_ = std::move(key); }

  // Frames from the client (after the handshake), on the connection of `lane`.
  void on_frame(const protocol::Frame& frame, unsigned lane);
  // The answer to one of our PINGs (its value: when we sent it).
  void on_pong(uint64_t value, unsigned lane);
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
  // Takes `fd` whatever happens; a failure says why the flow is not kept.
  Status adopt_flow(const protocol::HandoverRecord::Flow& flow, int fd);

 private:
  void open_flow(const protocol::OpenFlow& open);
  void close_flow(uint32_t id, protocol::CloseReason reason, bool tell_client);
  void evict_least_recent_flow();
  bool take_open_token();
  void send_status(uint32_t id, protocol::FlowState state, const protocol::Address* bound);
  void on_data(uint32_t flow_id, const protocol::Address* to, protocol::ByteView payload);
  void remember_refusal(uint32_t id, const protocol::Address& target);
  void agree_lanes(const protocol::Lanes& asked);
  uint32_t lanes_up() const;
  // A control frame, on the first lane up (as the client sends its own).
  void write_control(const protocol::Frame& frame);

  Worker& worker_;
  protocol::SessionId id_;
  char tag_[16];
  struct Lane {
    ClientLink* link = nullptr;
    std::unique_ptr<runtime::CarrierQueue> carrier;  // replies on their way into link
  };
  std::array<Lane, protocol::kMaxLanes> lanes_;
  unsigned lanes_agreed_ = 1;
  // With lanes, an OPEN_FLOW comes once per connection: the copies of one just decided pass.
  static constexpr uint64_t kOpenCopyMs = 1'000;
  struct RecentRefusal {
    uint32_t flow_id = 0;
    protocol::Address target;
    uint64_t at_ms = 0;
  };
  std::array<RecentRefusal, 8> recent_refusals_{};
  size_t next_refusal_ = 0;
  runtime::LaneChooser chooser_;
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
  std::string client_key_;
  Wire wire_ = Wire::udptun;
};

}  // namespace udptun::udpserver
