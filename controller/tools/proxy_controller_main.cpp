// proxy-controller [SOCKET_PATH] [-d] [--config FILE] [--socket PATH] [--socket-group GROUP]
//                  [--state-dir DIR] [--service-user USER]
// Started like the ProxyController it replaces: `proxy-controller
// /var/run/proxy_controller_domain_socket -d`.
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "udptun/controller.h"
#include "udptun/controller_options.hpp"
#include "udptun/runtime/command_line.hpp"
#include "udptun/runtime/process_control.hpp"
#include "udptun/runtime/program_manual.hpp"

namespace {

using udptun::runtime::CommandLineOption;
using Kind = CommandLineOption::Kind;

// The library's options, and -d, which the ProxyController it replaces took.
std::vector<CommandLineOption> options() {
  std::vector<CommandLineOption> all = udptun::controller::describe_options();
  all.insert(all.begin() + 1, {"-d", "log_level", Kind::preset, "debug", "log at debug level"});
  return all;
}

udptun::runtime::ProgramManual manual() {
  udptun::runtime::ProgramManual m;
  m.program = "proxy-controller";
  m.purpose = "udptun's root daemon: JSON control socket, TUN device and routes, services";
  m.synopsis = "[SOCKET_PATH] [OPTIONS]";
  m.description =
      "Takes JSON commands on a Unix domain socket (see CONTROL-API.md) from root and, with "
      "--socket-group, from that group: it creates the TUN device and the routes that send "
      "the machine's traffic into it, and starts, supervises and reports the services "
      "(tun2socks, udp-local, udp-server, ss-local, ss-tunnel) its configuration declares.\n\n"
      "It runs as root; the services it starts never do. Which programs may run, with which "
      "arguments and as whom, is root's decision alone: the configuration file must belong to "
      "root and be writable by root only. Clients start and stop declared services by name.";
  m.options = options();
  m.general_options = udptun::runtime::general_command_line_options();
  m.general_options[0].text =
      "the controller's JSON configuration, e.g. /etc/udptun/controller.json: the services "
      "it may run; must belong to root and be writable by root only. Flags override it";
  m.sections = {
      {"EXAMPLES",
       "As the shipped systemd unit starts it:\n\n"
       "  proxy-controller /run/proxy_controller_domain_socket \\\n"
       "      --state-dir /var/lib/udptun --config /etc/udptun/controller.json\n\n"
       "Then, as root: udptunctl configure-routing --proxy-ip 203.0.113.10 --router-ip "
       "10.0.85.1 && udptunctl start tun2socks.",
       {}},
      {"SIGNALS",
       "SIGTERM and SIGINT stop the services and restore the routes. After a crash the next "
       "start restores the routes from its journal and starts again the services that were "
       "running.",
       {}},
      {"FILES",
       "/etc/udptun/controller.json (the services it may run), /var/lib/udptun (its journal "
       "and the services' state directories), " PROXY_CONTROLLER_DEFAULT_SOCKET
       " (the default socket).",
       {}},
      {"EXIT STATUS",
       "0 after a clean stop, 1 after a fatal error, 2 for a bad command line or "
       "configuration.",
       {}},
      {"SEE ALSO",
       "udptunctl(1), tun2socks(1), udp-local(1), udp-server(1); "
       "/usr/share/doc/udptun/CONTROL-API.md.",
       {}},
  };
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  udptun::runtime::CommandLineSyntax syntax;
  syntax.positional_key = "socket";
  syntax.config_file_limits.owner_only_writable = true;  // it says what runs as whom
  auto command_line = udptun::runtime::build_config_from_args(argc, argv, options(), syntax);
  if (!command_line.ok()) {
    std::fprintf(stderr, "proxy-controller: %s\n", command_line.message().c_str());
    return 2;
  }
  const auto request = command_line->request;
  const std::string& json = command_line->json;
  if (request != udptun::runtime::CommandLineRequest::run) {
    std::string text = request == udptun::runtime::CommandLineRequest::help ? usage_text(manual())
                       : request == udptun::runtime::CommandLineRequest::manpage
                           ? manual_page(manual())
                           : udptun::runtime::version_text("proxy-controller");
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  char err[512];
  proxy_controller_t* controller = proxy_controller_new(json.c_str(), err, sizeof err);
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
