// Keeps the queue on the path short while the carrier is busy. A TCP connection that has
// more to send than the path carries fills the path's slowest queue (a home router's, a
// shaper's) until it overflows; every datagram of every flow then waits behind it, whatever
// our own queues do. This compares the tunnel's own round trip (PING/PONG frames, which wait
// where datagrams wait: our stream, the kernel, the path, and a carrier we do not own such as
// ss-tunnel) with the least seen lately, and caps the carrier's pacing rate: below the rate
// it was sending at when the queuing delay stands above `target`, a little higher each step
// while it does not (delay-based, as LEDBAT is). Datagrams beyond the cap wait in the per-flow
// queues, where they are scheduled fairly and dropped by flow. It also sizes the FIFO part we
// own (the stream's chunk, the kernel's unsent bytes) to about `fifo_us` of sending. Pure:
// samples in, decisions out; the clock is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>

namespace udptun::runtime {

class DelayController {
 public:
  struct Config {
    uint64_t target_us = 5'000;  // queuing delay tolerated
    uint64_t fifo_us = 1'000;    // what the stream and the kernel may hold, in time
    size_t min_chunk = 4'096, max_chunk = 256 * 1024;
    uint64_t min_rate_Bps = 16'000;  // never capped below this (a floor against spirals)
  };
  struct Decision {
    uint64_t pacing_Bps = 0;  // 0: no cap
    size_t chunk = 0;         // 0: unknown yet
  };

  explicit DelayController(const Config& config) : config_(config) {}
  // A round trip measured through the tunnel. `behind_ours`: the probe waited behind enough
  // of our own bytes for a queue to be ours; when it did not, what it took above the base is
  // the carrier's own latency (a proxy's Nagle, a scheduler), which no rate cap removes: it
  // updates the base, never cuts the rate.
  void on_rtt(uint64_t now_us, uint64_t rtt_us, bool behind_ours = true);
  // What the carrier's own TCP sees (smoothed and least round trip), where the kernel says:
  // updated with every ACK, it shows a queue building a round trip before a probe that
  // waits in it does (a carrier we do not own shows only its first hop here: the probes
  // still see the rest).
  // `behind_ours` as for on_rtt: enough of our bytes unacknowledged for the round trip's
  // excess to be a queue of ours (a peer that delays its ACKs inflates it otherwise).
  void on_transport_rtt(uint32_t srtt_us, uint32_t min_rtt_us, bool behind_ours);
  // Every tick: the rate bytes left at (measured while frames waited: the carrier's rate),
  // and whether frames wait now.
  Decision update(uint64_t now_us, uint64_t send_Bps, bool backlogged);
  // Whether ticks still matter: a cap is set.
  bool capped() const { return cap_Bps_ > 0; }
  uint64_t base_rtt_us() const { return base_us_; }

 private:
  Config config_;
  uint64_t cap_Bps_ = 0;
  uint64_t last_decrease_us_ = 0;
  uint64_t last_update_us_ = 0;
  uint64_t idle_since_us_ = 0;
  // The least round trip of the current and the previous 10 s windows: the path's base,
  // forgotten when the path changes (a reconnect elsewhere) within 20 s.
  uint64_t base_us_ = 0, window_min_us_ = 0, previous_min_us_ = 0, window_start_us_ = 0;
  // Round trips of probes with none of our bytes ahead: what the carrier takes on its own.
  // A carrier with latency of its own (a proxy that holds small writes for Nagle's
  // algorithm: simple-obfs does) shows it in most of them, so the base is their median,
  // not the least of all round trips, which a lucky probe sets far below what is usual.
  uint64_t clean_[16] = {};
  size_t clean_count_ = 0;
  uint64_t latest_rtt_us_ = 0;
  uint64_t transport_queuing_us_ = 0;
  uint32_t transport_srtt_us_ = 0;
  bool fresh_ = false;  // a sample arrived since the last update
};

}  // namespace udptun::runtime
