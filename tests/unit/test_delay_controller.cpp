// The carrier's delay control alone, on a simulated path: a bottleneck of a given rate with a
// queue in front, our sender offering more than it carries, round trips measured as the
// queue's delay plus the path's base. Uncapped, the queue grows without end (what TCP does to
// a router's buffer); with the controller it stays near the target while the rate stays near
// the bottleneck's. It never spirals down when round trips stop coming, and lets go of the
// cap once nothing waits.
#include <algorithm>
#include <cstdio>

#include "cmocka_support.hpp"
#include "udptun/runtime/delay_controller.hpp"

using udptun::runtime::DelayController;

namespace {

struct Path {
  double rate_Bps = 2.5e6;  // 20 Mbit/s
  double queue_bytes = 0;
  uint64_t base_us = 1'000;
  uint64_t rtt_now() const { return base_us + static_cast<uint64_t>(queue_bytes / rate_Bps * 1e6); }
};

struct Run {
  double mean_rate_Bps = 0;
  uint64_t worst_queue_us = 0;  // after the first second
  double mean_queue_us = 0;
};

// 10 s in 1 ms steps; the sender offers `offered_Bps` whenever the cap allows.
Run simulate(DelayController& c, Path& p, double offered_Bps, bool probes_answered = true) {
  Run r;
  double sent_total = 0, queue_sum = 0;
  uint64_t pacing = 0;
  int steps = 0;
  for (uint64_t ms = 1; ms <= 10'000; ++ms) {
    uint64_t now = ms * 1000;
    double allowed = pacing ? std::min(offered_Bps, static_cast<double>(pacing)) : offered_Bps;
    double sent = allowed / 1000;
    p.queue_bytes += sent;
    p.queue_bytes = std::max(0.0, p.queue_bytes - p.rate_Bps / 1000);
    if (ms > 1'000) {
      sent_total += sent;
      queue_sum += static_cast<double>(p.rtt_now() - p.base_us);
      r.worst_queue_us = std::max(r.worst_queue_us, p.rtt_now() - p.base_us);
      steps++;
    }
    if (probes_answered && ms % 10 == 0) c.on_rtt(now, p.rtt_now());
    if (ms % 10 == 0) {
      // What the path delivered over the step: the bottleneck's rate while it is busy.
      double delivered = p.queue_bytes > 0 ? p.rate_Bps : allowed;
      pacing = c.update(now, static_cast<uint64_t>(delivered), true).pacing_Bps;
    }
  }
  r.mean_rate_Bps = sent_total / (steps / 1000.0);
  r.mean_queue_us = queue_sum / steps;
  return r;
}

}  // namespace

static void test_queue_stays_near_the_target(void**) {
  DelayController c({});
  Path p;
  c.on_rtt(0, p.base_us);          // the path's base, seen before the load
  Run r = simulate(c, p, 3.75e6);  // 30 Mbit/s offered into 20
  print_message("    rate %.2f MB/s (path 2.5), queue mean %.1f ms, worst %.1f ms\n",
                r.mean_rate_Bps / 1e6, r.mean_queue_us / 1000, r.worst_queue_us / 1000.0);
  assert_true(r.mean_rate_Bps > 0.85 * p.rate_Bps);
  assert_true(r.worst_queue_us < 15'000);
  assert_true(r.mean_queue_us < 8'000);
}

static void test_no_spiral_without_answers(void**) {
  DelayController c({});
  Path p;
  c.on_rtt(0, p.base_us);
  c.on_rtt(5'000, p.base_us + 30'000);  // one answer shows a queue, then nothing comes back
  uint64_t first = c.update(10'000, 2'500'000, true).pacing_Bps;
  assert_true(first > 0);
  uint64_t later = first;
  for (uint64_t ms = 20; ms < 2'000; ms += 10)
    later = c.update(ms * 1000, 2'500'000, true).pacing_Bps;
  assert_true(later >= first);  // it may grow back, never keep falling on an old answer
}

static void test_cap_released_when_idle_and_chunk_follows_the_rate(void**) {
  DelayController c({});
  c.on_rtt(0, 1'000);
  c.on_rtt(10'000, 40'000);
  auto d = c.update(10'000, 2'500'000, true);
  assert_true(d.pacing_Bps > 0);
  assert_int_equal(d.chunk, 4'096);  // 1 ms of 2.5 MB/s is 2.5 KB: the floor
  d = c.update(20'000, 0, false);
  assert_true(d.pacing_Bps > 0);  // nothing waits, but not for long enough yet
  d = c.update(600'000, 0, false);
  assert_int_equal(d.pacing_Bps, 0);
  assert_false(c.capped());
  d = c.update(610'000, 100'000'000, true);  // 100 MB/s: 1 ms is 100 KB
  assert_int_equal(d.chunk, 100'000);
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_stays_near_the_target),
      cmocka_unit_test(test_no_spiral_without_answers),
      cmocka_unit_test(test_cap_released_when_idle_and_chunk_follows_the_rate),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
