#include "udptun/runtime/lane_chooser.hpp"

namespace udptun::runtime {

void LaneChooser::set_lanes(unsigned count, bool sequenced) {
  lanes_ = count == 0 ? 1 : count;
  sequenced_ = sequenced;
  if (lanes_ == 1) flows_.clear();
}

int LaneChooser::home_lane(uint32_t flow, uint32_t up) const {
  int home = static_cast<int>(flow % lanes_);
  if (up & (1u << home)) return home;
  for (unsigned i = 0; i < lanes_; ++i)
    if (up & (1u << i)) return static_cast<int>(i);
  return 0;
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
  // Copied once the flow has shown it is small, and only when a second lane is up. Only
  // copies carry a sequence number: the numbers of a flow rise whenever it has them, which
  // is all the receiver's window needs.
  if (payload > config_.duplicate_max_payload || now_ms - f.first_ms < config_.settle_ms ||
      !is_small(f))
    return c;
  for (unsigned step = 1; step < lanes_; ++step) {
    int other = static_cast<int>((static_cast<unsigned>(c.lane) + step) % lanes_);
    if (up & (1u << other)) {
      c.copy_lane = other;
      c.sequenced = true;
      c.seq = f.next_seq++;
      break;
    }
  }
  return c;
}

}  // namespace udptun::runtime
