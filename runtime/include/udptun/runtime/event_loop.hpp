// One libuv loop per instance, run on the caller's thread or on a thread of its own, and a
// thread-safe way to ask it to stop. No global state: many EventLoops per process.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace udptun::runtime {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* get() { return &loop_; }
  uint64_t now_ms() const { return uv_now(&loop_); }

  // Runs the loop on this thread. `on_stop` runs on the loop thread when stop is requested:
  // it must close every handle it owns; run returns once nothing is left open.
  void run(std::function<void()> on_stop);
  // The calling thread may touch this loop's handles: it runs the loop, or the loop does not
  // run (UDPTUN_ASSERT_LOOP_THREAD, thread_check.hpp).
  bool on_loop_thread() const;
  // The same on a new thread; join() waits for it.
  int start_thread(std::function<void()> body);
  void join();

  // Thread-safe; may be called any number of times, before, during or after run.
  void request_stop();
  // Thread-safe: runs `fn` on the loop's thread soon (before a requested stop takes effect).
  // false, and `fn` is dropped, once the loop is stopping.
  bool post(std::function<void()> fn);

  // Sockets with datagrams queued this iteration: flushed in the check phase (after all I/O
  // callbacks of the iteration), so one read's worth of datagrams leaves in one syscall.
  void schedule_flush(class UdpSocket* s);
  void cancel_flush(class UdpSocket* s);
  // Output queued outside an I/O callback (a timer's heartbeat, a retry) is flushed in the
  // check phase too, which comes after the poll: without this the poll would first sleep
  // until the next timer. An idle handle keeps that poll from blocking; the loop's own check
  // handle stops it in the same check phase (whatever became of the stream that asked).
  void expedite_flush();

  // A scratch buffer for receives, shared by every socket of this loop: callbacks run one at
  // a time and nothing keeps a view into it after its callback returns.
  uv_buf_t recv_buffer();
  static constexpr size_t kRecvChunks = 16;  // datagrams per recvmmsg
  static constexpr size_t kRecvBufferSize = kRecvChunks * 64 * 1024;

 private:
  static void on_async(uv_async_t* a);
  void close_stop_handle();

  // One of the loop's own handles (not an owner's).
  bool owns(const uv_handle_t* h) const;
  uv_loop_t loop_;
  std::atomic<bool> running_{false};
  std::thread::id runner_;  // written before running_ is set
  uv_async_t stop_async_;
  std::mutex stop_mutex_;  // orders request_stop against closing stop_async_
  bool stop_handle_open_ = false;
  std::atomic<bool> stop_requested_{false};
  std::function<void()> on_stop_;
  std::vector<std::function<void()>> posted_;  // guarded by stop_mutex_
  std::vector<char> recv_buffer_;
  uv_thread_t thread_;
  bool thread_started_ = false;
  std::function<void()> thread_body_;
  uv_check_t flush_check_;
  uv_idle_t flush_pending_;
  uv_check_t flush_pending_over_;
  std::vector<class UdpSocket*> to_flush_;
};

}  // namespace udptun::runtime
