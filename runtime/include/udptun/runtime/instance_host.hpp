// The lifecycle every instance behind a C API (udp-server, udp-local, tun2socks) shares,
// written once: its own loop and logger, the embedding application's callbacks, running on a
// thread of its own or on the caller's, the periodic sweep and stats timers, /metrics, the
// stats snapshot other threads read, and reporting a fatal error.
//
// An instance derives from InstanceHost<Callbacks, Stats> and supplies open() (everything it
// serves; a failure is reported and the loop runs once to close what was opened), sweep(),
// shutdown() (closes its own handles when a stop is requested) and, optionally,
// refresh_derived_stats() and on_running(). Its destructor must call stop_and_join() first:
// the loop thread runs the instance's own code until then.
//
// A guest instance has no loop of its own: it runs on a host instance's loop and thread (see
// the protected constructor), opened by start() and closed by stop(), both on that thread.
#pragma once

#include <uv.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/metrics_endpoint.hpp"
#include "udptun/runtime/thread_check.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

// What each instance's configuration says about the common part.
struct InstanceSchedule {
  uint64_t sweep_interval_ms = 1'000;
  uint64_t stats_interval_ms = 1'000;
  std::optional<protocol::Address> metrics;  // serve /metrics here
  protocol::AllowList metrics_allow;         // to scrapers at these addresses (empty: any)
};

template <class Callbacks, class Stats>
class InstanceHost {
 public:
  InstanceHost(const InstanceHost&) = delete;
  InstanceHost& operator=(const InstanceHost&) = delete;

  // Thread-safe, any number of times. A guest (see below) stops at once: call it on the host
  // loop's thread.
  void stop() {
    if (guest()) {
      UDPTUN_ASSERT_LOOP_THREAD(loop_);
      detach();
    } else {
      loop_.request_stop();
    }
  }
  // Runs on a new thread; returns 0 or a libuv error. A guest opens on the host loop instead
  // (on its thread) and returns 0, or -1 when it could not (reported through `error`).
  int start(const Callbacks* cb, void* user) {
    adopt(cb, user);
    if (guest()) {
      UDPTUN_ASSERT_LOOP_THREAD(loop_);
      return attach();
    }
    return loop_.start_thread([this] { run(nullptr, user_); });
  }
  // Runs on the caller's thread until stopped: 0 after a clean stop, -1 when it could not open
  // what it serves (reported through the error callback). Not for a guest.
  int run(const Callbacks* cb, void* user) {
    if (guest()) return -EINVAL;
    adopt(cb ? cb : &cb_, user);
    Status opened = begin();
    if (!opened.ok()) loop_.request_stop();  // the loop runs once to close what was opened
    loop_.run([this] { end(); });
    finish();
    return opened.ok() ? 0 : -1;
  }
  // Thread-safe: the counters as of the last publication (every stats interval).
  void snapshot(Stats* out) {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    *out = snapshot_;
  }

 protected:
  // With a `host` loop, the instance is a guest on it: it runs on that loop's thread beside the
  // host's own handles (tun2socks' in-process udp-local: no thread hop per datagram), and
  // start, stop and destruction happen on that thread.
  explicit InstanceHost(InstanceSchedule schedule, EventLoop* host = nullptr)
      : own_loop_(host ? nullptr : std::make_unique<EventLoop>()),
        loop_(host ? *host : *own_loop_),
        schedule_(std::move(schedule)) {}
  virtual ~InstanceHost() { stop_and_join(); }

  // The instance's own part (loop thread).
  virtual Status open() = 0;
  virtual void on_running() {}
  virtual void sweep() = 0;
  virtual void shutdown() = 0;
  virtual void refresh_derived_stats() {}
  virtual std::string render_metrics() = 0;

  void stop_and_join() {
    if (guest()) {
      detach();
      return;
    }
    loop_.request_stop();
    loop_.join();
  }
  bool guest() const { return own_loop_ == nullptr; }
  void report_error(const std::string& message) {
    LOG_ERROR(log_, "", "%s", message.c_str());
    std::unique_lock<std::mutex> serial = serialize_callbacks();
    if (cb_.error) cb_.error(user_, message.c_str());
  }
  void publish_stats() {
    refresh_derived_stats();
    {
      std::lock_guard<std::mutex> lock(snapshot_mutex_);
      snapshot_ = stats_;
    }
    std::unique_lock<std::mutex> serial = serialize_callbacks();
    if (cb_.stats) cb_.stats(user_, &stats_);
  }
  // An instance whose other threads call the application too (udp-server's workers) returns
  // its lock here, so no two callbacks ever run at once.
  virtual std::unique_lock<std::mutex> serialize_callbacks() { return {}; }
  std::unique_ptr<EventLoop> own_loop_;  // nullptr for a guest
  EventLoop& loop_;
  Logger log_;
  Callbacks cb_{};
  void* user_ = nullptr;
  Stats stats_{};

 private:
  // Opens what the instance serves and starts its timers; a failure is reported.
  Status begin() {
    Status opened = open();
    if (opened.ok()) opened = open_metrics();
    if (!opened.ok()) {
      report_error(opened.message());
      return opened;
    }
    start_timer(sweep_timer_, schedule_.sweep_interval_ms,
                [](uv_timer_t* t) { static_cast<InstanceHost*>(t->data)->sweep(); });
    start_timer(stats_timer_, schedule_.stats_interval_ms,
                [](uv_timer_t* t) { static_cast<InstanceHost*>(t->data)->publish_stats(); });
    on_running();
    return opened;
  }
  // Closes every handle (the loop frees them in their close callbacks).
  void end() {
    sweep_timer_.close();
    stats_timer_.close();
    metrics_.reset();
    shutdown();
  }
  // The last counters and the last callback.
  void finish() {
    publish_stats();
    if (cb_.stopped) cb_.stopped(user_);
  }
  int attach() {
    attached_ = true;
    if (begin().ok()) return 0;
    detach();
    return -1;
  }
  void detach() {
    if (!attached_) return;
    attached_ = false;
    end();
    finish();
  }

  // Takes the callbacks (when given) and sends log lines to the application's log callback.
  void adopt(const Callbacks* cb, void* user) {
    if (cb) cb_ = *cb;
    user_ = user;
    if (cb_.log) {
      log_.set_sink(
          [this](LogLevel l, const char* line) { cb_.log(user_, static_cast<int>(l), line); });
    }
  }
  // `fn` gets this host as the handle's data.
  void start_timer(UvHandle<uv_timer_t>& timer, uint64_t every_ms, uv_timer_cb fn) {
    timer.init(this, [&](uv_timer_t* t) { return uv_timer_init(loop_.get(), t); });
    uv_timer_start(timer.get(), fn, every_ms, every_ms);
  }
  Status open_metrics() {
    if (!schedule_.metrics) return Status::success();
    MetricsEndpoint::Limits limits;
    limits.allowed = schedule_.metrics_allow;
    auto metrics = MetricsEndpoint::open(
        loop_, log_, *schedule_.metrics, [this] { return render_metrics(); }, std::move(limits));
    if (!metrics.ok()) return metrics.status();
    metrics_ = std::move(metrics).value();
    return Status::success();
  }

  InstanceSchedule schedule_;
  bool attached_ = false;  // a guest between start and stop
  UvHandle<uv_timer_t> sweep_timer_;
  UvHandle<uv_timer_t> stats_timer_;
  std::unique_ptr<MetricsEndpoint> metrics_;
  std::mutex snapshot_mutex_;
  Stats snapshot_{};
};

}  // namespace udptun::runtime
