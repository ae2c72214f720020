#include "udptun/runtime/lane_chooser.hpp"

#include <algorithm>

namespace udptun::runtime {

void LaneChooser::set_lanes(unsigned count, bool sequenced) {
  lanes_ = std::clamp(count, 1u, kMaxLanes);
  sequenced_ = sequenced;
}

int LaneChooser::first_up(uint32_t up) const {
  for (unsigned i = 0; i < lanes_; ++i)
    if (up & (1u << i)) return static_cast<int>(i);
  return 0;
}

void LaneChooser::quietest_pair(uint32_t up, int& first, int& second) const {
  first = second = -1;
  for (unsigned i = 1; i < lanes_; ++i) {
    if (!(up & (1u << i))) continue;
    int lane = static_cast<int>(i);
    if (first < 0 || lane_bytes_[i] < lane_bytes_[first]) {
      second = first;
      first = lane;
    } else if (second < 0 || lane_bytes_[i] < lane_bytes_[second]) {
      second = lane;
    }
  }
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
  uint64_t limit = config_.small_below_bps * kWindowMs / 8'000;
  return f.bytes_now <= limit && f.bytes_before <= limit;
}

LaneChooser::Choice LaneChooser::choose(uint32_t flow, size_t payload, uint64_t now_ms,
                                        uint32_t up) {
  Choice c;
  c.lane = first_up(up);
  if (lanes_ < 2) return c;
  auto [it, fresh] = flows_.try_emplace(flow);
  FlowRate& f = it->second;
  if (fresh) f.window_start_ms = now_ms;
  if (now_ms - f.window_start_ms >= kWindowMs) {
    // A whole window without a datagram counts as an empty one.
    f.bytes_before = now_ms - f.window_start_ms >= 2 * kWindowMs ? 0 : f.bytes_now;
    f.bytes_now = 0;
    f.window_start_ms = now_ms;
  }
  f.bytes_now += payload;
  if (!is_small(f)) {  // bulk: the first lane
    count_lane(c.lane, payload, now_ms);
    return c;
  }
  int quiet, quieter_second;
  quietest_pair(up, quiet, quieter_second);
  bool copy = config_.copy_small && sequenced_ && payload <= config_.duplicate_max_payload;
  if (!copy) {
    // One lane of its own among the others.
    if (quiet >= 0) {
      int own = static_cast<int>(1 + flow % (lanes_ - 1));
      c.lane = (up & (1u << own)) ? own : quiet;
    }
    count_lane(c.lane, payload, now_ms);
    return c;
  }
  // Two copies: the flow's pair while both are up and it is not older than a window; else
  // the two quietest lanes after the first (the first lane only when there is no second).
  bool pair_up =
      f.pair[0] >= 0 && f.pair[1] >= 0 && (up & (1u << f.pair[0])) && (up & (1u << f.pair[1]));
  if (!pair_up || now_ms - f.pair_ms >= kWindowMs) {
    f.pair[0] = c.lane;
    f.pair[1] = -1;
    if (quiet >= 0) {
      f.pair[0] = quiet;
      f.pair[1] = quieter_second >= 0 ? quieter_second : c.lane;
    }
    f.pair_ms = now_ms;
  }
  int a = f.pair[0], b = f.pair[1];
  if (b < 0 || b == a) {
    count_lane(a, payload, now_ms);
    c.lane = a;
    return c;
  }
  count_lane(a, payload, now_ms);
  count_lane(b, payload, now_ms);
  c.lane = a;
  c.copy_lane = b;
  c.sequenced = true;
  c.seq = f.next_seq++;
  return c;
}

}  // namespace udptun::runtime
