// Data frames on their way into the carrier (a TcpStream): straight in while the stream has
// less than one chunk waiting (the link keeps up: no copy, no scheduling), otherwise into a
// FlowScheduler, from which the stream pulls a chunk each time the kernel has taken the last
// one. With TCP_NOTSENT_LOWAT that keeps what waits in strict FIFO order (this stream's
// chunk, the kernel's unsent bytes) to about a millisecond of sending, and everything else in
// per-flow queues: fair, and dropped oldest-first by flow. While frames wait, a
// DelayController watches the path's round trip and caps the carrier's pacing rate so the
// path's own queue (a router's) stays short too.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "udptun/runtime/delay_controller.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/flow_scheduler.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

class CarrierQueue : public TcpStream::Source {
 public:
  struct Config {
    FlowScheduler::Config scheduler;
    size_t chunk = 65'536;  // the first chunk; adapted to the path's rate when `adapt_chunk`
    bool adapt_chunk = false;
    bool pacing = false;  // cap the pacing rate to keep the path's queue short
    DelayController::Config delay;
  };
  // Drops are added to the owner's counters: `aged` (CoDel, or waited a whole interval) and
  // `full` (over the byte budget, or refused by the stream).
  CarrierQueue(EventLoop& loop, const Config& config, uint64_t& drops_aged, uint64_t& drops_full);
  ~CarrierQueue() override;
  CarrierQueue(const CarrierQueue&) = delete;
  CarrierQueue& operator=(const CarrierQueue&) = delete;

  // The stream frames go to from now on (nullptr: none; what waits is dropped, uncounted:
  // the link is gone and the owner counts that).
  void attach(TcpStream* stream);
  // One data frame of `flow`: sent, queued, or dropped and counted.
  void send(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload);
  void forget(uint32_t flow) { scheduler_.forget(flow); }
  // While frames wait, `probe` is called every tick to send a round-trip probe (a PING
  // with the time); its answer comes back through on_round_trip.
  void set_prober(std::function<void()> probe) { probe_ = std::move(probe); }
  void on_round_trip(uint64_t rtt_us);

  const FlowScheduler& scheduler() const { return scheduler_; }
  uint64_t pacing_Bps() const { return pacing_Bps_; }
  // TcpStream::Source
  bool pending() const override { return !scheduler_.empty(); }
  void pull(std::vector<uint8_t>& out, size_t budget) override;

 private:
  void count_drops();
  void watch_path();  // the controller's timer runs while frames wait or a cap is set
  void on_tick();
  // Measures the rate, asks the controller, applies what it says.
  void observe(uint64_t now_us);
  void apply(const DelayController::Decision& d);
  void resume_after(uint64_t us);  // wakes the stream when the pacing bucket allows a chunk

  EventLoop& loop_;
  Config config_;
  FlowScheduler scheduler_;
  DelayController controller_;
  UvHandle<uv_timer_t> timer_;
  UvHandle<uv_timer_t> resume_timer_;
  double tokens_ = 0;  // bytes the pacing cap allows now
  uint64_t tokens_at_us_ = 0;
  size_t chunk_;
  uint64_t pacing_Bps_ = 0;
  uint64_t sent_bytes_ = 0;  // handed to the stream, ever
  uint64_t delivered_at_last_tick_ = 0;
  uint64_t last_tick_us_ = 0;
  double send_rate_Bps_ = 0;  // what the path delivers: smoothed, measured while frames wait
  TcpStream* stream_ = nullptr;
  std::function<void()> probe_;
  uint64_t& drops_aged_;
  uint64_t& drops_full_;
  FlowScheduler::Counters seen_;
};

}  // namespace udptun::runtime
