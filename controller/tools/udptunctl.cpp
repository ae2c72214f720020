// udptunctl: a command line over proxy-controller's socket.
//   udptunctl [--socket PATH] [--json] status | start NAME [-- ARGV...] | stop NAME |
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
#include <string>
#include <vector>

namespace {

const char* kUsage =
    "usage: udptunctl [--socket PATH] [--json] COMMAND\n"
    "  status                                   services, their state, pid, uptime, restarts\n"
    "  start NAME [-- PROGRAM ARGS...]          start a service (tun2socks, udp-local, udp-server\n"
    "                                           take ARGS; anything else needs an absolute "
    "PROGRAM)\n"
    "  stop NAME | restart NAME\n"
    "  configure-routing --proxy-ip IP [--proxy-ip IP] --router-ip IP [--tun NAME] [--mtu N]\n"
    "  reset-routing\n"
    "  events                                   print service events until interrupted\n"
    "  --socket PATH   the control socket (default /var/run/proxy_controller_domain_socket)\n"
    "  --json          print the controller's replies as they are\n";

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

void print_status(cJSON* reply) {
  cJSON* list = cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "result"), "services");
  std::printf("%-16s %-11s %8s %9s %9s  %s\n", "NAME", "STATE", "PID", "UPTIME", "RESTARTS",
              "LAST EXIT");
  cJSON* s;
  cJSON_ArrayForEach(s, list) {
    int pid = cJSON_GetObjectItem(s, "pid")->valueint;
    std::printf("%-16s %-11s %8s %9s %9d  %s\n", cJSON_GetObjectItem(s, "name")->valuestring,
                cJSON_GetObjectItem(s, "state")->valuestring,
                pid ? std::to_string(pid).c_str() : "-",
                pid ? duration(cJSON_GetObjectItem(s, "uptimeMs")->valuedouble).c_str() : "-",
                cJSON_GetObjectItem(s, "restarts")->valueint,
                cJSON_GetObjectItem(s, "lastExit")->valuestring);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = "/var/run/proxy_controller_domain_socket";
  bool json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc && args.empty()) {
      socket_path = argv[++i];
    } else if (a == "--json" && args.empty()) {
      json = true;
    } else if ((a == "--help" || a == "-h") && args.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& cmd = args[0];
  cJSON* req = cJSON_CreateObject();
  cJSON* params = cJSON_CreateObject();
  auto usage = [&](const char* why) {
    std::fprintf(stderr, "udptunctl: %s\n%s", why, kUsage);
    cJSON_Delete(req);
    cJSON_Delete(params);
    return 2;
  };
  if (cmd == "status") {
    cJSON_AddStringToObject(req, "action", "status");
  } else if (cmd == "start" || cmd == "stop" || cmd == "restart") {
    if (args.size() < 2) return usage("which service?");
    cJSON_AddStringToObject(req, "action", cmd.c_str());
    cJSON_AddStringToObject(params, "name", args[1].c_str());
    if (cmd == "start") {
      bool builtin = args[1] == "tun2socks" || args[1] == "udp-local" || args[1] == "udp-server";
      cJSON* list = cJSON_AddArrayToObject(params, builtin ? "args" : "argv");
      size_t from = args.size() > 2 && args[2] == "--" ? 3 : 2;
      for (size_t i = from; i < args.size(); ++i)
        cJSON_AddItemToArray(list, cJSON_CreateString(args[i].c_str()));
    } else if (args.size() > 2) {
      return usage("too many arguments");
    }
  } else if (cmd == "configure-routing") {
    cJSON_AddStringToObject(req, "action", "configureRouting");
    cJSON* proxies = cJSON_CreateArray();
    for (size_t i = 1; i < args.size(); ++i) {
      if (i + 1 >= args.size()) {
        cJSON_Delete(proxies);
        return usage("every option needs a value");
      }
      const std::string& o = args[i];
      const std::string& v = args[++i];
      if (o == "--proxy-ip")
        cJSON_AddItemToArray(proxies, cJSON_CreateString(v.c_str()));
      else if (o == "--router-ip")
        cJSON_AddStringToObject(params, "routerIp", v.c_str());
      else if (o == "--tun")
        cJSON_AddStringToObject(params, "tunName", v.c_str());
      else if (o == "--mtu")
        cJSON_AddNumberToObject(params, "mtu", std::atof(v.c_str()));
      else {
        cJSON_Delete(proxies);
        return usage(("unknown option " + o).c_str());
      }
    }
    cJSON_AddItemToObject(params, "proxyIp", proxies);
  } else if (cmd == "reset-routing") {
    cJSON_AddStringToObject(req, "action", "resetRouting");
  } else if (cmd == "events") {
    cJSON_AddStringToObject(req, "action", "subscribe");
  } else {
    return usage(("unknown command " + cmd).c_str());
  }
  cJSON_AddItemToObject(req, "parameters", params);
  char* text = cJSON_PrintUnformatted(req);
  std::string request = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(req);

  int fd = connect_to(socket_path);
  if (fd < 0) {
    std::fprintf(stderr, "udptunctl: cannot reach the controller at %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 3;
  }
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 3;
  std::string pending, line;
  if (!read_line(fd, pending, line)) {
    std::fprintf(stderr, "udptunctl: the controller closed the connection\n");
    return 3;
  }
  cJSON* reply = cJSON_Parse(line.c_str());
  int code = reply ? cJSON_GetObjectItem(reply, "statusCode")->valueint : 1;
  if (json) {
    std::puts(line.c_str());
  } else if (code != 0) {
    cJSON* e = cJSON_GetObjectItem(reply, "errorMessage");
    std::fprintf(stderr, "udptunctl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
  } else if (cmd == "status") {
    print_status(reply);
  } else if (cmd != "events") {
    std::puts("ok");
  }
  cJSON_Delete(reply);
  if (cmd == "events" && code == 0) {
    while (read_line(fd, pending, line)) {
      if (json) {
        std::puts(line.c_str());
      } else if (cJSON* e = cJSON_Parse(line.c_str())) {
        std::printf("%-20s %-16s %s\n", cJSON_GetObjectItem(e, "event")->valuestring,
                    cJSON_GetObjectItem(e, "service")->valuestring,
                    cJSON_GetObjectItem(e, "detail")->valuestring);
        cJSON_Delete(e);
      }
      std::fflush(stdout);
    }
  }
  close(fd);
  return code == 0 ? 0 : 1;
}
