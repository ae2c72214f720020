#include "replay_guard.hpp"

namespace udptun::server {

void ReplayGuard::expire(uint64_t now_ms) {
  // Twice the window: a hello is acceptable while its timestamp is within ±window of now.
  while (!order_.empty() &&
         (order_.front().at + 2 * window_ms_ < now_ms || order_.size() > capacity_)) {
    seen_.erase(order_.front().mac);
    order_.pop_front();
  }
}

bool ReplayGuard::admit(const protocol::Mac& mac, uint64_t now_ms) {
  expire(now_ms);
  if (!seen_.insert(mac).second) return false;
  order_.push_back({now_ms, mac});
  expire(now_ms);
  return true;
}

}  // namespace udptun::server
