#include "udptun/runtime/carrier_queue.hpp"

#include <algorithm>

#include "udptun/runtime/carrier_socket.hpp"

namespace udptun::runtime {

namespace {
uint64_t now_us() {
  return uv_hrtime() / 1000;
}
// How often the path is looked at while frames wait: a few times per round trip of a
// typical path, cheap (one getsockopt).
constexpr uint64_t kTickMs = 10;
// A rate measured over less than this is mostly noise (ACKs come in bursts).
constexpr uint64_t kMinRateSampleUs = 2'000;
// The end-to-end window never closes below this (64 KiB: a few milliseconds of a fast
// path, and room for the largest datagram).
constexpr uint64_t kMinWindow = 64 * 1024;
constexpr size_t kMaxProbesOutstanding = 256;
constexpr uint64_t kOneFrame = 1500;
constexpr uint64_t kQueueRateFloor = 1'000'000;  // 8 Mbit/s
}  // namespace

CarrierQueue::CarrierQueue(EventLoop& loop, const Config& config, uint64_t& drops_aged,
                           uint64_t& drops_full)
    : loop_(loop),
      config_(config),
      scheduler_(config.scheduler),
      controller_(config.delay),
      chunk_(config.chunk),
      drops_aged_(drops_aged),
      drops_full_(drops_full) {}

CarrierQueue::~CarrierQueue() {
  if (stream_) stream_->set_source(nullptr, 0);
}

void CarrierQueue::attach(TcpStream* stream, bool control_delay) {
  if (stream_ && stream_ != stream) stream_->set_source(nullptr, 0);
  stream_ = stream;
  control_delay_ = config_.pacing && control_delay;
  scheduler_.clear();
  controller_ = DelayController(config_.delay);
  pacing_Bps_ = 0;
  chunk_ = config_.chunk;
  send_rate_Bps_ = 0;
  last_tick_us_ = 0;
  tokens_ = 0;
  probes_.clear();
  acked_bytes_ = sent_bytes_;
  window_ = 0;
  acked_at_us_ = 0;
  e2e_rate_Bps_ = 0;
  timer_.close();
  resume_timer_.close();
  if (stream_) stream_->set_source(this, chunk_);
}

void CarrierQueue::send(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload) {
  if (!stream_) return;
  if (scheduler_.empty() && stream_->queued_bytes() < chunk_ &&
      (window_ == 0 || in_flight() < window_)) {
    if (stream_->write(prefix, payload))
      sent_bytes_ += prefix.size + payload.size;
    else
      drops_full_++;
    return;
  }
  scheduler_.enqueue(flow, prefix, payload, now_us());
  count_drops();
  stream_->wake();
  watch_path();
}

void CarrierQueue::pull(std::vector<uint8_t>& out, size_t budget) {
  uint64_t now = now_us();
  if (window_ > 0) {  // the next answer (on_pong) wakes the stream
    if (in_flight() >= window_) return;
    budget = std::min<uint64_t>(budget, window_ - in_flight());
  }
  if (pacing_Bps_ > 0) {
    // Paced here, not by the kernel: a kernel-paced socket keeps its unsent tail open and
    // takes every write into it (TCP_NOTSENT_LOWAT is checked only for a new segment), so
    // its queue would grow out of our reach. What the bucket does not allow yet waits in the
    // flows' queues; a timer wakes the stream when it does.
    double burst = std::max(static_cast<double>(chunk_), static_cast<double>(pacing_Bps_) * 0.002);
    tokens_ = std::min(burst, tokens_ + static_cast<double>(pacing_Bps_) *
                                            static_cast<double>(now - tokens_at_us_) / 1e6);
    tokens_at_us_ = now;
    if (tokens_ < static_cast<double>(std::min(budget, chunk_))) {
      uint64_t wait_us =
          static_cast<uint64_t>((static_cast<double>(std::min(budget, chunk_)) - tokens_) * 1e6 /
                                static_cast<double>(pacing_Bps_));
      resume_after(wait_us);
      return;
    }
    budget = std::min(budget, static_cast<size_t>(tokens_));
  }
  size_t taken = scheduler_.dequeue(out, budget, now);
  tokens_ -= static_cast<double>(taken);
  sent_bytes_ += taken;
  count_drops();
}

void CarrierQueue::resume_after(uint64_t us) {
  if (!resume_timer_ &&
      resume_timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); }) != 0)
    return;
  if (uv_is_active(resume_timer_.base())) return;
  uv_timer_start(
      resume_timer_.get(),
      [](uv_timer_t* t) {
        auto* self = static_cast<CarrierQueue*>(t->data);
        if (self->stream_) self->stream_->wake();
      },
      std::max<uint64_t>(1, (us + 999) / 1000), 0);
}

void CarrierQueue::count_drops() {
  const FlowScheduler::Counters& c = scheduler_.counters();
  drops_aged_ += c.drops_aged - seen_.drops_aged;
  drops_full_ += c.drops_full - seen_.drops_full;
  seen_ = c;
}

void CarrierQueue::watch_path() {
  if ((!control_delay_ && !config_.adapt_chunk) || timer_) return;
  if (timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); }) != 0) return;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<CarrierQueue*>(t->data)->on_tick(); }, kTickMs,
      kTickMs);
  // The first probe now: a queue that builds at the start (TCP's slow start into a router's
  // buffer) is seen one round trip later, not one tick.
  last_tick_us_ = 0;
  observe(now_us());
  probe();
}

void CarrierQueue::probe() {
  if (!stream_ || !send_probe_) return;
  uint64_t value = now_us();
  if (probes_.size() >= kMaxProbesOutstanding) probes_.pop_front();
  probes_.push_back({value, sent_bytes_, acked_bytes_});
  send_probe_(value);
}

// A delay is a queue of ours when our bytes ahead take at least half the target to drain at
// the rate the path delivers them (a rate too low to say, under the floor, counts as the
// floor: a cap at the floor must not read its own slowness as a queue).
bool CarrierQueue::is_our_queue(uint64_t bytes_ahead, double rate_Bps) const {
  if (bytes_ahead < kOneFrame) return false;
  double rate = std::max(rate_Bps, static_cast<double>(kQueueRateFloor));
  return static_cast<double>(bytes_ahead) * 1e6 / rate >=
         static_cast<double>(config_.delay.target_us) / 2;
}

void CarrierQueue::on_pong(uint64_t value) {
  uint64_t now = now_us();
  if (value > now) return;
  bool ours = false;
  uint64_t ahead = 0;  // our bytes that were in flight in front of it
  while (!probes_.empty() && probes_.front().value <= value) {
    const Probe& p = probes_.front();
    if (p.value == value) {
      ours = true;
      ahead = p.sent_bytes - std::min(p.sent_bytes, p.acked_bytes);
      acked_bytes_ = std::max(acked_bytes_, p.sent_bytes);
    }
    probes_.pop_front();
  }
  if (!ours) return;  // an answer to a probe of an earlier link
  controller_.on_rtt(now, now - value,
                     now >= stalled_until_us_ && is_our_queue(ahead, e2e_rate_Bps_));
  // What arrives end to end per second, and the window that follows from it.
  if (acked_at_us_ == 0) {
    acked_at_us_ = now;
    acked_at_rate_ = acked_bytes_;
  } else if (now - acked_at_us_ >= kMinRateSampleUs) {
    double rate = static_cast<double>(acked_bytes_ - acked_at_rate_) * 1e6 /
                  static_cast<double>(now - acked_at_us_);
    e2e_rate_Bps_ = e2e_rate_Bps_ > 0 ? 0.75 * e2e_rate_Bps_ + 0.25 * rate : rate;
    acked_at_us_ = now;
    acked_at_rate_ = acked_bytes_;
    if (!control_delay_) return;  // delay control off: no window either
    double span_us = static_cast<double>(controller_.base_rtt_us() + kTickMs * 1000);
    window_ =
        std::max<uint64_t>(kMinWindow, static_cast<uint64_t>(2 * e2e_rate_Bps_ * span_us / 1e6));
  }
  if (stream_ && timer_) observe(now);                  // act on it at once
  if (stream_ && !scheduler_.empty()) stream_->wake();  // the window may allow more now
}

void CarrierQueue::on_tick() {
  if (!stream_ || stream_->descriptor() < 0) {
    timer_.close();
    return;
  }
  bool backlogged = !scheduler_.empty();
  observe(now_us());
  if (!backlogged && !controller_.capped()) {
    timer_.close();  // idle: nothing to watch
    return;
  }
  probe();
}

void CarrierQueue::observe(uint64_t now) {
  bool backlogged = !scheduler_.empty();
  // The rate the path delivers our bytes at, measured while it is the limit (frames wait):
  // what TCP saw acknowledged (a shaper's bursts do not inflate it, as they do TCP's own
  // per-ACK estimate), or where the kernel cannot say, what the carrier took from us.
  carrier_socket::PathInfo info;
  bool have_info = carrier_socket::read_path_info(stream_->descriptor(), info);
  uint64_t delivered = have_info && info.bytes_acked > 0 ? info.bytes_acked : sent_bytes_;
  if (have_info) {
    // A retransmission holds everything behind the lost segment for a round trip or more:
    // the delays probes see meanwhile are that, not a queue a lower rate would drain.
    if (info.total_retrans != retrans_seen_) {
      retrans_seen_ = info.total_retrans;
      stalled_until_us_ = now + 2 * std::max<uint64_t>(info.srtt_us, controller_.base_rtt_us());
    }
    controller_.on_transport_rtt(
        info.srtt_us, info.min_rtt_us,
        now >= stalled_until_us_ && is_our_queue(info.unacked_bytes, send_rate_Bps_));
  }
  uint64_t elapsed = last_tick_us_ ? now - last_tick_us_ : 0;
  if (last_tick_us_ == 0 || elapsed >= kMinRateSampleUs) {
    if (backlogged && elapsed > 0 && delivered >= delivered_at_last_tick_) {
      double rate = static_cast<double>(delivered - delivered_at_last_tick_) * 1e6 /
                    static_cast<double>(elapsed);
      send_rate_Bps_ = send_rate_Bps_ > 0 ? 0.75 * send_rate_Bps_ + 0.25 * rate : rate;
    }
    last_tick_us_ = now;
    delivered_at_last_tick_ = delivered;
  }
  apply(controller_.update(now, static_cast<uint64_t>(send_rate_Bps_), backlogged));
}

void CarrierQueue::apply(const DelayController::Decision& d) {
  int fd = stream_->descriptor();
  if (control_delay_ && d.pacing_Bps != pacing_Bps_) {
    if (pacing_Bps_ == 0) {
      tokens_ = 0;
      tokens_at_us_ = now_us();
    }
    pacing_Bps_ = d.pacing_Bps;
    if (pacing_Bps_ == 0) stream_->wake();
  }
  if (config_.adapt_chunk && d.chunk > 0 && d.chunk != chunk_ &&
      carrier_socket::set_notsent_lowat(fd, d.chunk).empty()) {
    chunk_ = d.chunk;
    stream_->set_source(this, chunk_);
  }
}

}  // namespace udptun::runtime
