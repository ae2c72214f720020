// What every daemon's main() does, once: flags (and --config) into the JSON configuration,
// --help, --version, --manpage, create the instance through its C API, run it on its own thread
// until SIGINT, SIGTERM or SIGHUP (or a fatal error reported by the instance), then stop and free
// it.
#pragma once

#include <cJSON.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "udptun/runtime/command_line.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/runtime/process_control.hpp"
#include "udptun/runtime/program_manual.hpp"

namespace udptun::runtime {

struct DaemonSpec {
  const char* program;                            // "udp-server", for messages
  const char* purpose;                            // the man page's NAME line
  const char* summary;                            // the first lines of --help
  const std::vector<CommandLineOption>* options;  // the library's (describe_options())
  // SIGHUP starts a successor (this program, the same arguments) that takes the instance
  // over; this process exits once the instance stopped. Otherwise SIGHUP stops, like SIGTERM.
  bool hup_starts_successor = false;
  // The man page's sections between OPTIONS and the common ones (EXAMPLES, FILES).
  std::vector<ManualSection> sections = {};
};

// Taken by run_daemon itself, never passed to the library.
inline constexpr const char* kStatsFdKey = "stats_fd";

// The library's options, and --stats-fd, which run_daemon takes itself.
inline std::vector<CommandLineOption> with_common_options(
    const std::vector<CommandLineOption>& own) {
  std::vector<CommandLineOption> all = own;
  all.push_back({"--stats-fd", kStatsFdKey, CommandLineOption::Kind::integer, "FD",
                 "write each stats snapshot as one JSON line to this descriptor (the channel "
                 "proxy-controller reads)"});
  return all;
}

// The daemon's --help and man page.
// `sigterm_drains`: the C API has a drain (InstanceApi::drain), which SIGTERM uses.
inline ProgramManual daemon_manual(const DaemonSpec& spec, bool sigterm_drains) {
  ProgramManual m;
  m.program = spec.program;
  m.purpose = spec.purpose;
  m.synopsis = "[OPTIONS]";
  m.description = std::string(spec.summary) +
                  "\n\nEvery option is also a key of the JSON configuration (--config); flags "
                  "given after it override the file.";
  m.options = with_common_options(*spec.options);
  m.general_options = general_command_line_options();
  m.sections = spec.sections;
  m.sections.push_back(
      {"SIGNALS",
       std::string(sigterm_drains
                       ? "SIGTERM drains: no new connections, every client is told to move "
                         "(GOAWAY) and the daemon exits once all left or after "
                         "--drain-grace-ms; a second SIGTERM, or SIGINT, stops at once. "
                       : "SIGTERM and SIGINT stop the daemon. ") +
           (spec.hup_starts_successor
                ? "SIGHUP starts a successor (the program on disk now, with the same "
                  "arguments) that takes the instance over through the handover socket; this "
                  "process exits once it has."
                : "SIGHUP stops it too."),
       {}});
  m.sections.push_back({"EXIT STATUS",
                        "0 after a clean stop, 1 after a fatal error, 2 for a bad command line "
                        "or configuration.",
                        {}});
  m.sections.push_back({"SEE ALSO",
                        "udp-local(1), udp-server(1), tun2socks(1), proxy-controller(1), "
                        "udptunctl(1); /usr/share/doc/udptun/CONFIG.md and PROTOCOL.md.",
                        {}});
  return m;
}

namespace detail {
struct DaemonState {
  const char* program;
  std::atomic<int> failed{0};
  int stats_fd = -1;
  const void* api = nullptr;
};

// Takes --stats-fd out of the configuration: the descriptor, -1 when absent; a failure when
// it is not a usable descriptor.
inline Result<int> take_stats_fd(std::string& json) {
  cJSON* root = cJSON_Parse(json.c_str());
  if (!root) return -1;  // the library reports a bad configuration itself
  cJSON* v = cJSON_DetachItemFromObjectCaseSensitive(root, kStatsFdKey);
  Result<int> fd = -1;
  if (v) {
    Status claimed = cJSON_IsNumber(v) && v->valuedouble >= 3 && v->valuedouble <= 65535
                         ? claim_stats_descriptor(static_cast<int>(v->valuedouble))
                         : Status::failure("--stats-fd must be an open descriptor above 2");
    fd = claimed.ok() ? Result<int>(static_cast<int>(v->valuedouble)) : Result<int>(claimed);
    cJSON_Delete(v);
    char* text = cJSON_PrintUnformatted(root);
    if (text) json = text;
    cJSON_free(text);
  }
  cJSON_Delete(root);
  return fd;
}

template <class Handle, class Callbacks>
void on_stats(void* user, const typename InstanceApi<Handle, Callbacks>::Stats* stats) {
  auto* st = static_cast<DaemonState*>(user);
  auto* api = static_cast<const InstanceApi<Handle, Callbacks>*>(st->api);
  char line[2048];
  static constexpr char kHead[] = "{\"stats\":";
  size_t head = sizeof kHead - 1;
  std::memcpy(line, kHead, head);
  size_t n = api->stats_json(stats, line + head, sizeof line - head - 2);
  if (n + head + 2 >= sizeof line) return;
  line[head + n] = '}';
  line[head + n + 1] = '\n';
  write_stats_line(st->stats_fd, line, head + n + 2);
}
inline void on_stopped(void*) {
  raise_stop_signal();  // the instance stopped by itself (handed over): the process ends too
}
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
               const InstanceApi<Handle, Callbacks>& api) {
  const std::vector<CommandLineOption> options = with_common_options(*spec.options);
  auto command_line = build_config_from_args(argc, argv, options, CommandLineSyntax{});
  if (!command_line.ok()) {
    std::fprintf(stderr, "%s: %s\n", spec.program, command_line.message().c_str());
    return 2;
  }
  const CommandLineRequest request = command_line->request;
  std::string json = command_line->json;
  if (request != CommandLineRequest::run) {
    const bool drains = api.drain != nullptr;
    std::string text = request == CommandLineRequest::help ? usage_text(daemon_manual(spec, drains))
                       : request == CommandLineRequest::manpage
                           ? manual_page(daemon_manual(spec, drains))
                           : version_text(spec.program);
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  detail::DaemonState state;
  state.program = spec.program;
  state.api = &api;
  auto stats_fd = detail::take_stats_fd(json);
  if (!stats_fd.ok()) {
    std::fprintf(stderr, "%s: %s\n", spec.program, stats_fd.message().c_str());
    return 2;
  }
  state.stats_fd = stats_fd.value();
  char err[512];
  Handle* instance = api.create(json.c_str(), err, sizeof err);
  if (!instance) {
    std::fprintf(stderr, "%s: %s\n", spec.program, err);
    return 2;
  }
  // Signals are taken by sigwait on this thread, never by a handler inside the instance.
  block_stop_signals();
  Callbacks cb{};
  cb.error = detail::on_fatal_error;
  cb.stopped = detail::on_stopped;
  if (state.stats_fd >= 0) cb.stats = detail::on_stats<Handle, Callbacks>;
  if (api.start(instance, &cb, &state) != 0) {
    std::fprintf(stderr, "%s: cannot start its thread\n", spec.program);
    api.destroy(instance);
    return 1;
  }
  notify_service_manager();
  StopSignal sig;
  while ((sig = wait_for_stop_signal()) == StopSignal::hang_up && spec.hup_starts_successor) {
    Status started = start_successor(argv, state.stats_fd);
    if (started.ok())
      std::fprintf(stderr, "%s: SIGHUP: a successor is starting; it takes over from us\n",
                   spec.program);
    else
      std::fprintf(stderr, "%s: SIGHUP: cannot start a successor (%s); still serving\n",
                   spec.program, started.message().c_str());
  }
  if (sig == StopSignal::terminate && api.drain && !state.failed && api.drain(instance) == 0) {
    std::fprintf(stderr, "%s: SIGTERM: draining (SIGTERM again or SIGINT: stop now)\n",
                 spec.program);
    wait_for_stop_signal();  // the instance stopped by itself (drained), or a second signal
  }
  api.stop(instance);
  api.destroy(instance);
  return state.failed ? 1 : 0;
}

}  // namespace udptun::runtime
