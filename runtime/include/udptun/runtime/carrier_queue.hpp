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
#include <deque>
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
  // the link is gone and the owner counts that). `control_delay`: pace it and bound what is
  // in flight (when the config allows); see CarrierConfig for when.
  void attach(TcpStream* stream, bool control_delay = true);
  // One data frame of `flow`: sent, queued, or dropped and counted.
  void send(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload);
  void forget(uint32_t flow) { scheduler_.forget(flow); }
  // How a round-trip probe is sent: a PING carrying `value` (the time), written to the
  // stream at once. probe() sends one (the owner's heartbeats too, so every answer counts);
  // while frames wait, one goes every tick. The answer (a PONG with the same value) comes
  // back through on_pong: the round trip, and, the stream being in order, that everything
  // sent before the probe has arrived: what is in flight end to end, through carriers we
  // do not own (ss-tunnel, obfs) as through our own socket.
  void set_prober(std::function<void(uint64_t value)> send) { send_probe_ = std::move(send); }
  void probe();
  void on_pong(uint64_t value);
  uint64_t in_flight() const { return sent_bytes_ - acked_bytes_; }

  const FlowScheduler& scheduler() const { return scheduler_; }
  // Sojourn times go into `shared` (the owner's, outliving this queue).
  void share_sojourn(Histogram* shared) { scheduler_.share_sojourn(shared); }
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
  void resume_after(uint64_t us);
  bool is_our_queue(uint64_t bytes_ahead, double rate_Bps)
      const;  // wakes the stream when the pacing bucket allows a chunk

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
  bool control_delay_ = false;
  std::function<void(uint64_t)> send_probe_;
  struct Probe {
    uint64_t value, sent_bytes, acked_bytes;  // at the time it was sent
  };
  std::deque<Probe> probes_;  // sent, not answered yet (oldest first)
  uint64_t acked_bytes_ = 0;  // sent before the last answered probe: arrived
  // Bytes allowed in flight end to end (0: no bound yet): about twice what the path
  // delivers in a base round trip plus a tick, so a carrier with buffers of its own
  // (ss-tunnel's sockets) cannot hide a queue of seconds from us.
  uint64_t window_ = 0;
  uint64_t acked_at_us_ = 0, acked_at_rate_ = 0;
  double e2e_rate_Bps_ = 0;
  uint32_t retrans_seen_ = 0;
  uint64_t stalled_until_us_ = 0;  // delays until then come from a retransmission
  uint64_t& drops_aged_;
  uint64_t& drops_full_;
  FlowScheduler::Counters seen_;
};

}  // namespace udptun::runtime
