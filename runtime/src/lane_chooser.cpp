#include "udptun/runtime/lane_chooser.hpp"

#include <algorithm>

namespace udptun::runtime {

void LaneChooser::set_lanes(unsigned count, bool sequenced) {
  lanes_ = std::clamp(count, 1u, kMaxLanes);
  sequenced_ = sequenced;
}

int LaneChooser::home_lane(uint32_t flow, uint32_t up) const {
  int home = static_cast<int>(flow % lanes_);
  if (up & (1u << home)) return home;
  for (unsigned i = 0; i < lanes_; ++i)
    if (up & (1u << i)) return static_cast<int>(i);
  return 0;
}

void LaneChooser::count_lane(int lane, size_t bytes, uint64_t now_ms) {
  if (now_ms - lanes_decayed_ms_ >= kWindowMs) {
    for (uint64_t& b : lane_bytes_) b /= 2;
    lanes_decayed_ms_ = now_ms;
  }
  lane_bytes_[lane] += bytes;
}

bool LaneChooser::is_small(const FlowRate& f) const {
  // Bytes per window → bits per second: × 8 × (1000 / kWindowMs).
  uint64_t limit = config_.duplicate_below_bps * kWindowMs / 8'000;
  return f.bytes_now <= limit && f.bytes_before <= limit;
}

LaneChooser::Choice LaneChooser::choose(uint32_t flow, size_t payload, uint64_t now_ms,
                                        uint32_t up) {
  Choice c;
  c.lane = home_lane(flow, up);
  if (lanes_ < 2 || !sequenced_ || config_.duplicate_below_bps == 0) return c;
  count_lane(c.lane, payload, now_ms);
  auto [it, fresh] = flows_.try_emplace(flow);
  FlowRate& f = it->second;
  if (fresh) f.first_ms = f.window_start_ms = now_ms;
  if (now_ms - f.window_start_ms >= kWindowMs) {
    // A whole window without a datagram counts as an empty one.
    f.bytes_before = now_ms - f.window_start_ms >= 2 * kWindowMs ? 0 : f.bytes_now;
    f.bytes_now = 0;
    f.window_start_ms = now_ms;
  }
  f.bytes_now += payload;
  // Copied while the flow stays small (from its first datagram: a bulk flow's first window
  // costs little), and only when a second lane is up. Only copies carry a sequence number:
  // the numbers of a flow rise whenever it has them, which is all the receiver's window
  // needs.
  if (payload > config_.duplicate_max_payload || !is_small(f)) return c;
  // The two quietest lanes up (ties: the flow's own first, then in order from it); while the
  // flow is new, its own lane and the quietest other.
  bool settled = now_ms - f.first_ms >= config_.settle_ms;
  int best[2] = {-1, -1};
  if (!settled) best[0] = c.lane;
  for (unsigned step = settled ? 0 : 1; step < lanes_; ++step) {
    int lane = static_cast<int>((static_cast<unsigned>(c.lane) + step) % lanes_);
    if (!(up & (1u << lane))) continue;
    if (settled && (best[0] < 0 || lane_bytes_[lane] < lane_bytes_[best[0]])) {
      best[1] = best[0];
      best[0] = lane;
    } else if (best[1] < 0 || lane_bytes_[lane] < lane_bytes_[best[1]]) {
      best[1] = lane;
    }
  }
  if (best[1] < 0) return c;
  // The copies are counted on their lanes, not on the flow's own.
  lane_bytes_[c.lane] -= std::min<uint64_t>(lane_bytes_[c.lane], payload);
  count_lane(best[0], payload, now_ms);
  count_lane(best[1], payload, now_ms);
  c.lane = best[0];
  c.copy_lane = best[1];
  c.sequenced = true;
  c.seq = f.next_seq++;
  return c;
}

}  // namespace udptun::runtime
