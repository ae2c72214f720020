// How a daemon process is told to stop, restarts itself and reports to its supervisor. One
// implementation per platform: POSIX signals, posix_spawn and systemd's notify socket
// (process_control_posix.cpp); the console control handler on Windows
// (process_control_windows.cpp), where Ctrl+C is `interrupt` and Ctrl+Break, closing the
// console, logoff and shutdown are `terminate`.
#pragma once

#include "udptun/protocol/status.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace udptun::runtime {

enum class StopSignal { interrupt, terminate, hang_up };

// Takes the stop signals away from every thread this one starts and waits for one.
void block_stop_signals();
StopSignal wait_for_stop_signal();
// Wakes wait_for_stop_signal from any thread (e.g. after a fatal error in the instance).
void raise_stop_signal();
// Starts this program again with the same arguments, signals unblocked, `keep_fd` (if >= 0,
// e.g. the --stats-fd channel) still open in it: a successor for a planned restart.
Status start_successor(char** argv, int keep_fd);
// Tells systemd (Type=notify, $NOTIFY_SOCKET) that we are ready and which process is the
// service's main one now — a successor says so after SIGHUP. Nothing without systemd.
void notify_service_manager();

// Raises this process's limit on open descriptors (sockets) as far as it may go and returns
// it, for budgets of connections and flows.
uint64_t raise_descriptor_limit();

// --stats-fd: an inherited descriptor above 2 that snapshots are written to, made
// non-blocking (a slow reader never blocks the instance's loop: a snapshot that does not fit
// is dropped) and close-on-exec.
Status claim_stats_descriptor(int fd);
void write_stats_line(int fd, const char* line, size_t size);

}  // namespace udptun::runtime
