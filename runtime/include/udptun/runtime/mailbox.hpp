// Items handed from any thread to one loop's thread, written once for every such hand-off (an
// embedding app's packets into tun2socks, datagrams submitted to an in-process udp-local, the
// egress tun2socks' packets to udp-server, an in-process service's fatal error to the
// controller). An in-process udp-local's replies to tun2socks take no mailbox: it is a guest
// on tun2socks' own loop.
//
// Producers append to a batch under a mutex and wake the loop only when the batch was empty, so
// a burst costs one wake-up; the loop swaps the batch with an empty one and handles it outside
// the lock. Both batches keep their capacity, so a warm mailbox does not allocate. Bounded: the
// producer's append decides (-EAGAIN when full); every refusal is counted in dropped().
//
// Batch: default-constructible, swappable, with empty() and clear().
#pragma once

#include <uv.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/thread_check.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::runtime {

template <class Batch>
class Mailbox {
 public:
  using Handler = std::function<void(Batch& batch)>;

  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;
  ~Mailbox() { close(); }

  // On the loop's thread: `handler` gets each batch there. 0 or a libuv error.
  int open(EventLoop& loop, Handler handler) {
    UDPTUN_ASSERT_LOOP_THREAD(loop);
    loop_ = &loop;
    handler_ = std::move(handler);
    int rc = wake_.init(this, [&](uv_async_t* a) { return uv_async_init(loop.get(), a, on_wake); });
    if (rc == 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    return rc;
  }
  // On the loop's thread: drops what is queued; posts fail with -EPIPE from now on.
  void close() {
    if (loop_) UDPTUN_ASSERT_LOOP_THREAD(*loop_);
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
    pending_.clear();
    wake_.close();  // under the lock: no producer can be inside uv_async_send meanwhile
  }

  // Any thread: append(Batch&) adds to the batch and returns 0, or a negative code
  // (-EAGAIN: full) to refuse. -EPIPE when the mailbox is closed.
  template <class Append>
  int post(Append&& append) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return -EPIPE;
    bool was_empty = pending_.empty();
    int rc = append(pending_);
    if (rc == -EAGAIN) dropped_.fetch_add(1, std::memory_order_relaxed);
    if (rc == 0 && was_empty && !pending_.empty()) uv_async_send(wake_.get());
    return rc;
  }

  // Refused as full since the start (any thread).
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static void on_wake(uv_async_t* a) {
    auto* self = static_cast<Mailbox*>(a->data);
    if (!self) return;
    self->taken_.clear();
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      std::swap(self->taken_, self->pending_);
    }
    self->handler_(self->taken_);
  }

  std::mutex mutex_;  // guards open_, pending_ and the async handle against close()
  bool open_ = false;
  Batch pending_;
  Batch taken_;                // loop thread only
  EventLoop* loop_ = nullptr;  // the one it was opened on (debug builds check the thread)
  Handler handler_;
  UvHandle<uv_async_t> wake_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace udptun::runtime
