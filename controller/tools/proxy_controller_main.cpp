// proxy-controller [SOCKET_PATH] [-d] [--socket PATH] [--socket-group GROUP] [--state-dir DIR]
// Started like the ProxyController it replaces: `proxy-controller
// /var/run/proxy_controller_domain_socket -d`.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>

#include "controller.hpp"
#include "udptun/runtime/command_line.hpp"

static const char* kUsage =
    "usage: proxy-controller [SOCKET_PATH] [-d] [--socket PATH] [--socket-group GROUP] "
    "[--state-dir DIR]\n"
    "Takes JSON commands on a Unix domain socket (docs/CONTROL-API.md) and supervises the\n"
    "services it starts.\n\n"
    "  SOCKET_PATH, --socket PATH   the control socket (default "
    "/var/run/proxy_controller_domain_socket)\n"
    "  -d                           log at debug level\n"
    "  --socket-group GROUP         make the socket 0660 for this group (default 0600)\n"
    "  --state-dir DIR              where state is kept (default /var/lib/udptun)\n"
    "  --help                       this text\n";

int main(int argc, char** argv) {
  udptun::controller::ControllerConfig cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "proxy-controller: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "-d") {
      cfg.log_level = udptun::runtime::LogLevel::debug;
    } else if (a == "--socket") {
      cfg.socket_path = value("--socket");
    } else if (a == "--socket-group") {
      cfg.socket_group = value("--socket-group");
    } else if (a == "--state-dir") {
      cfg.state_dir = value("--state-dir");
    } else if (!a.empty() && a[0] != '-') {
      cfg.socket_path = a;
    } else {
      std::fprintf(stderr, "proxy-controller: unknown option %s (see --help)\n", a.c_str());
      return 2;
    }
  }
  udptun::runtime::block_stop_signals();
  std::atomic<bool> failed{false};
  cfg.on_fatal = [&failed](const std::string&) {
    failed = true;
    udptun::runtime::raise_stop_signal();
  };
  udptun::controller::Controller controller(cfg);
  if (controller.start() != 0) {
    std::fprintf(stderr, "proxy-controller: cannot start its thread\n");
    return 1;
  }
  udptun::runtime::wait_for_stop_signal();
  controller.stop();
  return failed ? 1 : 0;
}
