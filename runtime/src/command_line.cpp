#include "udptun/runtime/command_line.hpp"

#include "udptun/runtime/small_file.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace udptun::runtime {

namespace {
struct JsonDeleter {
  void operator()(cJSON* j) const { cJSON_Delete(j); }
};
}  // namespace

bool build_config_from_args(int argc, char** argv, const std::vector<CommandLineOption>& options,
                            const CommandLineSyntax& syntax, std::string& json_out,
                            std::string& error, CommandLineRequest& request) {
  request = CommandLineRequest::run;
  std::unique_ptr<cJSON, JsonDeleter> config(cJSON_CreateObject());
  // --config first, wherever it stands, so flags always override the file.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") != 0) continue;
    if (i + 1 >= argc) {
      error = "--config needs a FILE";
      return false;
    }
    std::string text;
    if (!read_small_file(argv[i + 1], syntax.config_file_limits, text, error)) return false;
    config.reset(cJSON_Parse(text.c_str()));
    if (!config || !cJSON_IsObject(config.get())) {
      error = std::string(argv[i + 1]) + ": not a JSON object";
      return false;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      request = CommandLineRequest::help;
      return true;
    }
    if (arg == "--version") {
      request = CommandLineRequest::version;
      return true;
    }
    if (arg == "--manpage") {
      request = CommandLineRequest::manpage;
      return true;
    }
    if (arg == "--config") {
      ++i;
      continue;
    }
    const CommandLineOption* opt = nullptr;
    for (const auto& o : options) {
      if (arg == o.flag) opt = &o;
    }
    if (!opt && syntax.positional_key && !arg.empty() && arg[0] != '-') {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), syntax.positional_key);
      cJSON_AddStringToObject(config.get(), syntax.positional_key, arg.c_str());
      continue;
    }
    if (!opt) {
      error = "unknown option " + arg + " (see --help)";
      return false;
    }
    if (opt->kind == CommandLineOption::Kind::flag ||
        opt->kind == CommandLineOption::Kind::clear_flag) {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
      cJSON_AddBoolToObject(config.get(), opt->key, opt->kind == CommandLineOption::Kind::flag);
      continue;
    }
    if (opt->kind == CommandLineOption::Kind::preset) {
      cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
      cJSON_AddStringToObject(config.get(), opt->key, opt->value_name);
      continue;
    }
    if (i + 1 >= argc) {
      error = arg + " needs a value (" + opt->value_name + ")";
      return false;
    }
    const char* value = argv[++i];
    switch (opt->kind) {
      case CommandLineOption::Kind::string:
        cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
        cJSON_AddStringToObject(config.get(), opt->key, value);
        break;
      case CommandLineOption::Kind::string_list: {
        cJSON* list = cJSON_GetObjectItemCaseSensitive(config.get(), opt->key);
        if (list && cJSON_IsString(list)) {
          cJSON* arr = cJSON_CreateArray();
          cJSON_AddItemToArray(arr, cJSON_CreateString(list->valuestring));
          cJSON_ReplaceItemInObjectCaseSensitive(config.get(), opt->key, arr);
          list = arr;
        } else if (!list || !cJSON_IsArray(list)) {
          cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
          list = cJSON_AddArrayToObject(config.get(), opt->key);
        }
        cJSON_AddItemToArray(list, cJSON_CreateString(value));
        break;
      }
      case CommandLineOption::Kind::integer_list: {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(value, &end, 10);
        if (errno || !end || *end || *value == '-' || *value == '\0') {
          error = arg + ": not a non-negative integer: " + value;
          return false;
        }
        cJSON* list = cJSON_GetObjectItemCaseSensitive(config.get(), opt->key);
        if (!list || !cJSON_IsArray(list)) {
          cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
          list = cJSON_AddArrayToObject(config.get(), opt->key);
        }
        cJSON_AddItemToArray(list, cJSON_CreateNumber(static_cast<double>(v)));
        break;
      }
      case CommandLineOption::Kind::integer: {
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(value, &end, 10);
        if (errno || !end || *end || *value == '-' || *value == '\0') {
          error = arg + ": not a non-negative integer: " + value;
          return false;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(config.get(), opt->key);
        cJSON_AddNumberToObject(config.get(), opt->key, static_cast<double>(v));
        break;
      }
      case CommandLineOption::Kind::flag:
      case CommandLineOption::Kind::clear_flag:
      case CommandLineOption::Kind::preset:
        break;
    }
  }
  char* text = cJSON_PrintUnformatted(config.get());
  json_out = text ? text : "{}";
  cJSON_free(text);
  return true;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void raise_stop_signal() {
  kill(getpid(), SIGTERM);
}

std::string start_successor(char** argv, int keep_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 onto itself clears close-on-exec in the child only.
  if (keep_fd >= 0) posix_spawn_file_actions_adddup2(&actions, keep_fd, keep_fd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  // /proc/self/exe: the binary on disk now (an upgrade replaced it), whatever argv[0] says.
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? std::string() : std::string(std::strerror(rc));
}

void notify_service_manager() {
  const char* path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof sa.sun_path) return;
  std::memcpy(sa.sun_path, path, len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';  // an abstract socket
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  std::string msg = "READY=1\nMAINPID=" + std::to_string(getpid()) + "\n";
  sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa),
         static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

}  // namespace udptun::runtime
