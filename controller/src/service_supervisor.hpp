// Child processes the controller keeps running: each named service is exec'd with its argv
// (never through a shell), restarted with exponential backoff when it dies, and given up on
// (state "failed") after too many quick deaths in a row.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "udptun/runtime/backoff.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::controller {

struct ServiceStatus {
  std::string name;
  std::string state;  // running, restarting, stopped, failed
  int pid = 0;
  uint64_t uptime_ms = 0;
  uint64_t restarts = 0;
  std::string last_exit;  // "exit 1", "signal 9", "" if none
  std::vector<std::string> argv;
  std::string stats;  // the latest counters (a JSON object), "" when it has none
  std::string mode;   // "process" or "inproc"
};

struct ServiceOptions {
  // The child writes JSON lines ({"stats":{...}}) to descriptor 3 (our daemons' --stats-fd 3).
  bool stats_channel = false;
  // Run inside this process through the library of this kind ("udp-local", ...) with this
  // JSON configuration, instead of exec'ing argv.
  std::string inproc_kind;
  std::string inproc_config;
};

class ServiceSupervisor {
 public:
  // Events for subscribers: ("up"|"down"|"restarting"|"failed", service name, detail).
  using EventSink = std::function<void(const std::string& event, const std::string& name,
                                       const std::string& detail)>;
  static constexpr uint64_t kStableAfterMs = 10'000;  // a run this long resets the crash count

  ServiceSupervisor(runtime::EventLoop& loop, EventSink sink, uint64_t max_quick_restarts);
  ~ServiceSupervisor();

  // Starts (or replaces the argv or configuration of) a service. Returns "" or why not.
  std::string start(const std::string& name, const std::vector<std::string>& argv,
                    ServiceOptions options = {});
  std::string stop(const std::string& name);
  std::string restart(const std::string& name);
  std::vector<ServiceStatus> status() const;
  bool exists(const std::string& name) const { return services_.count(name) != 0; }
  // Stops every service (SIGTERM, then SIGKILL after a grace period); calls done when all exited.
  void stop_all(std::function<void()> done);

 private:
  struct Service;
  void spawn(Service& s);
  static void on_report(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);
  void on_exit(Service& s, const std::string& reason);
  static bool alive(const Service& s);
  void schedule_restart(Service& s);
  void check_all_stopped();

  runtime::EventLoop& loop_;
  EventSink sink_;
  uint64_t max_quick_restarts_;
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::function<void()> all_stopped_;
};

}  // namespace udptun::controller
