// Windows: the console control handler stands in for signals. Ctrl+C is `interrupt`;
// Ctrl+Break, closing the console window, logoff and shutdown are `terminate` (a service
// wrapper sends Ctrl+Break, the way `kill -TERM` would). No successor starts (no descriptor
// passing) and there is no systemd to notify; --stats-fd is a POSIX descriptor and refused.
#include <windows.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "udptun/runtime/process_control.hpp"

namespace udptun::runtime {
namespace {

// Process-wide by nature: there is one console and one control handler per process.
std::mutex stop_mutex;
std::condition_variable stop_raised;
int pending_stops = 0;
StopSignal last_stop = StopSignal::terminate;

void post_stop(StopSignal s) {
  std::lock_guard<std::mutex> lock(stop_mutex);
  last_stop = s;
  ++pending_stops;
  stop_raised.notify_all();
}

BOOL WINAPI on_console_control(DWORD event) {
  post_stop(event == CTRL_C_EVENT ? StopSignal::interrupt : StopSignal::terminate);
  return TRUE;  // handled: the process is not ended for us; main() stops the instance
}

}  // namespace

void block_stop_signals() {
  SetConsoleCtrlHandler(on_console_control, TRUE);
}

StopSignal wait_for_stop_signal() {
  std::unique_lock<std::mutex> lock(stop_mutex);
  stop_raised.wait(lock, [] { return pending_stops > 0; });
  --pending_stops;
  return last_stop;
}

void raise_stop_signal() {
  post_stop(StopSignal::terminate);
}

Status start_successor(char**, int) {
  return Status::failure("planned restarts (handover) are not supported on Windows");
}

void notify_service_manager() {}

uint64_t raise_descriptor_limit() {
  return 16384;  // Winsock sockets are kernel handles, not C runtime descriptors: no rlimit
}

Status claim_stats_descriptor(int) {
  return Status::failure("--stats-fd is not supported on Windows (use --metrics)");
}

void write_stats_line(int, const char*, size_t) {}

}  // namespace udptun::runtime
