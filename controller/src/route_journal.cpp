#include "route_journal.hpp"

#include <cJSON.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "udptun/runtime/file_reader.hpp"

namespace udptun::controller {

bool RouteJournal::save(const RoutingState& s, std::string& error) {
  cJSON* j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "tun", s.tun_name.c_str());
  cJSON_AddBoolToObject(j, "tunCreated", s.tun_created);
  cJSON_AddStringToObject(j, "gateway", s.gateway.c_str());
  cJSON_AddStringToObject(j, "gatewayDev", s.gateway_dev.c_str());
  cJSON_AddBoolToObject(j, "splitDefault", s.split_default);
  cJSON_AddStringToObject(j, "gateway6", s.gateway6.c_str());
  cJSON_AddStringToObject(j, "gateway6Dev", s.gateway6_dev.c_str());
  cJSON_AddBoolToObject(j, "splitDefault6", s.split_default6);
  cJSON* routes = cJSON_AddArrayToObject(j, "proxyRoutes");
  for (const auto& r : s.proxy_routes) cJSON_AddItemToArray(routes, cJSON_CreateString(r.c_str()));
  cJSON* guards = cJSON_AddArrayToObject(j, "proxyGuards");
  for (const auto& r : s.proxy_guards) cJSON_AddItemToArray(guards, cJSON_CreateString(r.c_str()));
  char* text = cJSON_Print(j);
  std::string body = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(j);
  // A fresh file, never through a link planted where the temporary file goes.
  std::string tmp = path_ + ".tmp";
  unlink(tmp.c_str());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) &&
            fsync(fd) == 0;
  int e = errno;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp.c_str(), path_.c_str()) != 0) {
    error = "cannot write the routing journal " + path_ + ": " + std::strerror(ok ? errno : e);
    return false;
  }
  return true;
}

std::optional<RoutingState> RouteJournal::load() const {
  std::string text, error;
  runtime::FileLimits limits;
  limits.owner_only_writable = true;
  if (!runtime::read_small_file(path_, limits, text, error)) return std::nullopt;
  cJSON* j = cJSON_Parse(text.c_str());
  if (!j) return std::nullopt;
  RoutingState s;
  auto str = [&](const char* k) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? std::string(v->valuestring) : std::string();
  };
  s.tun_name = str("tun");
  s.gateway = str("gateway");
  s.gateway_dev = str("gatewayDev");
  s.gateway6 = str("gateway6");
  s.gateway6_dev = str("gateway6Dev");
  s.split_default6 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "splitDefault6"));
  s.tun_created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tunCreated"));
  s.split_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "splitDefault"));
  const cJSON* r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "proxyRoutes")) {
    if (cJSON_IsString(r)) s.proxy_routes.emplace_back(r->valuestring);
  }
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "proxyGuards")) {
    if (cJSON_IsString(r)) s.proxy_guards.emplace_back(r->valuestring);
  }
  cJSON_Delete(j);
  return s;
}

void RouteJournal::remove() {
  unlink(path_.c_str());
}

}  // namespace udptun::controller
