// Unit tests drive a runtime::EventLoop themselves, step by step, with a deadline instead of
// sleeps: a failing test ends, it does not hang.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "udptun/runtime/event_loop.hpp"

namespace udptun::test {

// Runs the loop until `done` or `limit_ms`; true when `done` came first.
inline bool run_until(runtime::EventLoop& loop, const std::function<bool()>& done,
                      uint64_t limit_ms = 5000) {
  uint64_t deadline = uv_now(loop.get()) + limit_ms;
  uv_timer_t tick;  // wakes the loop so `done` is looked at even without I/O
  uv_timer_init(loop.get(), &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 10, 10);
  bool ok = false;
  while (!(ok = done()) && uv_now(loop.get()) < deadline) uv_run(loop.get(), UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop.get(), UV_RUN_NOWAIT);
  return ok;
}

// After a component under test stopped: a few turns, so the handles it closed finish closing
// before the loop goes (the loop would count them as left open).
inline void finish_closes(runtime::EventLoop& loop) {
  for (int i = 0; i < 10; ++i) uv_run(loop.get(), UV_RUN_NOWAIT);
}

}  // namespace udptun::test
