// udp-local's flows: (origin, local source, mapping class) ⇄ flow id. An origin is whatever
// received the datagram and will take the replies (a forward socket, a SOCKS5 association).
//
// A flow is one NAT mapping at the server (RFC 4787 endpoint-independent mapping): every IP
// target an app source talks to shares it, so STUN, ICE and game clients see one external
// address and port. The mapping class is therefore the target's address family, not the
// target itself; a domain target is its own class (the server resolves a flow's name once,
// and IPv4 and IPv6 need separate sockets anyway).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/bytes.hpp"

namespace udptun::udplocal {

struct LocalFlow;

class FlowOrigin {
 public:
  virtual ~FlowOrigin() = default;
  // A reply for one of this origin's flows, from `source` (the target or another address).
  virtual void deliver(LocalFlow& flow, protocol::ByteView payload,
                       const protocol::Address& source) = 0;
  // A name that means the same origin in the next process (a forward's listen address), so
  // its flows can be recorded and restored after a restart; empty when it does not outlive
  // us (a SOCKS5 association).
  virtual std::string persistent_name() const { return {}; }
};

struct LocalFlow {
  uint32_t id = 0;
  FlowOrigin* origin = nullptr;
  protocol::Address source;  // the local client
  protocol::Address target;  // the first target: OPEN_FLOW names it, DATA to it has no address
  uint64_t last_active_ms = 0;
  bool dns_only = true;           // every datagram so far went to port 53: the short idle timeout
  uint64_t refused_until_ms = 0;  // the server refused it: drop until then
  std::string key;
};

class FlowTable {
 public:
  explicit FlowTable(size_t capacity) : capacity_(capacity) {}

  LocalFlow* find(FlowOrigin* origin, const protocol::Address& source,
                  const protocol::Address& target);
  // nullptr when the table is full.
  LocalFlow* create(FlowOrigin* origin, const protocol::Address& source,
                    const protocol::Address& target, uint64_t now_ms);
  // A flow recorded by an earlier process, under its old id. nullptr when full or taken.
  LocalFlow* restore(FlowOrigin* origin, uint32_t id, const protocol::Address& source,
                     const protocol::Address& target, uint64_t now_ms);
  uint32_t next_id() const { return next_id_; }
  void set_next_id(uint32_t id) { next_id_ = id; }
  LocalFlow* by_id(uint32_t id);
  void remove(uint32_t id);
  size_t size() const { return by_id_.size(); }
  bool full() const { return by_id_.size() >= capacity_; }

  std::vector<uint32_t> idle(uint64_t now_ms, uint64_t timeout_ms, uint64_t dns_timeout_ms) const;
  std::vector<uint32_t> of_origin(const FlowOrigin* origin) const;
  uint32_t least_recent() const;  // 0 when empty
  template <class F>
  void for_each(F&& f) {
    for (auto& [id, flow] : by_id_) f(*flow);
  }

 private:
  const std::string& make_key(FlowOrigin* origin, const protocol::Address& source,
                              const protocol::Address& target);
  uint32_t next_free_id();

  size_t capacity_;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, std::unique_ptr<LocalFlow>> by_id_;
  std::unordered_map<std::string, LocalFlow*> by_key_;
  std::string scratch_;  // reused for lookups: no allocation per datagram
};

}  // namespace udptun::udplocal
