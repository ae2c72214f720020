// Exponential backoff with jitter for reconnects: many clients losing the same server must
// not come back in lockstep.
#pragma once

#include <cstdint>
#include <random>

namespace udptun::runtime {

class ExponentialBackoff {
 public:
  ExponentialBackoff(uint64_t min_ms, uint64_t max_ms)
      : min_(min_ms), max_(max_ms), next_(min_ms) {}

  // The delay before the next attempt: the current step ±25%, then the step doubles.
  uint64_t next_delay_ms() {
    uint64_t base = next_;
    next_ = next_ * 2 > max_ ? max_ : next_ * 2;
    std::uniform_int_distribution<uint64_t> jitter(base * 3 / 4, base * 5 / 4);
    return jitter(rng_);
  }
  void reset() { next_ = min_; }

 private:
  uint64_t min_, max_, next_;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace udptun::runtime
