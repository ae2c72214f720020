#include "udptun/runtime/delay_controller.hpp"

#include <algorithm>

namespace udptun::runtime {

namespace {
// How the cap moves: down to at most this fraction of the rate it was sending at when the
// queue stands (so the queue drains; deeper the more it stands), once per round trip at most (the
// effect of a decrease shows one round trip later); up by this fraction per millisecond while it
// does not (2% per 10 ms: above the path's rate again within about 50 ms once the queue is gone).
constexpr double kDrainFactor = 0.9;
constexpr double kDeepestCut = 0.5;
constexpr double kGrowthPerMs = 0.002;
// Uncapped again after this long without frames waiting, or once the cap is this far above
// the rate bytes leave at (it no longer limits anything).
constexpr uint64_t kIdleReleaseUs = 500'000;
constexpr double kReleaseAbove = 2.0;
constexpr uint64_t kBaseWindowUs = 10'000'000;
}  // namespace

void DelayController::on_rtt(uint64_t now_us, uint64_t rtt_us, bool behind_ours) {
  if (window_start_us_ == 0 || now_us - window_start_us_ >= kBaseWindowUs) {
    previous_min_us_ = window_min_us_;
    window_min_us_ = 0;
    window_start_us_ = now_us;
  }
  if (window_min_us_ == 0 || rtt_us < window_min_us_) window_min_us_ = rtt_us;
  base_us_ = previous_min_us_ ? std::min(previous_min_us_, window_min_us_) : window_min_us_;
  if (!behind_ours) {
    clean_[clean_count_++ % 16] = rtt_us;
  }
  if (clean_count_ >= 4) {
    size_t n = std::min<size_t>(clean_count_, 16);
    uint64_t sorted[16];
    std::copy(clean_, clean_ + n, sorted);
    std::nth_element(sorted, sorted + n / 2, sorted + n);
    base_us_ = std::max(base_us_, sorted[n / 2]);
  }
  if (!behind_ours) return;
  latest_rtt_us_ = rtt_us;
  fresh_ = true;
}

void DelayController::on_transport_rtt(uint32_t srtt_us, uint32_t min_rtt_us, bool behind_ours) {
  if (srtt_us == 0 || min_rtt_us == 0) return;
  if (!behind_ours) {
    transport_queuing_us_ = 0;
    return;
  }
  if (srtt_us != transport_srtt_us_) fresh_ = true;
  transport_srtt_us_ = srtt_us;
  transport_queuing_us_ = srtt_us > min_rtt_us ? srtt_us - min_rtt_us : 0;
}

DelayController::Decision DelayController::update(uint64_t now_us, uint64_t send_Bps,
                                                  bool backlogged) {
  Decision d;
  uint64_t elapsed = last_update_us_ ? now_us - std::min(now_us, last_update_us_) : 0;
  last_update_us_ = now_us;
  if (send_Bps > 0) {
    double chunk = static_cast<double>(send_Bps) * static_cast<double>(config_.fifo_us) / 1e6;
    d.chunk = std::clamp(static_cast<size_t>(chunk), config_.min_chunk, config_.max_chunk);
  }
  if (!backlogged) {
    if (idle_since_us_ == 0) idle_since_us_ = now_us;
    if (now_us - idle_since_us_ >= kIdleReleaseUs) cap_Bps_ = 0;
    d.pacing_Bps = cap_Bps_;
    return d;
  }
  idle_since_us_ = 0;
  bool fresh = fresh_;
  fresh_ = false;
  if (send_Bps == 0 || (base_us_ == 0 && transport_srtt_us_ == 0)) {
    d.pacing_Bps = cap_Bps_;
    return d;
  }
  uint64_t queuing = latest_rtt_us_ > base_us_ ? latest_rtt_us_ - base_us_ : 0;
  queuing = std::max(queuing, transport_queuing_us_);
  uint64_t round_trip = std::max<uint64_t>(latest_rtt_us_, transport_srtt_us_);
  if (queuing > config_.target_us) {
    // Only on a fresh measurement: an old one (its PONG still on the way) says nothing of
    // what the last decrease did, and acting on it again would spiral down.
    if (fresh && (last_decrease_us_ == 0 || now_us - last_decrease_us_ >= round_trip)) {
      // The further above the target, the deeper the cut (a slow start that filled a
      // router's buffer is drained in a few round trips, not seconds).
      double factor = 1.0 - 0.5 * static_cast<double>(queuing - config_.target_us) /
                                static_cast<double>(queuing);
      factor = std::clamp(factor, kDeepestCut, kDrainFactor);
      uint64_t drain = static_cast<uint64_t>(static_cast<double>(send_Bps) * factor);
      cap_Bps_ = std::max(cap_Bps_ ? std::min(cap_Bps_, drain) : drain, config_.min_rate_Bps);
      last_decrease_us_ = now_us;
    }
  } else if (cap_Bps_ > 0) {
    double growth = 1.0 + kGrowthPerMs * static_cast<double>(elapsed) / 1000.0;
    cap_Bps_ = static_cast<uint64_t>(static_cast<double>(cap_Bps_) * growth) + 1;
    if (static_cast<double>(cap_Bps_) > kReleaseAbove * static_cast<double>(send_Bps)) cap_Bps_ = 0;
  }
  d.pacing_Bps = cap_Bps_;
  return d;
}

}  // namespace udptun::runtime
