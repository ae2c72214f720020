// How a daemon is told to stop (runtime/process_control.hpp), on each platform: POSIX signals
// on Linux, the console control handler on Windows (run under Wine); --stats-fd claiming; the
// descriptor budget.
#include "udptun/runtime/process_control.hpp"

#include <csignal>
#include <cstdio>
#include <string>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include "cmocka_support.hpp"

using udptun::runtime::StopSignal;

static void test_raised_stop_is_terminate(void**) {
  udptun::runtime::block_stop_signals();
  udptun::runtime::raise_stop_signal();
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::terminate);
}

#ifdef _WIN32
static void test_console_events_stop(void**) {
  udptun::runtime::block_stop_signals();
  AllocConsole();  // a console of our own to send events in (none under a test runner)
  if (!GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) {
    std::printf("SKIP: console control events: no console to send them in here\n");
    skip();
  }
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::interrupt);
  assert_true(GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, 0));
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::terminate);
}

static void test_stats_descriptor_is_refused(void**) {
  assert_false(udptun::runtime::claim_stats_descriptor(3).ok());
  assert_false(udptun::runtime::start_successor(nullptr, -1).ok());
}
#else
static void test_signals_stop(void**) {
  udptun::runtime::block_stop_signals();
  kill(getpid(), SIGINT);
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::interrupt);
  kill(getpid(), SIGHUP);
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::hang_up);
  kill(getpid(), SIGTERM);
  assert_true(udptun::runtime::wait_for_stop_signal() == StopSignal::terminate);
}

static void test_stats_descriptor_is_claimed_or_refused(void**) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  int fd = fcntl(p[1], F_DUPFD, 10);
  assert_true(udptun::runtime::claim_stats_descriptor(fd).ok());
  assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);  // a slow reader never blocks the loop
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  udptun::runtime::write_stats_line(fd, "{}\n", 3);
  char buf[8] = {};
  assert_int_equal(read(p[0], buf, sizeof buf), 3);
  close(fd);
  assert_false(udptun::runtime::claim_stats_descriptor(fd).ok());  // closed now
  assert_false(udptun::runtime::claim_stats_descriptor(1).ok());   // stdout: not ours
  close(p[0]);
  close(p[1]);
}
#endif

static void test_descriptor_budget(void**) {
  assert_true(udptun::runtime::raise_descriptor_limit() >= 1024);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raised_stop_is_terminate),
#ifdef _WIN32
      cmocka_unit_test(test_console_events_stop),
      cmocka_unit_test(test_stats_descriptor_is_refused),
#else
      cmocka_unit_test(test_signals_stop),
      cmocka_unit_test(test_stats_descriptor_is_claimed_or_refused),
#endif
      cmocka_unit_test(test_descriptor_budget),
  };
  return cmocka_run_group_tests_name("process_control", tests, nullptr, nullptr);
}
