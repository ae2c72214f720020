// Child processes the controller keeps running: each named service is exec'd with its argv
// (never through a shell) as an unprivileged user, restarted with exponential backoff when it dies,
// and given up on (state "failed") after too many quick deaths in a row.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/backoff.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/uv_handle.hpp"

namespace udptun::controller {

enum class ServiceState { stopped, running, restarting, failed };
// "stopped", "running", "restarting", "failed": what `status` replies say.
const char* service_state_name(ServiceState s);

struct ServiceStatus {
  std::string name;
  ServiceState state = ServiceState::stopped;
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
  std::string in_process_kind;
  std::string in_process_config;
  // Who the child runs as; nullopt only when the controller itself is not root.
  std::optional<Credentials> run_as;
  // Given to the child on its standard input (our daemons read `--config /dev/stdin`).
  std::string stdin_text;
  // Called before every spawn for descriptors the child gets (as (its number, ours)); the
  // supervisor closes ours once the child has its copies. A failure: the spawn cannot happen.
  std::function<Status(std::vector<std::pair<int, int>>& fds)> prepare_fds;
};

class ServiceSupervisor {
 public:
  // Events for subscribers: ("up"|"down"|"restarting"|"failed", service name, detail).
  using EventSink = std::function<void(const std::string& event, const std::string& name,
                                       const std::string& detail)>;
  static constexpr uint64_t kStableAfterMs = 10'000;  // a run this long resets the crash count

  // At most `max_services` are known at a time: a new one makes room by forgetting the one
  // stopped longest ago, or is refused when every one is running.
  ServiceSupervisor(runtime::EventLoop& loop, EventSink sink, uint64_t max_quick_restarts,
                    size_t max_services);
  ~ServiceSupervisor();

  // Starts (or replaces the argv or configuration of) a service.
  Status start(const std::string& name, const std::vector<std::string>& argv,
               ServiceOptions options = {});
  // A known service that is not running, started again as it was last configured.
  Status start_again(const std::string& name);
  Status stop(const std::string& name);
  Status restart(const std::string& name);
  std::vector<ServiceStatus> status() const;
  bool exists(const std::string& name) const { return services_.count(name) != 0; }
  // Stops every service (SIGTERM, then SIGKILL after a grace period); calls done when all exited.
  void stop_all(std::function<void()> done);

 private:
  struct Service;
  void spawn(Service& s);
  void start_in_process(Service& s);
  // The child's descriptors: its stats channel (3), what prepare_fds gives, its configuration
  // on stdin. `ours` collects our copies, closed once the child has its own.
  Status prepare_descriptors(Service& s, ChildSpec& spec, std::vector<int>& ours);
  void spawn_failed(Service& s, const std::string& why);
  static void on_report(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);
  void on_exit(Service& s, const std::string& reason);
  static bool alive(const Service& s);
  void schedule_restart(Service& s);
  void check_all_stopped();
  bool make_room();

  runtime::EventLoop& loop_;
  EventSink sink_;
  uint64_t max_quick_restarts_;
  size_t max_services_;
  std::map<std::string, std::unique_ptr<Service>> services_;
  std::function<void()> all_stopped_;
};

}  // namespace udptun::controller
