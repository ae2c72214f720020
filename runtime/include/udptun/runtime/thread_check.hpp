// Debug builds check that a loop's handles are touched only on the thread running that loop
// (or while it does not run: set-up before, tear-down after), as libuv asserts its own
// invariants. Release builds check nothing.
#pragma once

#include "udptun/runtime/event_loop.hpp"

namespace udptun::runtime {

// Says where, then aborts.
[[noreturn]] void wrong_thread(const char* file, int line);

}  // namespace udptun::runtime

#ifdef NDEBUG
#define UDPTUN_ASSERT_LOOP_THREAD(loop) ((void)0)
#else
#define UDPTUN_ASSERT_LOOP_THREAD(loop) \
  ((loop).on_loop_thread() ? (void)0 : ::udptun::runtime::wrong_thread(__FILE__, __LINE__))
#endif
