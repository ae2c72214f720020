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

void CarrierQueue::attach(TcpStream* stream) {
  if (stream_ && stream_ != stream) stream_->set_source(nullptr, 0);
  stream_ = stream;
  scheduler_.clear();
  controller_ = DelayController(config_.delay);
  pacing_Bps_ = 0;
  chunk_ = config_.chunk;
  send_rate_Bps_ = 0;
  last_tick_us_ = 0;
  tokens_ = 0;
  timer_.close();
  resume_timer_.close();
  if (stream_) stream_->set_source(this, chunk_);
}

void CarrierQueue::send(uint32_t flow, protocol::ByteView prefix, protocol::ByteView payload) {
  if (!stream_) return;
  if (scheduler_.empty() && stream_->queued_bytes() < chunk_) {
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
  if ((!config_.pacing && !config_.adapt_chunk) || timer_) return;
  if (timer_.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); }) != 0) return;
  uv_timer_start(
      timer_.get(), [](uv_timer_t* t) { static_cast<CarrierQueue*>(t->data)->on_tick(); }, kTickMs,
      kTickMs);
  // The first probe now: a queue that builds at the start (TCP's slow start into a router's
  // buffer) is seen one round trip later, not one tick.
  last_tick_us_ = 0;
  observe(now_us());
  if (probe_) probe_();
}

void CarrierQueue::on_round_trip(uint64_t rtt_us) {
  uint64_t now = now_us();
  controller_.on_rtt(now, rtt_us);
  if (stream_ && timer_) observe(now);  // act on it at once
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
  if (probe_) probe_();
}

void CarrierQueue::observe(uint64_t now) {
  bool backlogged = !scheduler_.empty();
  // The rate the path delivers our bytes at, measured while it is the limit (frames wait):
  // what TCP saw acknowledged (a shaper's bursts do not inflate it, as they do TCP's own
  // per-ACK estimate), or where the kernel cannot say, what the carrier took from us.
  carrier_socket::PathInfo info;
  bool have_info = carrier_socket::read_path_info(stream_->descriptor(), info);
  uint64_t delivered = have_info && info.bytes_acked > 0 ? info.bytes_acked : sent_bytes_;
  if (have_info) controller_.on_transport_rtt(info.srtt_us, info.min_rtt_us);
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
  if (config_.pacing && d.pacing_Bps != pacing_Bps_) {
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
