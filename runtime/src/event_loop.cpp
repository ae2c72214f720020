#include "udptun/runtime/event_loop.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "udptun/runtime/thread_check.hpp"
#include "udptun/runtime/udp_socket.hpp"

namespace udptun::runtime {

EventLoop::EventLoop() {
  if (uv_loop_init(&loop_) != 0 || uv_async_init(&loop_, &stop_async_, on_async) != 0) {
    std::abort();  // only fails when the process is out of fds or memory at creation
  }
  stop_async_.data = this;
  stop_handle_open_ = true;
  uv_check_init(&loop_, &flush_check_);
  flush_check_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_check_));  // never keeps the loop alive
  uv_idle_init(&loop_, &flush_pending_);
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_pending_));
  uv_check_init(&loop_, &flush_pending_over_);
  flush_pending_over_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&flush_pending_over_));
}

void EventLoop::expedite_flush() {
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&flush_pending_))) return;
  uv_idle_start(&flush_pending_, [](uv_idle_t*) {});
  uv_check_start(&flush_pending_over_, [](uv_check_t* c) {
    uv_idle_stop(&static_cast<EventLoop*>(c->data)->flush_pending_);
    uv_check_stop(c);
  });
}

void EventLoop::schedule_flush(UdpSocket* s) {
  if (to_flush_.empty()) {
    expedite_flush();
    uv_check_start(&flush_check_, [](uv_check_t* c) {
      auto* self = static_cast<EventLoop*>(c->data);
      // Flushing may queue nothing new, but guard against it anyway: swap first.
      std::vector<UdpSocket*> batch;
      batch.swap(self->to_flush_);
      for (UdpSocket* u : batch) u->flush();
      if (self->to_flush_.empty()) uv_check_stop(c);
    });
  }
  to_flush_.push_back(s);
}

void EventLoop::cancel_flush(UdpSocket* s) {
  to_flush_.erase(std::remove(to_flush_.begin(), to_flush_.end(), s), to_flush_.end());
}

EventLoop::~EventLoop() {
  join();
  close_stop_handle();
  // Close whatever an owner failed to close, so the loop can be closed and nothing leaks.
  // The loop's own handles aside, each is a bug of its owner (its memory is lost, its
  // callbacks may reach a dead object): counted and named, and fatal in debug builds, as
  // libuv asserts its own invariants.
  struct Leaks {
    EventLoop* self = nullptr;
    size_t count = 0;
    std::string types;
  } leaks;
  leaks.self = this;
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void* arg) {
        auto* l = static_cast<Leaks*>(arg);
        if (uv_is_closing(h)) return;
        if (!l->self->owns(h)) {
          l->count++;
          if (l->types.size() < 200) (l->types += " ") += uv_handle_type_name(h->type);
        }
        uv_close(h, nullptr);
      },
      &leaks);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
  if (leaks.count > 0) {
    std::fprintf(stderr, "udptun: an event loop closed %zu handle(s) its owners left open:%s\n",
                 leaks.count, leaks.types.c_str());
#ifndef NDEBUG
    std::abort();
#endif
  }
}

bool EventLoop::owns(const uv_handle_t* h) const {
  return h == reinterpret_cast<const uv_handle_t*>(&stop_async_) ||
         h == reinterpret_cast<const uv_handle_t*>(&flush_check_) ||
         h == reinterpret_cast<const uv_handle_t*>(&flush_pending_) ||
         h == reinterpret_cast<const uv_handle_t*>(&flush_pending_over_);
}

void EventLoop::on_async(uv_async_t* a) {
  auto* self = static_cast<EventLoop*>(a->data);
  std::vector<std::function<void()>> posted;
  {
    std::lock_guard<std::mutex> lock(self->stop_mutex_);
    posted.swap(self->posted_);
  }
  for (auto& fn : posted) fn();
  if (!self->stop_requested_.load()) return;
  self->close_stop_handle();
  if (self->on_stop_) {
    auto cb = std::move(self->on_stop_);
    self->on_stop_ = nullptr;
    cb();
  }
}

void EventLoop::close_stop_handle() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (!stop_handle_open_) return;
  stop_handle_open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
}

void EventLoop::request_stop() {
  stop_requested_.store(true);
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stop_handle_open_) uv_async_send(&stop_async_);
}

bool EventLoop::post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (!stop_handle_open_ || stop_requested_.load()) return false;
  posted_.push_back(std::move(fn));
  uv_async_send(&stop_async_);
  return true;
}

void EventLoop::run(std::function<void()> on_stop) {
  on_stop_ = std::move(on_stop);
  if (stop_requested_.load()) {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stop_handle_open_) uv_async_send(&stop_async_);
  }
  runner_ = std::this_thread::get_id();
  running_.store(true, std::memory_order_release);
  uv_run(&loop_, UV_RUN_DEFAULT);
  running_.store(false, std::memory_order_release);
}

bool EventLoop::on_loop_thread() const {
  return !running_.load(std::memory_order_acquire) || runner_ == std::this_thread::get_id();
}

void wrong_thread(const char* file, int line) {
  std::fprintf(stderr, "udptun: %s:%d: a loop's handle touched from another thread\n", file, line);
  std::abort();
}

int EventLoop::start_thread(std::function<void()> body) {
  if (thread_started_) return UV_EBUSY;
  thread_body_ = std::move(body);
  int rc = uv_thread_create(
      &thread_, [](void* arg) { static_cast<EventLoop*>(arg)->thread_body_(); }, this);
  if (rc == 0) thread_started_ = true;
  return rc;
}

void EventLoop::join() {
  if (!thread_started_) return;
  uv_thread_t self = uv_thread_self();
  if (uv_thread_equal(&self, &thread_)) return;  // never join ourselves
  uv_thread_join(&thread_);
  thread_started_ = false;
}

uv_buf_t EventLoop::recv_buffer() {
  if (recv_buffer_.empty()) recv_buffer_.resize(kRecvBufferSize);
  return uv_buf_init(recv_buffer_.data(), static_cast<unsigned>(recv_buffer_.size()));
}

}  // namespace udptun::runtime
