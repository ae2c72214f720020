// What every daemon's main() does, once: flags (and --config) into the JSON configuration,
// --help, create the instance through its C API, run it on its own thread until SIGINT,
// SIGTERM or SIGHUP (or a fatal error reported by the instance), then stop and free it.
#pragma once

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "udptun/runtime/command_line.hpp"

namespace udptun::runtime {

struct DaemonSpec {
  const char* program;  // "udp-server", for messages
  const char* summary;  // the first lines of --help
  const std::vector<CommandLineOption>* options;  // the daemon's own; the common ones follow
};

// Options every daemon has, with the same JSON keys in every configuration.
inline std::vector<CommandLineOption> with_common_options(const std::vector<CommandLineOption>& own) {
  std::vector<CommandLineOption> all = own;
  all.push_back({"--stats-interval-ms", "stats_interval_ms", CommandLineOption::Kind::integer, "MS",
                 "how often counters are published (default 1000)"});
  all.push_back({"--log-level", "log_level", CommandLineOption::Kind::string, "LEVEL",
                 "error, warn, info (default) or debug"});
  return all;
}

// The instance's C API (udpserver_*, udplocal_*, tun2socks_*).
template <class Handle, class Callbacks>
struct DaemonApi {
  Handle* (*create)(const char* json, char* err, size_t errlen);
  int (*start)(Handle* h, const Callbacks* cb, void* user);
  void (*stop)(Handle* h);
  void (*destroy)(Handle* h);
};

namespace detail {
struct DaemonState {
  const char* program;
  std::atomic<int> failed{0};
};
inline void on_fatal_error(void* user, const char* message) {
  auto* st = static_cast<DaemonState*>(user);
  std::fprintf(stderr, "%s: %s\n", st->program, message);
  st->failed = 1;
  raise_stop_signal();
}
}  // namespace detail

// Exit codes: 0 after a clean stop, 1 after a fatal error, 2 for a bad command line or
// configuration.
template <class Handle, class Callbacks>
int run_daemon(int argc, char** argv, const DaemonSpec& spec,
               const DaemonApi<Handle, Callbacks>& api) {
  const std::vector<CommandLineOption> options = with_common_options(*spec.options);
  std::string json, error;
  bool help = false;
  if (!build_config_from_args(argc, argv, options, json, error, help)) {
    std::fprintf(stderr, "%s: %s\n", spec.program, error.c_str());
    return 2;
  }
  if (help) {
    std::fputs(usage_text(spec.program, spec.summary, options).c_str(), stdout);
    return 0;
  }
  char err[512];
  Handle* instance = api.create(json.c_str(), err, sizeof err);
  if (!instance) {
    std::fprintf(stderr, "%s: %s\n", spec.program, err);
    return 2;
  }
  // Signals are taken by sigwait on this thread, never by a handler inside the instance.
  block_stop_signals();
  detail::DaemonState state;
  state.program = spec.program;
  Callbacks cb{};
  cb.error = detail::on_fatal_error;
  if (api.start(instance, &cb, &state) != 0) {
    std::fprintf(stderr, "%s: cannot start its thread\n", spec.program);
    api.destroy(instance);
    return 1;
  }
  wait_for_stop_signal();
  api.stop(instance);
  api.destroy(instance);
  return state.failed ? 1 : 0;
}

}  // namespace udptun::runtime
