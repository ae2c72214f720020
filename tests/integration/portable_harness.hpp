// The part of the test harness that builds on every platform (Linux, and Windows for the
// tests that run under Wine): waiting for a condition, and this process's own resources.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

// Whether this build runs under AddressSanitizer (gcc and clang spell it differently).
#if defined(__SANITIZE_ADDRESS__)
#define UDPTUN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UDPTUN_TEST_ASAN 1
#endif
#endif

namespace harness {

// Polls `pred` every 10 ms until it holds or `timeout_ms` passes.
bool eventually(const std::function<bool()>& pred, int timeout_ms);

// This process's open descriptors (Linux) or handles (Windows), -1 where the platform does
// not tell (Wine answers 0), and its resident memory.
int own_open_handles();
long own_resident_kib();
// Why this process's own resident size cannot judge a leak here, or nullptr when it can:
// under AddressSanitizer (its quarantine holds freed memory; LeakSanitizer checks at exit) and
// under emulation (QEMU keeps ~280 KiB for every thread ever started; Wine has its own heap).
const char* own_rss_unjudgeable();

// "SKIP: WHY" on stdout, where scripts/test collects it: a check that cannot run here says so,
// never passes silently.
void report_skip(const char* why);

// Turns a hang into a failure that says where. While one is alive, progress(where) marks each
// step; a step that lasts `limit_ms` is printed ("HUNG: ...") and the process ends (exit code
// 3), long before the test's timeout, which would say nothing.
class Watchdog {
 public:
  Watchdog(const char* what, int limit_ms);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  friend void progress(const char* where);
  void mark(const char* where);
  void watch();

  const char* what_;
  int limit_ms_;
  std::mutex mutex_;
  std::condition_variable changed_;
  const char* where_ = "the start";
  unsigned long long steps_ = 0;
  bool done_ = false;
  std::thread thread_;
};

// The step the current Watchdog (if any) sees this process in; `where` is a string literal.
void progress(const char* where);

}  // namespace harness
