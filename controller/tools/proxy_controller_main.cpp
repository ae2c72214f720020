// proxy-controller [SOCKET_PATH] [-d] [--config FILE] [--socket PATH] [--socket-group GROUP]
//                  [--state-dir DIR] [--service-user USER]
// Started like the ProxyController it replaces: `proxy-controller
// /var/run/proxy_controller_domain_socket -d`.
#include <cJSON.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "udptun/controller.h"
#include "udptun/runtime/command_line.hpp"
#include "udptun/runtime/small_file.hpp"

static const char* kUsage =
    "usage: proxy-controller [SOCKET_PATH] [-d] [--config FILE] [--socket PATH] "
    "[--socket-group GROUP] [--state-dir DIR] [--service-user USER]\n"
    "Takes JSON commands on a Unix domain socket (docs/CONTROL-API.md) and supervises the\n"
    "services it starts.\n\n"
    "  SOCKET_PATH, --socket PATH   the control socket (default " PROXY_CONTROLLER_DEFAULT_SOCKET
    ")\n"
    "  -d                           log at debug level\n"
    "  --config FILE                the controller's JSON configuration (e.g.\n"
    "                               /etc/udptun/controller.json: the services it may run);\n"
    "                               must belong to root and be writable by root only\n"
    "  --socket-group GROUP         make the socket 0660 for this group (default 0600)\n"
    "  --state-dir DIR              where state is kept (default /var/lib/udptun)\n"
    "  --service-user USER          services run as USER (default udptun, else nobody)\n"
    "  --help                       this text\n";

int main(int argc, char** argv) {
  cJSON* config = cJSON_CreateObject();
  int rc = 0;
  // The file first, wherever --config stands: flags override it.
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--config") != 0) continue;
    std::string text, error;
    udptun::runtime::FileLimits limits;
    limits.owner_only_writable = true;  // it says what runs as whom: root's decision alone
    cJSON* file = nullptr;
    if (udptun::runtime::read_small_file(argv[i + 1], limits, text, error)) {
      file = cJSON_Parse(text.c_str());
      if (!cJSON_IsObject(file)) error = std::string(argv[i + 1]) + ": not a JSON object";
    }
    if (!cJSON_IsObject(file)) {
      std::fprintf(stderr, "proxy-controller: %s\n", error.c_str());
      cJSON_Delete(file);
      cJSON_Delete(config);
      return 2;
    }
    cJSON_Delete(config);
    config = file;
  }
  for (int i = 1; i < argc && rc == 0; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag, const char* key) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "proxy-controller: %s needs a value\n", flag);
        rc = 2;
        return;
      }
      cJSON_DeleteItemFromObject(config, key);
      cJSON_AddStringToObject(config, key, argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      cJSON_Delete(config);
      return 0;
    } else if (a == "-d") {
      cJSON_DeleteItemFromObject(config, "log_level");
      cJSON_AddStringToObject(config, "log_level", "debug");
    } else if (a == "--socket") {
      value("--socket", "socket");
    } else if (a == "--socket-group") {
      value("--socket-group", "socket_group");
    } else if (a == "--state-dir") {
      value("--state-dir", "state_dir");
    } else if (a == "--service-user") {
      value("--service-user", "service_user");
    } else if (a == "--config") {
      ++i;  // read above
    } else if (!a.empty() && a[0] != '-') {
      cJSON_DeleteItemFromObject(config, "socket");
      cJSON_AddStringToObject(config, "socket", a.c_str());
    } else {
      std::fprintf(stderr, "proxy-controller: unknown option %s (see --help)\n", a.c_str());
      rc = 2;
    }
  }
  char* json = cJSON_PrintUnformatted(config);
  cJSON_Delete(config);
  if (rc != 0) {
    cJSON_free(json);
    return rc;
  }
  char err[512];
  proxy_controller_t* controller = proxy_controller_new(json, err, sizeof err);
  cJSON_free(json);
  if (!controller) {
    std::fprintf(stderr, "proxy-controller: %s\n", err);
    return 2;
  }
  // Signals are taken by sigwait on this thread, never by a handler inside the controller.
  udptun::runtime::block_stop_signals();
  std::atomic<bool> failed{false};
  proxy_controller_callbacks cb{};
  cb.error = [](void* user, const char*) {
    static_cast<std::atomic<bool>*>(user)->store(true);
    udptun::runtime::raise_stop_signal();
  };
  if (proxy_controller_start(controller, &cb, &failed) != 0) {
    std::fprintf(stderr, "proxy-controller: cannot start its thread\n");
    proxy_controller_free(controller);
    return 1;
  }
  udptun::runtime::wait_for_stop_signal();
  proxy_controller_stop(controller);
  proxy_controller_free(controller);
  return failed ? 1 : 0;
}
