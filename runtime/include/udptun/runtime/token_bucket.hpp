// Rate limits: a token bucket (rate per second, a burst of one second's worth) and a pair of
// them for packets and bytes. Pure: the caller passes its clock in.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace udptun::runtime {

class TokenBucket {
 public:
  TokenBucket() = default;  // unlimited
  // The burst is one second's worth, or `min_burst` if larger.
  explicit TokenBucket(uint64_t rate_per_second, uint64_t min_burst = 0)
      : rate_(static_cast<double>(rate_per_second)),
        burst_(std::max(rate_, static_cast<double>(rate_per_second ? min_burst : 0))),
        tokens_(burst_) {}
  bool unlimited() const { return rate_ <= 0; }
  bool has(double n, uint64_t now_ms) {
    if (unlimited()) return true;
    refill(now_ms);
    return tokens_ >= n;
  }
  void take(double n) {
    if (!unlimited()) tokens_ -= n;
  }

 private:
  void refill(uint64_t now_ms) {
    if (now_ms > at_ms_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - at_ms_) / 1000.0);
      at_ms_ = now_ms;
    }
  }
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  uint64_t at_ms_ = 0;
};

// Packets and bytes per second (0: that one is unlimited). A datagram passes only when both
// have room; a dropped one costs nothing.
class RateLimit {
 public:
  // Any datagram must fit a full bytes bucket, however low the rate.
  static constexpr uint64_t kLargestDatagram = 65'535;
  RateLimit() = default;
  RateLimit(uint64_t packets_per_second, uint64_t bytes_per_second)
      : packets_(packets_per_second), bytes_(bytes_per_second, kLargestDatagram) {}
  bool unlimited() const { return packets_.unlimited() && bytes_.unlimited(); }
  bool admit(size_t bytes, uint64_t now_ms) {
    if (!packets_.has(1, now_ms) || !bytes_.has(static_cast<double>(bytes), now_ms)) return false;
    packets_.take(1);
    bytes_.take(static_cast<double>(bytes));
    return true;
  }

 private:
  TokenBucket packets_, bytes_;
};

}  // namespace udptun::runtime
