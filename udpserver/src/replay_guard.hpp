// Remembers the MACs of accepted client hellos for as long as their timestamps stay
// acceptable, so a recorded hello cannot be played again to take over a session. Bounded:
// when full, the oldest entries go first (an attacker flooding it would still need the key).
#pragma once

#include <cstdint>
#include <deque>
#include <set>

#include "udptun/protocol/handshake.hpp"

namespace udptun::server {

class ReplayGuard {
 public:
  ReplayGuard(uint64_t window_ms, size_t capacity) : window_ms_(window_ms), capacity_(capacity) {}
  // True when the MAC is new (and now remembered); false for a replay.
  bool admit(const protocol::Mac& mac, uint64_t now_ms);
  size_t size() const { return seen_.size(); }

 private:
  void expire(uint64_t now_ms);
  struct Entry {
    uint64_t at;
    protocol::Mac mac;
  };
  uint64_t window_ms_;
  size_t capacity_;
  std::deque<Entry> order_;
  std::set<protocol::Mac> seen_;
};

}  // namespace udptun::server
