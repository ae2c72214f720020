// Talking to proxy-controller from a test the way GUI clients do: one JSON object per request
// with no trailing newline, one reply object per line. And the controller as a process.
#pragma once

#include <cJSON.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness.hpp"

namespace harness {

struct Client {
  int fd = -1;
  std::string pending;
  explicit Client(const std::string& path) {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      fd = -1;
    }
  }
  ~Client() {
    if (fd >= 0) close(fd);
  }
  void send(const std::string& s) { (void)!write(fd, s.data(), s.size()); }  // no newline
  // The next reply object (they arrive one per line).
  cJSON* next(int timeout_ms = 3000) {
    while (pending.find('\n') == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return nullptr;
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return nullptr;
      pending.append(buf, static_cast<size_t>(n));
    }
    size_t nl = pending.find('\n');
    cJSON* j = cJSON_Parse(pending.substr(0, nl).c_str());
    pending.erase(0, nl + 1);
    return j;
  }
  // Sends a request and returns its reply.
  cJSON* ask(const std::string& req) {
    send(req);
    return next();
  }
};

inline int code_of(cJSON* j) {
  return cJSON_GetObjectItem(j, "statusCode")->valueint;
}
inline std::string error_of(cJSON* j) {
  cJSON* e = cJSON_GetObjectItem(j, "errorMessage");
  return cJSON_IsString(e) ? e->valuestring : "";
}

// The named service's field from a status reply.
inline cJSON* service(cJSON* status, const char* name) {
  cJSON* list = cJSON_GetObjectItem(cJSON_GetObjectItem(status, "result"), "services");
  cJSON* s;
  cJSON_ArrayForEach(s, list) {
    if (std::string(cJSON_GetObjectItem(s, "name")->valuestring) == name) return s;
  }
  return nullptr;
}

struct ControllerProcess {
  harness::TempDir dir;
  std::string socket = dir.path() + "/control.sock";
  std::string state = dir.path() + "/state";
  harness::Process proc;
  explicit ControllerProcess(std::vector<std::string> extra = {})
      : proc(UDPTUN_PROXY_CONTROLLER_BIN, args(extra), dir.path() + "/controller.log") {
    start();
  }
  std::vector<std::string> args(const std::vector<std::string>& extra) const {
    std::vector<std::string> a = {socket, "-d", "--state-dir", state};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  bool start() {
    unlink(socket.c_str());
    return proc.start() &&
           harness::eventually([&] { return access(socket.c_str(), F_OK) == 0; }, 5000);
  }
};

}  // namespace harness
