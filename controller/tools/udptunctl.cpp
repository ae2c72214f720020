// udptunctl: a command line over proxy-controller's socket.
//   udptunctl [--socket PATH] [--json] status | stats [NAME] | start NAME [-- ARGV...] | stop NAME
//   |
//             restart NAME | configure-routing --proxy-ip IP [--proxy-ip IP] --router-ip IP
//             [--tun NAME] [--mtu N] | reset-routing | events
// Exit codes: 0 done, 1 the controller refused (its message on stderr), 2 bad usage,
// 3 the controller cannot be reached.
#include <cJSON.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "udptun/controller.h"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/program_manual.hpp"
#include "udptunctl_top.hpp"

namespace {

udptun::runtime::ProgramManual manual() {
  udptun::runtime::ProgramManual m;
  m.program = "udptunctl";
  m.purpose = "command line over udptun's proxy-controller socket";
  m.synopsis = "[--socket PATH] [--json] COMMAND [ARGS]";
  m.description =
      "Sends one command to proxy-controller and prints its reply: the services' state, "
      "counters and routing, or the outcome of a start, stop or routing change. Root may do "
      "everything; members of the controller's --socket-group may route and start or stop "
      "the services root declared, never choose what runs.";
  m.sections = {
      {"commands",
       "",
       {{"status",
         "services (state, pid, uptime, restarts, session, flows, bytes, drops) and routing"},
        {"stats [NAME]", "every counter of our services"},
        {"start NAME",
         "start a service declared in the controller's configuration (or start one again)"},
        {"start NAME -- ARGS...", "tun2socks, udp-local, udp-server with these flags"},
        {"start NAME --config CONFIG.json", "... or with this JSON configuration"},
        {"start NAME -- /PROGRAM ARGS...", "an ad hoc command (root's clients only)"},
        {"start NAME --inproc CONFIG.json",
         "run tun2socks, udp-local or udp-server inside the controller (root's clients only)"},
        {"stop NAME | restart NAME", "stop a service, or stop and start it"},
        {"configure-routing --proxy-ip IP [--proxy-ip IP] --router-ip IP [--tun NAME] [--mtu N]",
         "create the TUN device and send the machine's traffic into it, except to the proxies"},
        {"reset-routing", "undo configure-routing exactly"},
        {"events", "print events (services, routing, connection status) until interrupted"},
        {"top",
         "a live view: every service's state, session, link round trip, flows, datagrams "
         "and bytes per second each way, drops by reason; refreshed every second, q quits"}},
       /*in_help=*/true},
      {"EXIT STATUS",
       "0 done, 1 the controller refused (its message on standard error), 2 bad usage, 3 the "
       "controller cannot be reached.",
       {}},
      {"SEE ALSO", "proxy-controller(1); /usr/share/doc/udptun/CONTROL-API.md.", {}},
  };
  m.general_options = {
      {"--socket PATH", "the control socket (default " PROXY_CONTROLLER_DEFAULT_SOCKET ")"},
      {"--json", "print the controller's replies as they are"},
  };
  for (const auto& o : udptun::runtime::general_command_line_options(/*with_config=*/false))
    m.general_options.push_back(o);
  return m;
}

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One reply line (the controller ends each reply with a newline).
bool read_line(int fd, std::string& pending, std::string& line) {
  while (pending.find('\n') == std::string::npos) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, static_cast<size_t>(n));
  }
  size_t nl = pending.find('\n');
  line = pending.substr(0, nl);
  pending.erase(0, nl + 1);
  return true;
}

std::string duration(double ms) {
  long s = static_cast<long>(ms / 1000);
  char b[32];
  if (s >= 3600)
    std::snprintf(b, sizeof b, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(b, sizeof b, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(b, sizeof b, "%lds", s);
  return b;
}

// Tolerant readers: a reply missing a key prints "-" rather than crashing the CLI.
const char* text_of(const cJSON* o, const char* key, const char* fallback = "-") {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : fallback;
}
double number_of(const cJSON* o, const char* key, double fallback = 0) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}
bool has(const cJSON* o, const char* key) {
  return cJSON_GetObjectItemCaseSensitive(o, key) != nullptr;
}

std::string bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char out[32];
  std::snprintf(out, sizeof out, u ? "%.1f%s" : "%.0f%s", b, units[u]);
  return out;
}

// The session/flows/bytes columns, from whichever of our daemons' counters are there.
struct Counters {
  std::string session = "-", flows = "-", up = "-", down = "-", drops = "-";
};
Counters counters_of(const cJSON* stats) {
  Counters c;
  if (!cJSON_IsObject(stats)) return c;
  double drops = 0;
  const cJSON* v;
  cJSON_ArrayForEach(v, stats) {
    if (std::strncmp(v->string, "drops_", 6) == 0 ||
        std::strcmp(v->string, "packets_dropped") == 0 ||
        std::strcmp(v->string, "udp_dropped") == 0)
      drops += v->valuedouble;
  }
  c.drops = std::to_string(static_cast<long long>(drops));
  if (has(stats, "link_up")) {  // udp-local
    c.session = number_of(stats, "link_up") ? "up" : "down";
    c.flows = std::to_string(static_cast<long long>(number_of(stats, "flows")));
    c.up = bytes(number_of(stats, "bytes_up"));
    c.down = bytes(number_of(stats, "bytes_down"));
  } else if (has(stats, "sessions_attached")) {  // udp-server
    c.session = std::to_string(static_cast<long long>(number_of(stats, "sessions_attached"))) +
                "/" + std::to_string(static_cast<long long>(number_of(stats, "sessions")));
    c.flows = std::to_string(static_cast<long long>(number_of(stats, "flows")));
    c.up = bytes(number_of(stats, "bytes_to_targets"));
    c.down = bytes(number_of(stats, "bytes_from_targets"));
  } else if (has(stats, "tcp_connections")) {  // tun2socks
    if (has(stats, "udp_tunnel_up") && number_of(stats, "udp_tunnel_up")) c.session = "up";
    // TCP connections + UDP flows (of the in-process udp-local).
    c.flows = std::to_string(static_cast<long long>(number_of(stats, "tcp_connections"))) + "t+" +
              std::to_string(static_cast<long long>(number_of(stats, "udp_flows"))) + "u";
    c.up = bytes(number_of(stats, "tcp_bytes_up"));
    c.down = bytes(number_of(stats, "tcp_bytes_down"));
  }
  return c;
}

const char* connection_status_name(double s) {
  return s == 0 ? "connected" : s == 1 ? "disconnected" : "reconnecting";
}

void print_status(cJSON* reply) {
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(reply, "result");
  const cJSON* list = cJSON_GetObjectItemCaseSensitive(result, "services");
  std::printf("%-14s %-10s %7s %8s %4s  %-8s %-9s %9s %9s %6s  %s\n", "NAME", "STATE", "PID",
              "UPTIME", "RST", "SESSION", "FLOWS", "UP", "DOWN", "DROPS", "LAST EXIT");
  const cJSON* s;
  cJSON_ArrayForEach(s, list) {
    int pid = static_cast<int>(number_of(s, "pid"));
    bool inproc = std::strcmp(text_of(s, "mode"), "inproc") == 0;
    bool up = std::strcmp(text_of(s, "state"), "running") == 0;
    Counters c = counters_of(cJSON_GetObjectItemCaseSensitive(s, "stats"));
    std::printf("%-14s %-10s %7s %8s %4d  %-8s %-9s %9s %9s %6s  %s\n", text_of(s, "name"),
                text_of(s, "state"),
                inproc ? "inproc"
                : pid  ? std::to_string(pid).c_str()
                       : "-",
                up ? duration(number_of(s, "uptimeMs")).c_str() : "-",
                static_cast<int>(number_of(s, "restarts")), c.session.c_str(), c.flows.c_str(),
                c.up.c_str(), c.down.c_str(), c.drops.c_str(), text_of(s, "lastExit", ""));
  }
  const cJSON* routing = cJSON_GetObjectItemCaseSensitive(result, "routing");
  if (routing) {
    std::printf(
        "routing: through %s (%s), proxy via %s dev %s, %s\n", text_of(routing, "tun"),
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(routing, "ipv6")) ? "IPv4+IPv6" : "IPv4",
        *text_of(routing, "gateway") ? text_of(routing, "gateway") : "(on-link)",
        text_of(routing, "gatewayDev"),
        connection_status_name(number_of(routing, "connectionStatus")));
  } else {
    std::printf("routing: not configured\n");
  }
}

void print_stats(cJSON* reply) {
  const cJSON* list = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(reply, "result"), "services");
  const cJSON* s;
  cJSON_ArrayForEach(s, list) {
    std::printf("%s (%s)\n", text_of(s, "name"), text_of(s, "state"));
    const cJSON* v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(s, "stats")) {
      std::printf("  %-24s %.0f\n", v->string, v->valuedouble);
    }
  }
}

// Each command's request: its parameters from the words after it, or why they are wrong.
using Parameters = udptun::Status (*)(const std::vector<std::string>& args, cJSON* params);

udptun::Status no_parameters(const std::vector<std::string>& args, cJSON*) {
  return args.size() > 1 ? udptun::Status::failure("too many arguments") : udptun::Status();
}

udptun::Status stats_parameters(const std::vector<std::string>& args, cJSON* params) {
  if (args.size() > 2) return udptun::Status::failure("too many arguments");
  if (args.size() == 2) cJSON_AddStringToObject(params, "name", args[1].c_str());
  return udptun::Status::success();
}

udptun::Status service_parameters(const std::vector<std::string>& args, cJSON* params) {
  if (args.size() < 2) return udptun::Status::failure("which service?");
  const std::string& cmd = args[0];
  cJSON_AddStringToObject(params, "name", args[1].c_str());
  if (cmd != "start")
    return args.size() > 2 ? udptun::Status::failure("too many arguments") : udptun::Status();
  if (args.size() >= 3 && (args[2] == "--inproc" || args[2] == "--config")) {
    // The service's JSON configuration file goes in the request.
    if (args.size() != 4)
      return udptun::Status::failure("start NAME --inproc|--config CONFIG.json");
    std::ifstream in(args[3]);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    cJSON* config = in ? cJSON_Parse(text.c_str()) : nullptr;
    if (!cJSON_IsObject(config)) {
      cJSON_Delete(config);
      return udptun::Status::failure("cannot read a JSON object from " + args[3]);
    }
    if (args[2] == "--inproc") cJSON_AddStringToObject(params, "mode", "inproc");
    cJSON_AddItemToObject(params, "config", config);
  } else if (args.size() > 2) {
    bool builtin = args[1] == "tun2socks" || args[1] == "udp-local" || args[1] == "udp-server";
    cJSON* list = cJSON_AddArrayToObject(params, builtin ? "args" : "argv");
    size_t from = args[2] == "--" ? 3 : 2;
    for (size_t i = from; i < args.size(); ++i)
      cJSON_AddItemToArray(list, cJSON_CreateString(args[i].c_str()));
  }
  return udptun::Status::success();
}

udptun::Status routing_parameters(const std::vector<std::string>& args, cJSON* params) {
  cJSON* proxies = cJSON_AddArrayToObject(params, "proxyIp");
  for (size_t i = 1; i < args.size(); i += 2) {
    if (i + 1 >= args.size()) return udptun::Status::failure("every option needs a value");
    const std::string& o = args[i];
    const std::string& v = args[i + 1];
    if (o == "--proxy-ip")
      cJSON_AddItemToArray(proxies, cJSON_CreateString(v.c_str()));
    else if (o == "--router-ip")
      cJSON_AddStringToObject(params, "routerIp", v.c_str());
    else if (o == "--tun")
      cJSON_AddStringToObject(params, "tunName", v.c_str());
    else if (o == "--mtu")
      cJSON_AddNumberToObject(params, "mtu", std::atof(v.c_str()));
    else
      return udptun::Status::failure("unknown option " + o);
  }
  return udptun::Status::success();
}

void print_ok(cJSON*) {
  std::puts("ok");
}

struct Command {
  const char* name;
  const char* action;  // the controller's
  Parameters parameters;
  void (*print)(cJSON* reply);  // the reply of a successful request; nullptr: events follow
};

const Command kCommands[] = {
    {"status", "status", no_parameters, print_status},
    {"stats", "stats", stats_parameters, print_stats},
    {"start", "start", service_parameters, print_ok},
    {"stop", "stop", service_parameters, print_ok},
    {"restart", "restart", service_parameters, print_ok},
    {"configure-routing", "configureRouting", routing_parameters, print_ok},
    {"reset-routing", "resetRouting", no_parameters, print_ok},
    {"events", "subscribe", no_parameters, nullptr},
};

// The request line for `args` (the command and its words), or why they are wrong.
udptun::Result<std::string> build_request(const Command& command,
                                          const std::vector<std::string>& args) {
  cJSON* req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "action", command.action);
  cJSON* params = cJSON_AddObjectToObject(req, "parameters");
  udptun::Status built = command.parameters(args, params);
  char* text = built.ok() ? cJSON_PrintUnformatted(req) : nullptr;
  std::string request = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(req);
  if (!built.ok()) return built;
  return request;
}

void print_events(int fd, std::string& pending, bool json) {
  std::string line;
  while (read_line(fd, pending, line)) {
    if (json) {
      std::puts(line.c_str());
    } else if (cJSON* e = cJSON_Parse(line.c_str())) {
      if (std::strcmp(text_of(e, "action"), "statusChanged") == 0) {
        std::printf("%-20s %-16s %s\n", "status-changed", "-",
                    connection_status_name(number_of(e, "connectionStatus")));
      } else {
        std::printf("%-20s %-16s %s\n", text_of(e, "event"), text_of(e, "service"),
                    text_of(e, "detail"));
      }
      cJSON_Delete(e);
    }
    std::fflush(stdout);
  }
}

// Sends the request, prints the reply (and then the events, for "events"). The exit code.
int exchange(const std::string& socket_path, const Command& command, const std::string& request,
             bool json) {
  int fd = connect_to(socket_path);
  if (fd < 0) {
    std::fprintf(stderr, "udptunctl: cannot reach the controller at %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 3;
  }
  std::string pending, line;
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()) ||
      !read_line(fd, pending, line)) {
    std::fprintf(stderr, "udptunctl: the controller closed the connection\n");
    close(fd);
    return 3;
  }
  cJSON* reply = cJSON_Parse(line.c_str());
  int code = reply ? static_cast<int>(number_of(reply, "statusCode", 1)) : 1;
  if (json) {
    std::puts(line.c_str());
  } else if (code != 0) {
    cJSON* e = cJSON_GetObjectItem(reply, "errorMessage");
    std::fprintf(stderr, "udptunctl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
  } else if (command.print) {
    command.print(reply);
  }
  cJSON_Delete(reply);
  if (!command.print && code == 0) print_events(fd, pending, json);
  close(fd);
  return code == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = PROXY_CONTROLLER_DEFAULT_SOCKET;
  bool json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc && args.empty()) {
      socket_path = argv[++i];
    } else if (a == "--json" && args.empty()) {
      json = true;
    } else if ((a == "--help" || a == "-h") && args.empty()) {
      std::fputs(usage_text(manual()).c_str(), stdout);
      return 0;
    } else if (a == "--version" && args.empty()) {
      std::fputs(udptun::runtime::version_text("udptunctl").c_str(), stdout);
      return 0;
    } else if (a == "--manpage" && args.empty()) {
      std::fputs(manual_page(manual()).c_str(), stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  auto usage = [&](const std::string& why) {
    if (!why.empty()) std::fprintf(stderr, "udptunctl: %s\n", why.c_str());
    std::fputs(usage_text(manual()).c_str(), stderr);
    return 2;
  };
  if (args.empty()) return usage("");
  if (args[0] == "top") {
    if (args.size() > 1) return usage("top takes no arguments");
    return udptun::ctl::run_top(socket_path);
  }
  for (const Command& command : kCommands) {
    if (args[0] != command.name) continue;
    auto request = build_request(command, args);
    if (!request.ok()) return usage(request.message());
    return exchange(socket_path, command, request.value(), json);
  }
  return usage("unknown command " + args[0]);
}
